/**
 * What every browser test file sets up: the built site served with the deployment's headers,
 * a headless Chromium per `describe` block, a skip with its reason where there is no
 * Chromium, and waits whose timeouts say where the page got to.
 */
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { noChromium, openBrowser, type Session } from './browser.js';
import { serveStatic } from './static-server.js';

/** The production build the tests run against (global-setup.ts keeps it current). */
export const DIST = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * Skips every test of the calling file where there is no Chromium. The reason travels in the
 * JSON report, where tools/sum-test-results.mjs prints it.
 */
export function skipWithoutChromium(): void {
  if (noChromium) console.warn(`skipped: ${noChromium}`);
  beforeEach((ctx) => {
    if (!noChromium) return;
    (ctx.task.meta as Record<string, unknown>).skipReason = noChromium;
    ctx.skip(noChromium);
  });
}

/** The built site, served for the calling file's tests; `url` is set once it listens. */
export function serveSite(): { url: string } {
  const site = { url: '' };
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    if (noChromium) return;
    const server = await serveStatic(DIST);
    site.url = server.url;
    close = server.close;
  });
  afterAll(async () => {
    await close?.();
  });
  return site;
}

/**
 * A fresh Chromium (see `openBrowser`) for the tests of the calling `describe` block, open
 * once `ready` has run on it, closed after them.
 */
export function useBrowser(
  args: string[],
  viewport?: { width: number; height: number },
  ready?: (session: Session) => Promise<void>,
): { readonly session: Session } {
  let session: Session | undefined;
  beforeAll(async () => {
    if (noChromium) return;
    session = await openBrowser(args, viewport);
    await ready?.(session);
  });
  afterAll(async () => {
    await session?.close();
  });
  return {
    get session(): Session {
      if (!session) throw new Error('useBrowser: the browser is not open (before beforeAll?)');
      return session;
    },
  };
}

/** The digit page's test hooks (`window.__demo`), copied out of the page. */
export async function demo(page: Page): Promise<Window['__demo']> {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__demo)));
}

/** The own-images mode's test hooks (`window.__ownImages`), copied out of the page. */
export async function ownImages(page: Page): Promise<Window['__ownImages']> {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__ownImages)));
}

/**
 * A wait for a condition on the page whose timeout error shows where the page got to: the
 * `keys` of its test hooks `window[hooks]`, lists of objects by their length.
 */
export function pageWaiter(
  hooks: '__demo' | '__ownImages',
  keys: string[],
  defaultTimeout = 180_000,
): (page: Page, predicate: string, timeout?: number) => Promise<void> {
  const where = async (page: Page) => {
    const state = (await (hooks === '__demo' ? demo(page) : ownImages(page))) as unknown as Record<
      string,
      unknown
    >;
    return Object.fromEntries(
      keys.map((k) => {
        const v = state[k];
        const objects = Array.isArray(v) && v.some((x) => typeof x === 'object');
        return [k, objects ? v.length : v];
      }),
    );
  };
  return async (page, predicate, timeout = defaultTimeout) => {
    try {
      await page.waitForFunction(predicate, undefined, { timeout, polling: 100 });
    } catch (err) {
      const state = await where(page).catch(() => null);
      throw new Error(
        `${(err as Error).message}\nwaiting for ${predicate}; page: ${JSON.stringify(state)}`,
      );
    }
  };
}

/** Makes the digit page pause itself once a save at step `step` or later has been written. */
export async function pauseOnceSaved(page: Page, step: number): Promise<void> {
  await page.evaluate((at) => {
    const note = document.getElementById('saved-note')!;
    const observer = new MutationObserver(() => {
      if (window.__demo.savedStep < at) return;
      observer.disconnect();
      document.getElementById('pause')!.click();
    });
    observer.observe(note, { childList: true, characterData: true, subtree: true });
  }, step);
}

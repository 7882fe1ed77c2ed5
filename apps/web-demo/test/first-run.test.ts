/**
 * What a newcomer meets, in a real headless Chromium with a fresh profile: the three-step
 * intro and its dismissal, the untrained notice until training, the pad used from the
 * keyboard, and the layout at desktop (1366×768) and phone (390×844) sizes, with
 * screenshots of each in test-results/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Session } from './browser.js';
import { demo, pageWaiter, serveSite, skipWithoutChromium, useBrowser } from './harness.js';

const screenshots = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));
/** A short run on wasm: 64 digits, one epoch. */
const QUERY = '?backend=wasm&trainSize=64&batchSize=16&epochs=1&valSize=16';

/** Waits for a condition on the page; on timeout, the error shows where the page got to. */
const waitFor = pageWaiter('__demo', ['state', 'steps', 'errors']);

async function openDigits(page: Page): Promise<void> {
  await page.goto(`${server.url}${QUERY}`);
  await waitFor(page, 'window.__demo && window.__demo.state === "idle"');
  await waitFor(page, 'window.__demo.gridUpdates > 0');
}

/**
 * The rows of visible panels in `main`, each as how much of the content width its panels
 * span, from the first panel's left edge to the last one's right edge.
 */
async function rowCoverage(page: Page, main: string): Promise<number[]> {
  return page.evaluate((selector) => {
    const box = document.querySelector(selector)!;
    const style = getComputedStyle(box);
    const inner =
      box.clientWidth -
      Number.parseFloat(style.paddingLeft) -
      Number.parseFloat(style.paddingRight);
    const rows = new Map<number, DOMRect[]>();
    for (const panel of box.querySelectorAll<HTMLElement>(':scope > .panel')) {
      if (panel.hidden) continue;
      const r = panel.getBoundingClientRect();
      rows.set(Math.round(r.top), [...(rows.get(Math.round(r.top)) ?? []), r]);
    }
    return [...rows.values()].map(
      (rs) => (Math.max(...rs.map((r) => r.right)) - Math.min(...rs.map((r) => r.left))) / inner,
    );
  }, main);
}

async function overflow(page: Page): Promise<{ page: number; view: number }> {
  return page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    view: window.innerWidth,
  }));
}

/** A fresh browser at `viewport` on the digit page, for the calling `describe` block. */
function visit(viewport: { width: number; height: number }): { readonly session: Session } {
  return useBrowser([], viewport, (session) => openDigits(session.page));
}

skipWithoutChromium();
const server = serveSite();
beforeAll(() => {
  mkdirSync(screenshots, { recursive: true });
});

describe('a first visit on a desktop (1366×768)', () => {
  const browser = visit({ width: 1366, height: 768 });

  it('shows the three-step intro and the untrained notice, fills every column, and hides the test hooks', async () => {
    const { page } = browser.session;
    await expect(page.getByTestId('intro').isVisible()).resolves.toBe(true);
    const steps = await page.locator('[data-testid="intro"] li strong').allTextContents();
    expect(steps).toEqual(['Train.', 'Draw.', 'Save.']);
    await expect(page.getByTestId('untrained').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('ping').isVisible()).resolves.toBe(false);
    // Three columns, and every row of panels spans all of them.
    const columns = await page.evaluate(
      () =>
        getComputedStyle(document.getElementById('digits-mode')!).gridTemplateColumns.split(' ')
          .length,
    );
    expect(columns).toBe(3);
    for (const span of await rowCoverage(page, '#digits-mode')) expect(span).toBeGreaterThan(0.99);
    const widths = await overflow(page);
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    await page.screenshot({ path: `${screenshots}first-run-desktop.png`, fullPage: true });
    expect(browser.session.problems).toEqual([]);
  });

  it('puts a test digit on the focused pad with Enter and announces its prediction once', async () => {
    const { page } = browser.session;
    const before = await demo(page);
    // The pad is in the tab order, right after the training controls.
    await page.getByTestId('start').focus();
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'draw-pad');
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    await waitFor(page, `window.__demo.announced.length > ${before.announced.length}`);
    const after = await demo(page);
    expect(after.prediction).not.toBeNull();
    expect(after.prediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(after.announced).toEqual([...before.announced, after.prediction!.label]);
    await expect(page.getByTestId('prediction-announce').textContent()).resolves.toBe(
      `Prediction: ${after.prediction!.label}`,
    );
    // Delete clears the pad, and a blank pad predicts nothing.
    await page.keyboard.press('Delete');
    await waitFor(page, 'window.__demo.prediction === null');
    // The Test digit button does the same for pointer users.
    await page.getByTestId('test-digit').click();
    await waitFor(page, 'window.__demo.prediction !== null');
    expect(browser.session.problems).toEqual([]);
  });

  it('takes the untrained notice away once an epoch is trained', async () => {
    const { page } = browser.session;
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 1');
    await expect(page.getByTestId('untrained').isVisible()).resolves.toBe(false);
    expect(browser.session.problems).toEqual([]);
  });

  it('forgets the intro once dismissed, across reloads', async () => {
    const { page } = browser.session;
    await page.getByTestId('intro-dismiss').click();
    await expect(page.getByTestId('intro').isVisible()).resolves.toBe(false);
    // Keyboard users land on Start, the first step.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('start');
    await openDigits(page);
    await expect(page.getByTestId('intro').isVisible()).resolves.toBe(false);
    // A fresh page starts untrained again: nothing was saved.
    await expect(page.getByTestId('untrained').isVisible()).resolves.toBe(true);
    for (const span of await rowCoverage(page, '#digits-mode')) expect(span).toBeGreaterThan(0.99);
    await page.getByTestId('mode-images').click();
    await waitFor(page, 'window.__ownImages && window.__ownImages.state === "idle"');
    expect(await page.evaluate(() => location.search)).toContain('mode=images');
    for (const span of await rowCoverage(page, '#images-mode')) expect(span).toBeGreaterThan(0.99);
    await page.screenshot({ path: `${screenshots}images-desktop.png`, fullPage: true });
    expect(browser.session.problems).toEqual([]);
  });
});

describe('a first visit on a phone (390×844)', () => {
  const browser = visit({ width: 390, height: 844 });

  it('fits the screen without sideways scrolling, intro and notice included', async () => {
    const { page } = browser.session;
    await expect(page.getByTestId('intro').isVisible()).resolves.toBe(true);
    await expect(page.getByTestId('untrained').isVisible()).resolves.toBe(true);
    const widths = await overflow(page);
    expect(widths.page).toBeLessThanOrEqual(widths.view);
    await page.screenshot({ path: `${screenshots}first-run-phone.png`, fullPage: true });
    await page.getByTestId('mode-images').click();
    await waitFor(page, 'window.__ownImages && window.__ownImages.state === "idle"');
    const images = await overflow(page);
    expect(images.page).toBeLessThanOrEqual(images.view);
    expect(browser.session.problems).toEqual([]);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM } from './chromium.js';

export { CHROMIUM, noChromium } from './chromium.js';

const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/**
 * WebGPU on SwiftShader, Chromium's software Vulkan. Dawn's robustness checks, validation
 * and workgroup zeroing are off: on SwiftShader they tripled shader compile and step time,
 * and the page's code is the same either way.
 */
export const WEBGPU_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-dawn-features=disable_robustness,skip_validation,disable_workgroup_init',
];

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[];
  /** Every URL the page requested. */
  requests: string[];
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile, and a page that records what goes wrong. */
export async function openBrowser(
  extraArgs: string[],
  viewport = { width: 1280, height: 1100 },
): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), 'web-demo-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_ARGS, ...extraArgs],
    viewport,
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) =>
    problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`),
  );
  page.on('request', (r) => requests.push(r.url()));
  return {
    context,
    page,
    problems,
    requests,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The training flow in a real headless Chromium, on wasm: threads under cross-origin
 * isolation, the step and ETA line, per-batch accuracy in the charts, the divergence warning,
 * and a run that survives a reload with the weights an uninterrupted run ends with.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  DIST,
  demo,
  pageWaiter,
  pauseOnceSaved,
  serveSite,
  skipWithoutChromium,
  useBrowser,
} from './harness.js';
import { serveStatic } from './static-server.js';

const results = fileURLToPath(new URL('../test-results/', import.meta.url));

skipWithoutChromium();
const server = serveSite();
const browser = useBrowser([]);

type Demo = Window['__demo'];

/** Waits for a condition on the page; on timeout, the error shows where the page got to. */
const waitFor = pageWaiter('__demo', ['state', 'steps', 'savedStep', 'errors'], 240_000);

/** Opens the page (or reloads it) with `query` and waits until the worker is idle. */
async function open(page: Page, query: string): Promise<void> {
  await page.goto(`${server.url}?${query}`);
  // Idle, and the worker has looked for a run to offer.
  await waitFor(
    page,
    'window.__demo && window.__demo.state === "idle" && window.__demo.savedRunChecked',
  );
  expect((await demo(page)).errors).toEqual([]);
}

/** Records every text the progress line shows, from now on, in `window.__progressTexts`. */
async function recordProgressTexts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const line = document.getElementById('progress-text')!;
    const texts: string[] = [];
    (window as any).__progressTexts = texts;
    new MutationObserver(() => texts.push(line.textContent ?? '')).observe(line, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

/** Downloads the page's weights; returns the file's SHA-256 and its metadata's epoch count. */
async function downloadWeights(
  page: Page,
  name: string,
): Promise<{ sha256: string; epoch: number }> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download').click(),
  ]);
  const file = `${results}${name}`;
  await download.saveAs(file);
  const bytes = readFileSync(file);
  const header = JSON.parse(bytes.subarray(8, 8 + bytes.readUInt32LE(0)).toString());
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    epoch: JSON.parse(header.__metadata__['resnet-ts']).epoch,
  };
}

/** 2 epochs of 16 steps, saved for a reload every 3 steps. */
const RUN =
  'backend=wasm&trainSize=256&batchSize=16&epochs=2&valSize=32&optimizer=adam&lr=0.003&scheduler=onecycle&saveEvery=3';

describe('training on wasm', () => {
  let uninterrupted: { sha256: string; epoch: number };
  let uninterruptedEpochs: Demo['epochs'];

  it('is cross-origin isolated and computes on every core wasm can use', async () => {
    const { page } = browser.session;
    await open(page, RUN);
    const d = await demo(page);
    expect(d.backend).toBe('wasm');
    const { isolated, cores } = await page.evaluate(() => ({
      isolated: crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
    }));
    expect(isolated).toBe(true);
    expect(d.isolated).toBe(true);
    expect(d.wasmThreads).toBe(Math.min(cores, 8));
    const n = d.wasmThreads!;
    await expect(page.getByTestId('backend-threads').textContent()).resolves.toBe(
      `wasm computes on ${n} thread${n === 1 ? '' : 's'} (the page is cross-origin isolated).`,
    );
    // Named backend: nothing was measured, so the run's size is the address's.
    expect(d.sizing).toBeNull();
    expect(d.savedRun).toBeNull();
  });

  it('shows step n/N with an ETA, and charts every batch accuracy as a point', async () => {
    const { page } = browser.session;
    await recordProgressTexts(page);
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 2');
    const d = await demo(page);
    expect(d.steps).toBe(32);
    const texts: string[] = await page.evaluate(() => (window as any).__progressTexts);
    expect(texts[0]).toBe('starting…');
    expect(texts.some((t) => /^step \d+\/32 · ETA \d+:\d\d$/.test(t))).toBe(true);
    await expect(page.getByTestId('progress-text').textContent()).resolves.toBe('step 32/32');
    // One training accuracy per batch, a whole number of hits out of 16.
    expect(d.accuracies).toHaveLength(32);
    for (const a of d.accuracies) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
      expect(a * 16).toBeCloseTo(Math.round(a * 16), 6);
    }
    expect(d.chartSeries['accuracy/train (batch)']).toEqual({ points: 32, radius: 1.5 });
    expect(d.chartSeries['loss/train (batch)']).toEqual({ points: 32, radius: 1.5 });
    expect(d.chartSeries['accuracy/train (epoch)']).toEqual({ points: 2, radius: 3.5 });
    expect(d.chartSeries['accuracy/validation']).toEqual({ points: 2, radius: 3.5 });
    expect(d.warnings).toEqual([]);
    // The run ended, so nothing is left to continue after a reload.
    expect(d.savedStep).toBeGreaterThan(0);
    uninterrupted = await downloadWeights(page, 'uninterrupted.safetensors');
    uninterruptedEpochs = d.epochs;
    expect(uninterrupted.epoch).toBe(2);
    expect(browser.session.problems).toEqual([]);
  });

  it('continues a run after a reload and ends with the same weights as an uninterrupted one', async () => {
    const { page } = browser.session;
    // A fresh page: the same initial weights as the run above started from.
    await open(page, RUN);
    expect((await demo(page)).savedRun).toBeNull();
    // The page pauses itself once a save in the second epoch has been written, so the reload
    // lands mid-epoch with the first epoch's shuffle already drawn.
    await pauseOnceSaved(page, 20);
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "paused"');
    const paused = await demo(page);
    // Pausing saved the run where it stopped, in the second epoch's middle.
    expect(paused.savedStep).toBe(paused.steps);
    expect(paused.savedStep).toBeGreaterThan(20);
    expect(paused.savedStep).toBeLessThan(32);

    await page.reload();
    await waitFor(page, 'window.__demo.savedRunChecked');
    const offered = await demo(page);
    expect(offered.savedRun).toMatchObject({
      step: paused.savedStep,
      totalSteps: 32,
      backend: 'wasm',
    });
    expect(await page.getByTestId('saved-run').isVisible()).toBe(true);
    await expect(page.getByTestId('saved-run-text').textContent()).resolves.toMatch(
      new RegExp(
        `^A run was interrupted at step ${paused.savedStep} of 32 \\(2 epochs of 256 digits, adam, lr 0\\.003\\)`,
      ),
    );
    await recordProgressTexts(page);
    await page.getByTestId('saved-continue').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 2');
    const d = await demo(page);
    // Training went on from the save: its first step after the reload is the next one.
    const texts: string[] = await page.evaluate(() => (window as any).__progressTexts);
    expect(texts.find((t) => t.startsWith('step'))).toBe(`step ${paused.savedStep + 1}/32`);
    expect(d.epochs[0]).toEqual(uninterruptedEpochs[0]);
    // The charts carry the steps from before the reload; training went on from the save.
    expect(d.steps).toBe(32);
    expect(d.losses).toHaveLength(32);
    expect(d.chartSeries['accuracy/train (batch)'].points).toBe(32);
    expect(d.errors).toEqual([]);
    const resumed = await downloadWeights(page, 'resumed.safetensors');
    expect(resumed).toEqual(uninterrupted);

    // Finished: a reload offers nothing.
    await open(page, RUN);
    expect((await demo(page)).savedRun).toBeNull();
    expect(await page.getByTestId('saved-run').isVisible()).toBe(false);
    expect(browser.session.problems).toEqual([]);
  });

  it('draws points for a one-epoch run', async () => {
    const { page } = browser.session;
    await open(page, 'backend=wasm&trainSize=64&batchSize=16&epochs=1&valSize=32');
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 1');
    const d = await demo(page);
    expect(d.chartSeries['accuracy/train (batch)']).toEqual({ points: 4, radius: 1.5 });
    expect(d.chartSeries['accuracy/train (epoch)']).toEqual({ points: 1, radius: 3.5 });
    expect(d.chartSeries['accuracy/validation']).toEqual({ points: 1, radius: 3.5 });
    expect(d.chartSeries['loss/validation']).toEqual({ points: 1, radius: 3.5 });
    expect(browser.session.problems).toEqual([]);
  });

  it('warns when the loss diverges and says to lower the learning rate', async () => {
    const { page } = browser.session;
    await open(
      page,
      'backend=wasm&trainSize=256&batchSize=16&epochs=2&valSize=32&lr=10&optimizer=sgd',
    );
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.warnings.length > 0');
    const d = await demo(page);
    expect(d.warnings[0]).toMatch(
      /^The loss (is diverging: .+ at step \d+, up from .+ at the start|became (NaN|-?Infinity) at step \d+: training diverged and stopped)\. Lower the learning rate \(it is 10; try 0\.01\)\.$/,
    );
    expect(await page.getByTestId('train-warning').isVisible()).toBe(true);
    await expect(page.getByTestId('train-warning').textContent()).resolves.toBe(d.warnings.at(-1));
    // A diverged run is not offered again after a reload.
    await open(page, 'backend=wasm');
    expect((await demo(page)).savedRun).toBeNull();
    expect(browser.session.problems).toEqual([]);
  });
});

describe('training on cpu', () => {
  it('continues a run after a reload to the same weights as an uninterrupted one', async () => {
    const { page } = browser.session;
    // 2 epochs of 4 steps, SGD with momentum and a per-epoch StepLR, saved every 2 steps.
    const run =
      'backend=cpu&trainSize=32&batchSize=8&epochs=2&valSize=8&optimizer=sgd&lr=0.05&scheduler=step&saveEvery=2&seed=3';
    await open(page, run);
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 2');
    const uninterrupted = await downloadWeights(page, 'uninterrupted-cpu.safetensors');

    await open(page, run);
    await pauseOnceSaved(page, 5);
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "paused"');
    const paused = await demo(page);
    expect(paused.savedStep).toBeGreaterThanOrEqual(5);
    expect(paused.savedStep).toBeLessThan(8);
    await page.reload();
    await waitFor(page, 'window.__demo.savedRunChecked');
    expect((await demo(page)).savedRun).toMatchObject({ step: paused.savedStep, backend: 'cpu' });
    await page.getByTestId('saved-continue').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 2');
    expect((await demo(page)).steps).toBe(8);
    expect(await downloadWeights(page, 'resumed-cpu.safetensors')).toEqual(uninterrupted);
    expect(browser.session.problems).toEqual([]);
  });
});

describe('Automatic', () => {
  it('sizes the run from its measurement and says so, keeping what the address chose', async () => {
    const { page } = browser.session;
    await open(page, 'epochs=2');
    const d = await demo(page);
    const wasm = d.probes.find((p) => p.name === d.backend)!;
    expect(d.sizing).toMatchObject({ epochs: 2 });
    expect(d.sizing!.seconds).toBeLessThanOrEqual(120);
    await expect(page.locator('#epochs').inputValue()).resolves.toBe('2');
    await expect(page.locator('#train-size').inputValue()).resolves.toBe(
      String(d.sizing!.trainSize),
    );
    await expect(page.getByTestId('train-sizing').textContent()).resolves.toBe(
      `Sized for about 2 minutes at the ${wasm.imagesPerSec.toFixed(0)} img/s ${d.backend} measured: 2 epochs of ${d.sizing!.trainSize.toLocaleString('en')} digits. Change them as you like.`,
    );
    expect(browser.session.problems).toEqual([]);
  });
});

describe('training on WebGL', () => {
  it('says it is compiling shaders until the first step reports', async () => {
    const { page } = browser.session;
    await open(page, 'backend=webgl&trainSize=16&batchSize=8&epochs=1&valSize=16');
    await recordProgressTexts(page);
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 1');
    const texts: string[] = await page.evaluate(() => (window as any).__progressTexts);
    expect(texts[0]).toBe('compiling shaders… (the first step on the GPU builds its programs)');
    expect(texts[1]).toBe('step 1/2');
    expect(browser.session.problems).toEqual([]);
  });
});

describe('served without the isolation headers', () => {
  it('trains on one wasm thread and says why', async () => {
    const plain = await serveStatic(DIST, { isolated: false });
    const page = await browser.session.context.newPage();
    try {
      await page.goto(`${plain.url}?backend=wasm&trainSize=32&batchSize=16&epochs=1&valSize=16`);
      await waitFor(
        page,
        'window.__demo && window.__demo.state === "idle" && window.__demo.savedRunChecked',
      );
      const d = await demo(page);
      expect(d).toMatchObject({ backend: 'wasm', isolated: false, wasmThreads: 1 });
      await expect(page.getByTestId('backend-threads').textContent()).resolves.toBe(
        'wasm computes on 1 thread: the page is not cross-origin isolated (its server sends no COOP/COEP headers), so threads are off.',
      );
      await page.getByTestId('start').click();
      await waitFor(page, 'window.__demo.state === "idle" && window.__demo.epochs.length === 1');
      expect((await demo(page)).errors).toEqual([]);
    } finally {
      await page.close();
      await plain.close();
    }
    expect(browser.session.problems).toEqual([]);
  });
});

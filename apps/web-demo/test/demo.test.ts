/**
 * The built site in a real headless Chromium: backend choice, training in the worker,
 * drawing, weights round trip and responsiveness. SwiftShader runs WebGPU and WebGL on the
 * CPU, so runs are tiny (a few hundred digits, small batches).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { type Session, WEBGPU_ARGS } from './browser.js';
import { demo, pageWaiter, serveSite, skipWithoutChromium, useBrowser } from './harness.js';

const results = fileURLToPath(new URL('../test-results/', import.meta.url));

skipWithoutChromium();
const server = serveSite();

/** Waits for a condition on the page; on timeout, the error shows where the page got to. */
const waitFor = pageWaiter('__demo', ['state', 'steps', 'epochs', 'errors']);

async function open(session: Session, query: string): Promise<void> {
  await session.page.goto(`${server.url}?hooks=1&${query}`);
  await waitFor(
    session.page,
    'window.__demo && (window.__demo.state === "idle" || window.__demo.errors.length > 0)',
  );
  const d = await demo(session.page);
  expect(d.errors).toEqual([]);
}

/** The `.pth` (PyTorch layouts, torch.save's zip) of the page's downloaded weights. */
async function toPth(safetensors: Uint8Array): Promise<Uint8Array> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { decodeSafetensors, safetensorsToTensors } = await import('@resnet-ts/core');
  const { VanResNet, toTorchStateDict, writeTorchFile } = await import('@resnet-ts/models');
  const model = new VanResNet({ inChannels: 1, inputSize: 28, numClasses: 10 });
  const tensors = safetensorsToTensors(decodeSafetensors(new Uint8Array(safetensors)));
  model.loadStateDict(tensors, { strict: true });
  const bytes = writeTorchFile(toTorchStateDict(model));
  tf.dispose(Object.values(tensors));
  model.dispose();
  return bytes;
}

/** A torch.save archive whose pickle would call `os.system('touch PWNED')` if it were run. */
async function evilPth(): Promise<Uint8Array> {
  const { writeZip } = await import('@resnet-ts/models');
  const text = (t: string) => [...t].map((c) => c.charCodeAt(0));
  const pickle = new Uint8Array([
    0x80,
    2,
    ...text('cos\nsystem\n'),
    0x58,
    11,
    0,
    0,
    0,
    ...text('touch PWNED'),
    0x85,
    0x52,
    0x2e,
  ]);
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}

/** A safetensors file from its header and `dataBytes` zero bytes of data. */
function safetensorsFile(header: Record<string, unknown>, dataBytes: number): Buffer {
  const json = JSON.stringify(header);
  const text = Buffer.from(json.padEnd(Math.ceil(Buffer.byteLength(json) / 8) * 8, ' '));
  const size = Buffer.alloc(8);
  size.writeUInt32LE(text.length, 0);
  return Buffer.concat([size, text, Buffer.alloc(dataBytes)]);
}

/** Mean of the first and last `k` losses. */
function ends(losses: number[], k: number): { first: number; last: number } {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(losses.slice(0, k)), last: mean(losses.slice(-k)) };
}

/** Draws a "1"-like stroke, then a "7"-like one, with real pointer input. */
async function drawStroke(page: Page): Promise<void> {
  const pad = page.getByTestId('draw-pad');
  // Mouse coordinates are the viewport's: on a phone-sized page the pad starts off screen.
  await pad.scrollIntoViewIfNeeded();
  const box = (await pad.boundingBox())!;
  const at = (fx: number, fy: number) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(0.3, 0.2));
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) await page.mouse.move(...at(0.3 + (0.4 * i) / 8, 0.2));
  for (let i = 1; i <= 10; i++)
    await page.mouse.move(...at(0.7 - (0.25 * i) / 10, 0.2 + (0.6 * i) / 10));
  await page.mouse.up();
}

/** Click-to-handler delay of the ping button, measured in the page from the input event's timestamp. */
async function pingLatency(page: Page): Promise<number> {
  await page.evaluate(() => {
    const button = document.querySelector('[data-testid="ping"]') as HTMLButtonElement;
    (window as any).__pingDelay = new Promise<number>((resolve) => {
      button.addEventListener('click', (e) => resolve(performance.now() - e.timeStamp), {
        once: true,
      });
    });
  });
  await page.getByTestId('ping').click();
  return page.evaluate(() => (window as any).__pingDelay as Promise<number>);
}

describe('with WebGPU (SwiftShader)', () => {
  const browser = useBrowser(WEBGPU_ARGS, undefined, async (session) => {
    // Named: Automatic would measure SwiftShader's software WebGPU and rightly pick wasm.
    await open(
      session,
      'backend=webgpu&trainSize=16&batchSize=4&epochs=5&valSize=16&optimizer=adam&lr=0.003',
    );
  });

  it('loads without console errors and makes no request off the machine', async () => {
    expect(browser.session.problems).toEqual([]);
    const foreign = browser.session.requests.filter(
      (u) => !u.startsWith(server.url) && !u.startsWith('data:') && !u.startsWith('blob:'),
    );
    expect(foreign).toEqual([]);
  });

  it('runs on webgpu when asked, and names the adapter as software', async () => {
    const d = await demo(browser.session.page);
    expect(d.backend).toBe('webgpu');
    expect(d.tried[0]).toMatchObject({ name: 'webgpu', ok: true });
    expect(d.tried[0].reason).toMatch(/^software adapter/);
    expect(d.probes).toEqual([]);
    await expect(
      browser.session.page.getByTestId('backend-status').textContent(),
    ).resolves.toContain('webgpu');
  });

  it('trains at least 20 steps in the worker, the loss goes down, and the page stays responsive', async () => {
    const { page } = browser.session;
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.steps >= 3');
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(await pingLatency(page));
      await page.waitForTimeout(150);
    }
    await waitFor(
      page,
      'window.__demo.state === "idle" && window.__demo.epochs.length === 5',
      420_000,
    );
    const d = await demo(page);
    expect(d.steps).toBeGreaterThanOrEqual(20);
    expect(d.losses.every(Number.isFinite)).toBe(true);
    const { first, last } = ends(d.losses, 4);
    expect(last).toBeLessThan(first * 0.9);
    for (const e of d.epochs) expect(e.valAccuracy).toBeGreaterThanOrEqual(0);
    // Training is in a worker: a click is handled at once, not after a batch finishes.
    delays.sort((a, b) => a - b);
    console.log(
      `click-to-handler delays while training (ms): ${delays.map((t) => t.toFixed(1)).join(', ')}`,
    );
    expect(delays[2]).toBeLessThan(100);
    await expect(page.getByTestId('stat-step').textContent()).resolves.toBe(String(d.steps));
  });

  it('predicts a drawn digit and shows the test grid', async () => {
    const { page } = browser.session;
    const before = (await demo(page)).predictions;
    await drawStroke(page);
    await waitFor(page, `window.__demo.predictions > ${before}`);
    const d = await demo(page);
    expect(d.prediction!.probs).toHaveLength(10);
    expect(d.prediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    await expect(page.getByTestId('prediction').textContent()).resolves.toBe(
      String(d.prediction!.label),
    );
    expect(d.gridPredictions).toHaveLength(40);
    expect(await page.locator('[data-testid="digit-grid"] figure').count()).toBe(40);
    await page.screenshot({ path: `${results}trained-webgpu-desktop.png`, fullPage: true });
  });

  it('gives the same predictions after downloading and uploading the weights', async () => {
    const { page } = browser.session;
    const before = await demo(page);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download').click(),
    ]);
    const file = `${results}vanresnet-webgpu.safetensors`;
    await download.saveAs(file);
    const bytes = readFileSync(file);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString());
    expect(header['conv1.weight'].dtype).toBe('F32');
    // The node trainer's `eval` rebuilds the model from this metadata.
    const meta = JSON.parse(header.__metadata__['resnet-ts']);
    expect(meta.model).toEqual({ name: 'vanresnet', inChannels: 1, inputSize: 28, numClasses: 10 });
    expect(meta.dataset.input).toEqual({ size: 28, channels: 1, mean: [0.1307], std: [0.3081] });
    expect(meta.epoch).toBe(5);

    // Scramble the model with a fresh start, then load the downloaded file back.
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.steps >= 2');
    await page.getByTestId('stop').click();
    await waitFor(page, 'window.__demo.state === "idle"');
    const loads = (await demo(page)).weightsLoads;
    await page.getByTestId('upload').setInputFiles(file);
    await waitFor(page, `window.__demo.weightsLoads > ${loads}`);
    // The worker answers in order, so every grid and prediction counted after the load
    // message was computed with the loaded weights.
    const { predictions, gridUpdates } = await demo(page);
    await waitFor(
      page,
      `window.__demo.predictions > ${predictions} && window.__demo.gridUpdates > ${gridUpdates}`,
    );
    const after = await demo(page);
    expect(after.weightsMessage).toMatch(/^Loaded \d+ tensors/);
    expect(after.gridPredictions).toEqual(before.gridPredictions);
    for (const [i, p] of after.prediction!.probs.entries()) {
      expect(p).toBeCloseTo(before.prediction!.probs[i], 5);
    }
    expect(browser.session.problems).toEqual([]);
  });
});

describe('without WebGPU', () => {
  const browser = useBrowser([], { width: 390, height: 844 }, async (session) => {
    await open(session, 'trainSize=16&batchSize=4&epochs=2&valSize=16&optimizer=adam&lr=0.003');
  });

  it('falls back to the next backend and says why webgpu was skipped', async () => {
    const d = await demo(browser.session.page);
    expect(d.tried[0]).toMatchObject({ name: 'webgpu', ok: false });
    expect(d.tried[0].reason.length).toBeGreaterThan(5);
    expect(['webgl', 'wasm']).toContain(d.backend);
    expect(
      await browser.session.page.locator('[data-testid="backend-tried"] li.skip').count(),
    ).toBe(1);
    expect(browser.session.problems).toEqual([]);
  });

  it('measures the usable backends and does not pick a software renderer when wasm is faster', async () => {
    const { page } = browser.session;
    const d = await demo(page);
    const wasm = d.probes.find((p) => p.name === 'wasm')!;
    expect(wasm).toMatchObject({ software: false });
    expect(wasm.imagesPerSec).toBeGreaterThan(0);
    // Chromium without a GPU draws WebGL with SwiftShader: measured, named as software, not picked.
    const webgl = d.probes.find((p) => p.name === 'webgl')!;
    expect(webgl).toMatchObject({ software: true });
    expect(webgl.imagesPerSec).toBeGreaterThan(0);
    expect(d.backend).toBe('wasm');
    expect(d.tried.find((t) => t.name === 'webgl')).toMatchObject({ ok: false });
    expect(d.tried.find((t) => t.name === 'webgl')!.reason).toMatch(/software: .*img\/s$/);
    // cpu is never faster than wasm, so it is not started once wasm measured.
    expect(d.tried.map((t) => t.name)).toEqual(['webgpu', 'webgl', 'wasm']);
    const status = (await page.getByTestId('backend-status').textContent()) ?? '';
    console.log(`automatic backend choice: ${status}`);
    expect(status).toMatch(
      /^Training on wasm, picked by measurement: webgl \(software\) \d+ img\/s; wasm \d+ img\/s$/,
    );
    expect(await page.locator('[data-testid="backend-tried"] li.untried').count()).toBe(1);
    expect(browser.session.problems).toEqual([]);
  });

  it('still trains, and pauses and resumes', async () => {
    const { page } = browser.session;
    // Automatic picked wasm, fast enough to finish a few steps before a test's click lands:
    // more digits, and the page itself clicks Pause as the second step is shown.
    await page.locator('#train-size').fill('64');
    await page.evaluate(() => {
      const step = document.getElementById('stat-step')!;
      const observer = new MutationObserver(() => {
        if (Number(step.textContent) < 2) return;
        observer.disconnect();
        document.getElementById('pause')!.click();
      });
      observer.observe(step, { childList: true, characterData: true, subtree: true });
    });
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.state === "paused"', 300_000);
    const paused = (await demo(page)).steps;
    await expect(page.getByTestId('pause').textContent()).resolves.toBe('Resume');
    await page.waitForTimeout(1500);
    expect((await demo(page)).steps).toBe(paused);
    await page.getByTestId('pause').click();
    await waitFor(
      page,
      'window.__demo.state === "idle" && window.__demo.epochs.length === 2',
      300_000,
    );
    const d = await demo(page);
    expect(d.steps).toBe(32);
    expect(paused).toBeLessThan(32);
    await expect(page.getByTestId('train-message').textContent()).resolves.toBe(
      'Finished 2 epochs (32 steps).',
    );
    expect(d.losses.every(Number.isFinite)).toBe(true);
    expect(d.errors).toEqual([]);
    await page.screenshot({ path: `${results}trained-fallback-phone.png`, fullPage: true });
  });

  it('has labelled controls that the keyboard reaches', async () => {
    const { page } = browser.session;
    const labels = [
      'Run on',
      'Epochs',
      'Batch size',
      'Learning rate',
      'Optimizer',
      'LR schedule',
      'Training digits',
      'Validation digits',
      'Load weights…',
    ];
    for (const label of labels)
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);
    expect(
      (await page.getByRole('img', { name: /Drawing area/ }).count()) +
        (await page.getByLabel(/Drawing area/).count()),
    ).toBeGreaterThan(0);

    await page.getByTestId('backend-select').focus();
    const reached = new Set<string>();
    for (let i = 0; i < 30; i++) {
      reached.add(await page.evaluate(() => document.activeElement?.id ?? ''));
      await page.keyboard.press('Tab');
    }
    for (const id of [
      'backend-apply',
      'epochs',
      'lr',
      'scheduler',
      'start',
      'clear',
      'grid-refresh',
      'download',
      'upload',
      'ping',
    ]) {
      expect(reached).toContain(id);
    }
    // Enter on the focused Ping button is a click.
    const pings = (await demo(page)).pings;
    await page.getByTestId('ping').focus();
    await page.keyboard.press('Enter');
    expect((await demo(page)).pings).toBe(pings + 1);
  });

  it('switches to wasm on request and keeps the trained weights', async () => {
    const { page } = browser.session;
    const p0 = (await demo(page)).predictions;
    await drawStroke(page);
    // The pad predicts while the stroke is drawn; wait for the finished stroke's answer (no
    // request left in flight), not one from mid-stroke.
    await waitFor(
      page,
      `window.__demo.predictions > ${p0} && document.querySelector('[data-testid="prediction-status"]').textContent === ''`,
    );
    const before = await demo(page);
    await page.getByTestId('backend-select').selectOption('wasm');
    await page.getByTestId('backend-apply').click();
    await waitFor(
      page,
      `window.__demo.backend === "wasm" && window.__demo.state === "idle" && window.__demo.predictions > ${before.predictions}`,
    );
    const after = await demo(page);
    expect(after.tried).toEqual([expect.objectContaining({ name: 'wasm', ok: true })]);
    expect(after.weightsMessage).toMatch(/^Loaded \d+ tensors/);
    // The last run's numbers belonged to the backend left behind.
    expect(after.steps).toBe(0);
    await expect(page.getByTestId('stat-speed').textContent()).resolves.toBe('–');
    // Same weights, another backend's kernels: equal up to float rounding.
    for (const [i, p] of after.prediction!.probs.entries()) {
      expect(p).toBeCloseTo(before.prediction!.probs[i], 3);
    }
    expect(browser.session.problems).toEqual([]);
  });

  it('stops a run to switch backends mid-training, says so, and ends idle on the new backend', async () => {
    const { page } = browser.session;
    await page.getByTestId('backend-select').selectOption('wasm');
    // The page clicks Switch itself as the second step shows, so the run is surely mid-way.
    await page.evaluate(() => {
      const step = document.getElementById('stat-step')!;
      const observer = new MutationObserver(() => {
        if (Number(step.textContent) < 2) return;
        observer.disconnect();
        document.getElementById('backend-apply')!.click();
      });
      observer.observe(step, { childList: true, characterData: true, subtree: true });
    });
    const { weightsLoads } = await demo(page);
    await page.getByTestId('start').click();
    await waitFor(
      page,
      `window.__demo.weightsLoads > ${weightsLoads} && window.__demo.state === "idle" && window.__demo.backend === "wasm"`,
    );
    const d = await demo(page);
    expect(d.weightsMessage).toMatch(/^Loaded \d+ tensors from previous backend\.$/);
    expect(d.steps).toBe(0);
    await expect(page.getByTestId('train-message').textContent()).resolves.toMatch(
      /^Stopped after \d+ steps?\. Training stopped to switch backends\.$/,
    );
    expect(browser.session.problems).toEqual([]);
  });

  it('refuses Start during a switch, and a switch to an unavailable backend returns with the weights', async () => {
    const { page } = browser.session;
    expect((await demo(page)).backend).toBe('wasm');
    const { gridUpdates: g0, predictions: p0 } = await demo(page);
    await page.getByTestId('grid-refresh').click();
    await waitFor(page, `window.__demo.gridUpdates > ${g0}`);
    await drawStroke(page);
    await waitFor(page, `window.__demo.predictions > ${p0}`);
    const before = await demo(page);
    // This Chromium runs without WebGPU, so a switch to it cannot succeed.
    await page.getByTestId('backend-select').selectOption('webgpu');
    // Click Switch and, in the same task, look at the controls and ask to start training.
    const during = await page.evaluate(() => {
      const byId = (id: string) => document.getElementById(id) as HTMLButtonElement;
      byId('backend-apply').click();
      const seen = {
        state: window.__demo.state,
        start: byId('start').disabled,
        apply: byId('backend-apply').disabled,
        download: byId('download').disabled,
        upload: byId('upload').disabled,
        // The label is all that shows of the file input: it must look disabled too.
        loadCursor: getComputedStyle(document.querySelector('label.file')!).cursor,
      };
      (document.getElementById('train-form') as HTMLFormElement).requestSubmit();
      return {
        ...seen,
        refused: window.__demo.refusedStarts,
        message: document.getElementById('train-message')!.textContent,
      };
    });
    expect(during).toEqual({
      state: 'switching',
      start: true,
      apply: true,
      download: true,
      upload: true,
      loadCursor: 'not-allowed',
      refused: before.refusedStarts + 1,
      message: 'Not started: the backend is switching. Start again once it is ready.',
    });
    await waitFor(page, `window.__demo.switchFailures.length > ${before.switchFailures.length}`);
    await waitFor(page, 'window.__demo.state === "idle"');
    const after = await demo(page);
    expect(after.backend).toBe('wasm');
    expect(after.steps).toBe(0);
    const message = (await page.getByTestId('backend-message').textContent()) ?? '';
    expect(message).toMatch(
      /^Could not switch to webgpu: .+\. Still on wasm with the same weights\.$/,
    );
    // The weights panel is for weights: the failed switch says nothing there.
    expect(after.weightsMessage).toBe(before.weightsMessage);
    await expect(page.getByTestId('start').isDisabled()).resolves.toBe(false);
    await expect(page.getByTestId('backend-apply').isDisabled()).resolves.toBe(false);
    expect(
      await page.evaluate(() => getComputedStyle(document.querySelector('label.file')!).cursor),
    ).toBe('pointer');
    // Same worker, same weights: the grid and the drawn digit's probabilities are unchanged.
    await page.getByTestId('grid-refresh').click();
    await waitFor(page, `window.__demo.gridUpdates > ${after.gridUpdates}`);
    expect((await demo(page)).gridPredictions).toEqual(before.gridPredictions);
    await page.getByTestId('backend-select').selectOption('wasm');
    expect(browser.session.problems).toEqual([]);
  });

  it('answers a burst of pointer moves with one settled prediction, announced once', async () => {
    const { page } = browser.session;
    await page.getByTestId('clear').click();
    await waitFor(page, 'window.__demo.prediction === null');
    const before = await demo(page);
    await page.getByTestId('draw-pad').scrollIntoViewIfNeeded();
    // One task: a pointer down, 30 moves and an up, as a fast stroke delivers them.
    const sentDuringBurst = await page.evaluate(() => {
      const pad = document.getElementById('draw-pad')!;
      const r = pad.getBoundingClientRect();
      const fire = (type: string, fy: number) =>
        pad.dispatchEvent(
          new PointerEvent(type, {
            pointerId: 1,
            pointerType: 'mouse',
            isPrimary: true,
            bubbles: true,
            cancelable: true,
            buttons: type === 'pointerup' ? 0 : 1,
            clientX: r.left + 0.5 * r.width,
            clientY: r.top + fy * r.height,
          }),
        );
      fire('pointerdown', 0.15);
      for (let i = 1; i <= 30; i++) fire('pointermove', 0.15 + (0.7 * i) / 30);
      fire('pointerup', 0.85);
      return window.__demo.predictRequests;
    });
    // The down sent one request; the 30 moves and the up waited for its answer.
    expect(sentDuringBurst).toBe(before.predictRequests + 1);
    await waitFor(page, `window.__demo.announced.length > ${before.announced.length}`);
    const after = await demo(page);
    // The first answer was already stale, so the finished stroke was sent once more: two in all.
    expect(after.predictRequests).toBe(before.predictRequests + 2);
    expect(after.predictions).toBe(before.predictions + 1);
    expect(after.announced).toEqual([...before.announced, after.prediction!.label]);
    await expect(page.getByTestId('prediction-announce').textContent()).resolves.toBe(
      `Prediction: ${after.prediction!.label}`,
    );
    await expect(page.getByTestId('prediction').textContent()).resolves.toBe(
      String(after.prediction!.label),
    );
    await expect(page.getByTestId('prediction-status').textContent()).resolves.toBe('');
    expect(browser.session.problems).toEqual([]);
  });

  it('keeps the test hooks out of the page, and follows a dark colour scheme', async () => {
    const page = await browser.session.context.newPage();
    try {
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${server.url}?backend=wasm`);
      await waitFor(page, 'window.__demo && window.__demo.state === "idle"');
      expect(await page.getByTestId('ping').isVisible()).toBe(false);
      expect(await page.getByTestId('start').isVisible()).toBe(true);
      const colours = await page.evaluate(() => ({
        page: getComputedStyle(document.documentElement).backgroundColor,
        panel: getComputedStyle(document.querySelector('.panel')!).backgroundColor,
      }));
      expect(colours).toEqual({ page: 'rgb(2, 6, 23)', panel: 'rgb(15, 23, 42)' });
    } finally {
      await page.close();
    }
    expect(browser.session.problems).toEqual([]);
  });

  it('loads a PyTorch .pth of its weights, and refuses a .pth that would run code', async () => {
    const { page } = browser.session;
    await waitFor(page, 'window.__demo.gridUpdates > 0');
    const before = (await demo(page)).gridPredictions;
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('download').click(),
    ]);
    const safetensors = `${results}vanresnet-for-pth.safetensors`;
    await download.saveAs(safetensors);
    // What torch.save(model.state_dict()) writes for these weights, made in Node by the library.
    const pth = `${results}vanresnet.pth`;
    writeFileSync(pth, await toPth(readFileSync(safetensors)));

    // Scramble the weights with a little training, then load the .pth.
    await page.getByTestId('start').click();
    await waitFor(page, 'window.__demo.steps >= 2');
    await page.getByTestId('stop').click();
    await waitFor(page, 'window.__demo.state === "idle"');
    const { weightsLoads } = await demo(page);
    await page.getByTestId('upload').setInputFiles(pth);
    await waitFor(page, `window.__demo.weightsLoads > ${weightsLoads}`);
    expect((await demo(page)).weightsMessage).toBe('Loaded 10 tensors from vanresnet.pth.');
    // The worker answers in order: a grid asked for now is computed with the loaded weights.
    const { gridUpdates } = await demo(page);
    await page.getByTestId('grid-refresh').click();
    await waitFor(page, `window.__demo.gridUpdates > ${gridUpdates}`);
    expect((await demo(page)).gridPredictions).toEqual(before);

    // A .pth whose pickle calls os.system is refused by name; nothing in it runs.
    const evil = `${results}evil.pth`;
    writeFileSync(evil, await evilPth());
    const loads = (await demo(page)).weightsLoads;
    await page.getByTestId('upload').setInputFiles(evil);
    await waitFor(page, `window.__demo.weightsLoads > ${loads}`);
    expect((await demo(page)).weightsMessage).toMatch(
      /^Cannot load evil\.pth: .*"os\.system" is not allowed.* The current weights are unchanged\.$/,
    );
    expect(browser.session.problems).toEqual([]);
  });

  it('explains a bad, foreign, hostile or oversized weights file and keeps the weights', async () => {
    const { page } = browser.session;
    await waitFor(page, 'window.__demo.gridUpdates > 0');
    const before = (await demo(page)).gridPredictions;
    /** Uploads `bytes` as `name` and returns the page's message about it. */
    const upload = async (name: string, bytes: Buffer): Promise<string> => {
      const path = `${results}${name}`;
      writeFileSync(path, bytes);
      const loads = (await demo(page)).weightsLoads;
      await page.getByTestId('upload').setInputFiles(path);
      await waitFor(page, `window.__demo.weightsLoads > ${loads}`);
      const message = (await page.getByTestId('weights-message').textContent()) ?? '';
      expect(message).toMatch(/ The current weights are unchanged\.$/);
      return message;
    };

    expect(
      await upload('garbage.safetensors', Buffer.from('this is not a safetensors file at all')),
    ).toMatch(/^garbage\.safetensors is not a valid safetensors file/);

    // A picture picked by mistake is named as one, from its first bytes.
    const png = Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
      Buffer.alloc(64),
    ]);
    expect(await upload('digit.safetensors', png)).toBe(
      'digit.safetensors: this looks like a PNG image, not weights. The current weights are unchanged.',
    );

    // A valid file with one tensor of the wrong shape.
    const wrong = await upload(
      'wrong-shape.safetensors',
      safetensorsFile({ 'fc2.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, 16),
    );
    expect(wrong).toMatch(/wrong-shape\.safetensors does not fit this VanResNet/);
    expect(wrong).toMatch(/fc2\.weight/);

    // A node-trainer file of another model says so before any tensor is compared.
    const mnist = {
      name: 'mnist',
      input: { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    };
    const cifar = {
      model: { name: 'resnet18', inChannels: 3, inputSize: 32, numClasses: 10, stem: 'cifar' },
      dataset: {
        ...mnist,
        name: 'cifar10',
        input: { size: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      },
      epoch: 1,
    };
    const metadata = (meta: unknown) => ({ __metadata__: { 'resnet-ts': JSON.stringify(meta) } });
    expect(await upload('resnet18-cifar.safetensors', safetensorsFile(metadata(cifar), 0))).toMatch(
      /^resnet18-cifar\.safetensors does not fit this page: it holds a resnet18 for 3×32×32 images/,
    );

    // Metadata claiming a million classes is refused by the registry's limits, as by the CLI.
    const million = {
      model: { name: 'vanresnet', inChannels: 1, inputSize: 28, numClasses: 1_000_000 },
      dataset: mnist,
      epoch: 1,
    };
    expect(await upload('million.safetensors', safetensorsFile(metadata(million), 0))).toBe(
      'Cannot load million.safetensors: resnet-ts.model.numClasses: expected <=100000, got 1000000. The current weights are unchanged.',
    );

    // Far more bytes than the page's model can have is refused before the file is read.
    expect(await upload('huge.safetensors', Buffer.alloc(4 * 1024 * 1024))).toMatch(
      /^huge\.safetensors is 4\.0 MB, more than weights for this page can be \(1\.\d MB\), so it was not read\./,
    );

    // Nothing above touched the model: the test grid's predictions are as they were.
    const { gridUpdates } = await demo(page);
    await page.getByTestId('grid-refresh').click();
    await waitFor(page, `window.__demo.gridUpdates > ${gridUpdates}`);
    expect((await demo(page)).gridPredictions).toEqual(before);
    expect(browser.session.problems).toEqual([]);
  });
});

/**
 * The "Your images" mode in a real headless Chromium, with real files: a generated folder of
 * drawn shapes (PNG and JPEG, one corrupt file) picked through the `webkitdirectory` input,
 * decoded by `ImageFolder.fromFiles` in the worker, fine-tuned on wasm, held-out pictures
 * classified, and the safetensors and ONNX downloads checked in Node.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: the shapes tool is plain JavaScript without type declarations.
import { makeShapesFolder } from '@resnet-ts/shapes';
import onnxProto from 'onnx-proto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ownImages as own,
  pageWaiter,
  serveSite,
  skipWithoutChromium,
  useBrowser,
} from './harness.js';

const results = fileURLToPath(new URL('../test-results/', import.meta.url));
const screenshots = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));

const CLASSES = ['circle', 'cross', 'triangle'];
const PER_CLASS = 120;
const HELD_OUT = 15;
const EPOCHS = 25;

/** Waits for a condition on the page; on timeout, the error shows where the page got to. */
const waitFor = pageWaiter('__ownImages', ['state', 'classes', 'epochs', 'errors', 'folderError']);

/** The JSON header of a safetensors file. */
function safetensorsHeader(bytes: Buffer): Record<string, any> {
  const length = Number(bytes.readBigUInt64LE(0));
  expect(8 + length).toBeLessThanOrEqual(bytes.length);
  return JSON.parse(bytes.subarray(8, 8 + length).toString('utf8'));
}

async function download(page: Page, testId: string, path: string): Promise<Buffer> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId(testId).click(),
  ]);
  await file.saveAs(path);
  return readFileSync(path);
}

let shapes: string;

skipWithoutChromium();
const server = serveSite();
beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  shapes = mkdtempSync(join(tmpdir(), 'web-demo-shapes-'));
  await makeShapesFolder(shapes, { classes: CLASSES, train: PER_CLASS, val: HELD_OUT, seed: 3 });
});
afterAll(async () => {
  if (shapes) rmSync(shapes, { recursive: true, force: true });
});

describe('your own images', () => {
  const browser = useBrowser(
    ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    { width: 1366, height: 768 },
    async (session) => {
      await session.page.goto(`${server.url}?backend=wasm&mode=images`);
      await waitFor(session.page, 'window.__ownImages && window.__ownImages.state === "idle"');
    },
  );

  it('reads a picked folder through ImageFolder, and reports and skips the corrupt file', async () => {
    const { page } = browser.session;
    expect(await page.getByTestId('images-mode').isVisible()).toBe(true);
    expect(await page.getByTestId('start').isVisible()).toBe(false);
    await page.getByTestId('oi-folder').setInputFiles(join(shapes, 'train'));
    await waitFor(page, 'window.__ownImages.classes.length > 0 || window.__ownImages.folderError');
    const o = await own(page);
    expect(o.folderError).toBeNull();
    expect(o.classes).toEqual(CLASSES);
    expect(o.counts).toEqual(CLASSES.map(() => PER_CLASS));
    expect(o.skipped).toHaveLength(1);
    expect(o.skipped[0].path).toBe('train/circle/corrupt.jpg');
    expect(o.skipped[0].reason.length).toBeGreaterThan(3);
    await expect(page.getByTestId('oi-skipped').textContent()).resolves.toContain(
      'Skipped train/circle/corrupt.jpg',
    );
    await expect(page.getByTestId('oi-folder-message').textContent()).resolves.toBe(
      `${3 * PER_CLASS} pictures in 3 classes; 1 file skipped.`,
    );
    expect(browser.session.problems).toEqual([]);
  });

  it('fine-tunes a VanResNet on it and classifies held-out pictures', async () => {
    const { page } = browser.session;
    await page.locator('#oi-epochs').fill(String(EPOCHS));
    await page.getByTestId('oi-train').click();
    await waitFor(page, 'window.__ownImages.state === "training"');
    await waitFor(
      page,
      'window.__ownImages.trained && window.__ownImages.state === "idle"',
      300_000,
    );
    const o = await own(page);
    expect(o.errors).toEqual([]);
    expect(o.epochs).toHaveLength(EPOCHS);
    expect(o.trainMessage).toMatch(
      new RegExp(`^Finished after ${EPOCHS} epochs \\(\\d+ steps\\)\\.`),
    );
    const first = o.epochs[0];
    const last = o.epochs.at(-1)!;
    expect(last.trainLoss).toBeLessThan(first.trainLoss);
    console.log(
      `own images: held-out accuracy per epoch ${o.epochs.map((e) => e.valAccuracy?.toFixed(2)).join(', ')}`,
    );

    // The pictures the model never saw, plus one file that is not a picture.
    const val = CLASSES.flatMap((c) =>
      readdirSync(join(shapes, 'val', c)).map((f) => join(shapes, 'val', c, f)),
    );
    const bogus = join(results, 'not-a-picture.png');
    writeFileSync(bogus, 'this is text, not a PNG');
    await page.getByTestId('oi-predict').setInputFiles([...val, bogus]);
    await waitFor(page, 'window.__ownImages.predictionBatches > 0');
    const p = await own(page);
    expect(p.predictions).toHaveLength(val.length);
    expect(p.predictSkipped).toEqual([
      { path: 'not-a-picture.png', reason: expect.stringMatching(/not-a-picture\.png/) },
    ]);
    const right = p.predictions.filter((r) => r.name.startsWith(`${r.className}-`)).length;
    console.log(`own images: ${right} of ${val.length} held-out pictures classified correctly`);
    // Chance is a third; the drawn shapes come in random colours, sizes, places and angles.
    // Seeded on wasm, this run classifies 43 of 45.
    expect(right / val.length).toBeGreaterThanOrEqual(0.85);
    for (const r of p.predictions) {
      expect(r.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(r.confidence).toBe(Math.max(...r.probs));
    }
    expect(await page.locator('[data-testid="oi-results"] li img').count()).toBe(val.length);
    await page.screenshot({ path: `${screenshots}images-trained-desktop.png`, fullPage: true });
    expect(browser.session.problems).toEqual([]);
  });

  it('downloads the weights as safetensors with the metadata and as a parseable ONNX graph', async () => {
    const { page } = browser.session;
    const st = await download(page, 'oi-download', `${results}own-images.safetensors`);
    const header = safetensorsHeader(st);
    const meta = JSON.parse(header.__metadata__['resnet-ts']);
    expect(meta.model).toEqual({ name: 'vanresnet', inChannels: 3, inputSize: 32, numClasses: 3 });
    expect(meta.dataset.classes).toEqual(CLASSES);
    expect(meta.dataset.input).toEqual({
      size: 32,
      channels: 3,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(meta.epoch).toBe(EPOCHS);
    expect(header['fc2.weight']).toMatchObject({ dtype: 'F32', shape: [32, 3] });
    // Every tensor's bytes are inside the file, back to back.
    const end = Math.max(
      ...Object.entries(header)
        .filter(([k]) => k !== '__metadata__')
        .map(([, t]) => (t as { data_offsets: number[] }).data_offsets[1]),
    );
    expect(st.length).toBe(8 + Number(st.readBigUInt64LE(0)) + end);

    const bytes = await download(page, 'oi-onnx', `${results}own-images.onnx`);
    expect(bytes.length).toBeGreaterThan(1000);
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const graph = model.graph!;
    const dims = (v: onnxProto.onnx.IValueInfoProto) =>
      v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(dims(graph.input![0])).toEqual(['N', 3, 32, 32]);
    expect(dims(graph.output![0])).toEqual(['N', 3]);
    expect(graph.initializer!.map((t) => t.name)).toContain('fc2.weight');
    // ONNX Runtime computes what the downloaded weights compute in resnet-ts.
    const { onnx: fromOnnx, ours } = await logitsBothWays(bytes, st);
    expect(fromOnnx).toHaveLength(2 * 3);
    for (const [i, v] of fromOnnx.entries()) expect(v).toBeCloseTo(ours[i], 4);
    expect((await own(page)).downloads.map((d) => d.fileName)).toEqual([
      'vanresnet-3-classes.safetensors',
      'vanresnet-3-classes.onnx',
    ]);
    expect(browser.session.problems).toEqual([]);
  });

  it('classifies dropped pictures, and says a drop of loose files holds no class folder', async () => {
    const { page } = browser.session;
    // The first held-out circle and cross, whichever of PNG or JPEG they were written as.
    const picked = ['circle', 'cross'].map((c) => {
      const name = readdirSync(join(shapes, 'val', c)).sort()[0];
      return { name, base64: readFileSync(join(shapes, 'val', c, name)).toString('base64') };
    });
    /** Drops `files` on the zone `testId` as a DataTransfer built in the page. */
    const drop = (testId: string) =>
      page.evaluate(
        ({ testId, files }) => {
          const dt = new DataTransfer();
          for (const f of files) {
            const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
            dt.items.add(new File([bytes], f.name));
          }
          const zone = document.querySelector(`[data-testid="${testId}"]`)!;
          zone.dispatchEvent(
            new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }),
          );
        },
        { testId, files: picked },
      );
    const batches = (await own(page)).predictionBatches;
    await drop('oi-predict-drop');
    await waitFor(page, `window.__ownImages.predictionBatches > ${batches}`);
    const o = await own(page);
    expect(o.predictions.map((r) => r.name)).toEqual(picked.map((f) => f.name));
    expect(o.predictSkipped).toEqual([]);

    await drop('oi-drop');
    await waitFor(page, 'window.__ownImages.folderError !== null');
    expect((await own(page)).folderError).toMatch(/found no class folder/);
    await expect(page.getByTestId('oi-train').isDisabled()).resolves.toBe(true);
    // The folder picked again brings the classes back.
    await page.getByTestId('oi-folder').setInputFiles(join(shapes, 'train'));
    await waitFor(page, 'window.__ownImages.classes.length === 3');
    expect(browser.session.problems).toEqual([]);
  });

  it('fine-tunes from uploaded pretrained .pth weights with a new head and a frozen backbone', async () => {
    const { page } = browser.session;
    const { pth, conv1 } = await pretrainedPth();
    const path = `${results}pretrained-vanresnet-5-classes.pth`;
    writeFileSync(path, pth);
    await page.getByTestId('oi-pretrained').setInputFiles(path);
    await waitFor(page, 'window.__ownImages.pretrainedMessage !== ""');
    expect((await own(page)).pretrainedMessage).toBe(
      'Training will start from pretrained-vanresnet-5-classes.pth (pth), with a new head for your classes.',
    );
    await page.getByTestId('oi-freeze').check();
    await page.locator('#oi-epochs').fill('1');
    await page.getByTestId('oi-train').click();
    await waitFor(page, 'window.__ownImages.state === "training"');
    const started = (await page.getByTestId('oi-train-message').textContent()) ?? '';
    expect(started).toMatch(
      /from pretrained-vanresnet-5-classes\.pth \(\d+ tensors loaded, 2 tensors new, backbone frozen\)\.$/,
    );
    await waitFor(page, 'window.__ownImages.trained && window.__ownImages.state === "idle"');
    const st = await download(page, 'oi-download', `${results}own-images-finetuned.safetensors`);
    // The frozen backbone is the pretrained one, to the bit; the new head has 3 outputs.
    const { conv1: after, fc2 } = await readOwnWeights(st);
    expect(after).toEqual(conv1);
    expect(fc2).toEqual([3, 32]);
    expect((await own(page)).errors).toEqual([]);
    expect(browser.session.problems).toEqual([]);
  });

  it('trains a ResNet-18 and stops when asked, keeping what it learnt', async () => {
    const { page } = browser.session;
    await page.getByTestId('oi-forget').click();
    await waitFor(page, 'window.__ownImages.pretrainedMessage.includes("random weights")');
    await page.locator('#oi-model').selectOption('resnet18');
    await page.locator('#oi-size').fill('16');
    await page.locator('#oi-epochs').fill('3');
    // The page clicks Stop itself as the first batch reports (Train first resets the loss to
    // a dash), so the run is surely mid-way.
    await page.evaluate(() => {
      const loss = document.getElementById('oi-loss')!;
      let batches = 0;
      const observer = new MutationObserver(() => {
        if (++batches < 2) return;
        observer.disconnect();
        document.getElementById('oi-stop')!.click();
      });
      observer.observe(loss, { childList: true, characterData: true, subtree: true });
    });
    await page.getByTestId('oi-train').click();
    await waitFor(page, 'window.__ownImages.state === "training"');
    await waitFor(page, 'window.__ownImages.trained && window.__ownImages.state === "idle"');
    const o = await own(page);
    expect(o.trainMessage).toMatch(/^Stopped after 0 epochs \(\d+ steps?\)\./);
    expect(o.epochs).toEqual([]);
    const st = await download(page, 'oi-download', `${results}own-images-resnet18.safetensors`);
    const header = safetensorsHeader(st);
    expect(JSON.parse(header.__metadata__['resnet-ts']).model).toEqual({
      name: 'resnet18',
      inChannels: 3,
      inputSize: 16,
      numClasses: 3,
      stem: 'cifar',
    });
    expect(header['fc.weight']).toMatchObject({ dtype: 'F32', shape: [512, 3] });
    expect(o.errors).toEqual([]);
    expect(browser.session.problems).toEqual([]);
  });

  it('captures webcam frames into named classes and reads them as a folder', async () => {
    const { page } = browser.session;
    await page.locator('details.oi-webcam summary').click();
    await page.getByTestId('oi-camera').click();
    // Chromium's fake camera, allowed without asking (see the launch flags).
    await waitFor(page, '!document.getElementById("oi-capture").disabled');
    for (const [name, frames] of [
      ['left', 2],
      ['right', 3],
    ] as const) {
      await page.getByTestId('oi-class-name').fill(name);
      for (let i = 0; i < frames; i++) {
        const n = (await own(page)).captured[name] ?? 0;
        await page.getByTestId('oi-capture').click();
        await waitFor(page, `(window.__ownImages.captured[${JSON.stringify(name)}] ?? 0) > ${n}`);
      }
    }
    await page.getByTestId('oi-use-captures').click();
    await waitFor(page, 'window.__ownImages.classes.join() === "left,right"');
    const o = await own(page);
    expect(o.counts).toEqual([2, 3]);
    expect(o.skipped).toEqual([]);
    await page.getByTestId('oi-camera').click();
    expect(browser.session.problems).toEqual([]);
  });

  it('fits a phone screen without sideways scrolling', async () => {
    const page = await browser.session.context.newPage();
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}?backend=wasm&mode=images`);
      await waitFor(page, 'window.__ownImages && window.__ownImages.state === "idle"');
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        view: window.innerWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.view);
      await page.screenshot({ path: `${screenshots}images-phone.png`, fullPage: true });
    } finally {
      await page.close();
    }
    expect(browser.session.problems).toEqual([]);
  });
});

/**
 * A `.pth` of a VanResNet for 3×32×32 pictures and 5 classes (another task's head), as
 * `torch.save(model.state_dict())` writes it, and its first convolution in our layout.
 */
async function pretrainedPth(): Promise<{ pth: Uint8Array; conv1: number[] }> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { Generator } = await import('@resnet-ts/core');
  const { buildModel, modelSpec, toTorchStateDict, writeTorchFile } = await import(
    '@resnet-ts/models'
  );
  const spec = modelSpec('vanresnet', { inChannels: 3, inputSize: 32, numClasses: 5 });
  const model = buildModel(spec, new Generator(42));
  const pth = writeTorchFile(toTorchStateDict(model));
  const conv1 = Array.from(model.stateDict()['conv1.weight'].dataSync());
  model.dispose();
  return { pth, conv1 };
}

/**
 * Logits of two seeded random 3×32×32 inputs from the ONNX file in ONNX Runtime (NCHW) and
 * from the safetensors file's model in resnet-ts (NHWC).
 */
async function logitsBothWays(
  onnxBytes: Uint8Array,
  safetensors: Uint8Array,
): Promise<{ onnx: number[]; ours: number[] }> {
  const ort = await import('onnxruntime-node');
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { decodeSafetensors } = await import('@resnet-ts/core');
  const { loadModelFromSafetensors } = await import('@resnet-ts/models');
  const [n, c, s] = [2, 3, 32];
  const nchw = await tf.randomNormal([n, c, s, s], 0, 1, 'float32', 7).data();
  const runtime = await ort.InferenceSession.create(onnxBytes);
  const out = await runtime.run({
    [runtime.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(nchw), [n, c, s, s]),
  });
  const onnx = Array.from(out[runtime.outputNames[0]].data as Float32Array);
  await runtime.release();
  const { model } = loadModelFromSafetensors(
    decodeSafetensors(new Uint8Array(safetensors)),
    'download',
  );
  model.eval();
  const logits = tf.tidy(
    () =>
      model.forward(tf.transpose(tf.tensor4d(nchw, [n, c, s, s]), [0, 2, 3, 1])) as InstanceType<
        typeof tf.Tensor
      >,
  );
  const ours = Array.from(await logits.data());
  logits.dispose();
  model.dispose();
  return { onnx, ours };
}

/** The first convolution (our layout) and the head's shape (PyTorch's) of a downloaded file. */
async function readOwnWeights(bytes: Uint8Array): Promise<{ conv1: number[]; fc2: number[] }> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { decodeSafetensors } = await import('@resnet-ts/core');
  const { loadModelFromSafetensors, toTorchStateDict } = await import('@resnet-ts/models');
  const { model } = loadModelFromSafetensors(decodeSafetensors(new Uint8Array(bytes)), 'download');
  const conv1 = Array.from(model.stateDict()['conv1.weight'].dataSync());
  const fc2 = [...toTorchStateDict(model)['fc2.weight'].shape];
  model.dispose();
  return { conv1, fc2 };
}

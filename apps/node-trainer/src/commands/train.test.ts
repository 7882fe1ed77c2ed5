import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '@resnet-ts/core';
import { parseMnistDigits, splitMnistDigits } from '@resnet-ts/data';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

// A slice small enough for seconds on the wasm path, big enough that every stage runs.
const TINY = [
  '--limit-train',
  '64',
  '--limit-test',
  '32',
  '--batch-size',
  '32',
  '--backend',
  'wasm',
];
const SLICE = [
  '--limit-train',
  '320',
  '--limit-test',
  '128',
  '--batch-size',
  '32',
  '--backend',
  'wasm',
];

const tmp = tempDir('train');

let events: Array<Record<string, any>>;
let runDir: string;

describe('--threads', () => {
  it('runs the wasm backend on the threads asked for; 1 is the single-threaded build', async () => {
    const reason = async (threads: string) => {
      const r = await runCli(['backends', '--backend', 'wasm', '--threads', threads, '--json']);
      expect(r.code).toBe(0);
      return jsonEvents(r.stdout).find((e) => e.event === 'backend')!.tried[0].reason;
    };
    expect(await reason('1')).toBe('XNNPACK with resnet-ts training kernels');
    expect(await reason('2')).toBe('XNNPACK on 2 threads with resnet-ts training kernels');
    const bad = await runCli(['backends', '--threads', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("expected a whole number >= 1, got '0'");
  });
});

describe('train --json', () => {
  beforeAll(async () => {
    const r = await runCli([
      'train',
      '--epochs',
      '2',
      '--json',
      '--out',
      join(tmp, 'runs'),
      ...SLICE,
    ]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    events = jsonEvents(r.stdout);
    runDir = events.find((e) => e.event === 'done')!.runDir;
  });

  it('reports the backend it picked and every one it tried', () => {
    const backend = events.find((e) => e.event === 'backend')!;
    expect(backend.name).toBe('wasm');
    expect(backend.tried).toEqual([{ name: 'wasm', ok: true, reason: expect.any(String) }]);
  });

  it('trains on every core (at most 8) by default, and records how many in run.json', () => {
    const cores = Math.min(cpus().length, 8);
    const backend = events.find((e) => e.event === 'backend')!;
    expect(backend.tried[0].reason).toBe(
      cores === 1
        ? 'XNNPACK with resnet-ts training kernels'
        : `XNNPACK on ${cores} threads with resnet-ts training kernels`,
    );
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).threads).toBe(cores);
  });

  it('emits one event per epoch with the figures of the table', () => {
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of epochs) {
      expect(e.epochs).toBe(2);
      for (const key of ['trainLoss', 'valLoss', 'imagesPerSec', 'seconds']) {
        expect(e[key], key).toBeGreaterThan(0);
      }
      for (const key of ['trainAccuracy', 'valAccuracy']) {
        expect(e[key], key).toBeGreaterThanOrEqual(0);
        expect(e[key], key).toBeLessThanOrEqual(1);
      }
    }
    // Learning happened: the second epoch's training loss is below the first's.
    expect(epochs[1].trainLoss).toBeLessThan(epochs[0].trainLoss);
  });

  it('ends with the test accuracy on the held-out slice', () => {
    const done = events.find((e) => e.event === 'done')!;
    expect(done.total).toBe(128);
    expect(done.correct).toBe(Math.round(done.accuracy * 128));
    // Two epochs on 288 digits are far above the 10% of guessing.
    expect(done.accuracy).toBeGreaterThan(0.3);
    expect(events.at(-1)!.event).toBe('done');
  });

  it('writes run.json, the checkpoint and the metrics under runs/<timestamp>/', () => {
    expect(runDir.startsWith(join(tmp, 'runs'))).toBe(true);
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(run.model).toEqual({ name: 'vanresnet', inChannels: 1, inputSize: 28, numClasses: 10 });
    expect(run.recipe.epochs).toBe(2);
    const pointer = JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8'));
    expect(pointer).toEqual({ latest: 'checkpoints/epoch-2', epoch: 2 });
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
      expect(existsSync(join(runDir, 'checkpoints/epoch-2', f))).toBe(true);
    }
    // Only the latest epoch is kept.
    expect(existsSync(join(runDir, 'checkpoints/epoch-1'))).toBe(false);
    const csv = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,images_per_sec,seconds',
    );
    expect(csv).toHaveLength(3);
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('completed');
    expect(metrics.epochs).toHaveLength(2);
    const done = events.find((e) => e.event === 'done')!;
    expect(metrics.test.accuracy).toBe(done.accuracy);
  });

  it('eval on the run gives the same test accuracy and a consistent confusion matrix', async () => {
    const r = await runCli(['eval', runDir, '--limit-test', '128', '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    const ev = jsonEvents(r.stdout).find((e) => e.event === 'eval')!;
    const done = events.find((e) => e.event === 'done')!;
    expect(ev.total).toBe(128);
    expect(ev.accuracy).toBeCloseTo(done.accuracy, 10);
    const m: number[][] = ev.confusionMatrix;
    expect(m).toHaveLength(10);
    expect(m.flat().reduce((a, b) => a + b, 0)).toBe(128);
    expect(m.reduce((s, row, i) => s + row[i], 0)).toBe(ev.correct);
  });

  it('eval prints the confusion matrix as a table for people', async () => {
    const r = await runCli([
      'eval',
      join(runDir, 'checkpoints/epoch-2/model.safetensors'),
      '--limit-test',
      '64',
      '--backend',
      'wasm',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Confusion matrix \(rows: true class, columns: predicted\)/);
    expect(r.stdout).toMatch(/Test accuracy: \d+\.\d\d% \(\d+\/64\)/);
  });
});

/** The test split's digits, as `train` splits them, from the package's embedded asset. */
function testDigits() {
  const path = createRequire(import.meta.url).resolve('@resnet-ts/data/mnist-digits.bin');
  return splitMnistDigits(parseMnistDigits(readFileSync(path))).test;
}

/** Writes a gray digit as an RGBA PNG, optionally scaled up by `scale` and inverted. */
function writeDigitPng(path: string, pixels: Uint8Array, { scale = 1, invert = false } = {}): void {
  const size = 28 * scale;
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = pixels[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
      const g = invert ? 255 - v : v;
      png.data.set([g, g, g, 255], (y * size + x) * 4);
    }
  }
  writeFileSync(path, PNG.sync.write(png));
}

function writeDigitJpeg(path: string, pixels: Uint8Array, scale: number): void {
  const size = 28 * scale;
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = pixels[Math.floor(y / scale) * 28 + Math.floor(x / scale)];
      data.set([v, v, v, 255], (y * size + x) * 4);
    }
  }
  writeFileSync(path, jpeg.encode({ data, width: size, height: size }, 100).data);
}

describe('predict', () => {
  let dir: string;

  beforeAll(() => {
    dir = join(tmp, 'images');
    mkdirSync(dir, { recursive: true });
  });

  it('gives top-k classes with probabilities, the same for a PNG drawn dark-on-light, scaled up, or a JPEG', async () => {
    const digits = testDigits();
    const files = Array.from({ length: 8 }, (_, i) => join(dir, `digit-${i}.png`));
    for (const [i, f] of files.entries()) writeDigitPng(f, digits.get(i).image as Uint8Array);
    const first = await runCli([
      'predict',
      runDir,
      ...files,
      '--top',
      '3',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(first.code).toBe(0);
    const preds = jsonEvents(first.stdout).filter((e) => e.event === 'prediction');
    expect(preds.map((p) => p.file)).toEqual(files);
    for (const p of preds) {
      expect(p.top).toHaveLength(3);
      const probs = p.top.map((t: any) => t.probability);
      expect([...probs].sort((a, b) => b - a)).toEqual(probs);
      expect(probs.reduce((a: number, b: number) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
      expect(p.top[0].label).toBe(String(p.top[0].class));
      expect(p.inverted).toBe(false);
    }
    // The model is small and briefly trained: the variants are checked on its most confident digit.
    const best = preds.reduce((a, b) => (b.top[0].probability > a.top[0].probability ? b : a));
    const index = preds.indexOf(best);
    const pixels = digits.get(index).image as Uint8Array;
    const inverted = join(dir, 'inverted-x3.png');
    const photo = join(dir, 'digit-x2.jpg');
    writeDigitPng(inverted, pixels, { scale: 3, invert: true });
    writeDigitJpeg(photo, pixels, 2);
    const second = await runCli([
      'predict',
      runDir,
      inverted,
      photo,
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(second.code).toBe(0);
    const [inv, jpg] = jsonEvents(second.stdout).filter((e) => e.event === 'prediction');
    expect(inv.inverted).toBe(true);
    expect(inv.size).toEqual({ width: 84, height: 84 });
    expect(inv.top[0].class).toBe(best.top[0].class);
    expect(inv.top[0].probability).toBeCloseTo(best.top[0].probability, 4);
    expect(jpg.inverted).toBe(false);
    expect(jpg.top[0].class).toBe(best.top[0].class);
  });

  it('prints one line per image for people', async () => {
    const file = join(dir, 'digit-0.png');
    const r = await runCli(['predict', runDir, file, '--top', '2', '--backend', 'wasm']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${file}: \\d \\d+\\.\\d\\d%, \\d \\d+\\.\\d\\d%\\n`));
  });

  it('rejects a file that is not an image with exit code 1', async () => {
    const bogus = join(dir, 'notes.png');
    writeFileSync(bogus, 'not a picture');
    const r = await runCli(['predict', runDir, bogus, '--backend', 'wasm']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bogus}: not a picture`);
  });

  describe.concurrent('with a bad checkpoint, exits 1 with a clear error', () => {
    const weights = () => join(runDir, 'checkpoints/epoch-2/model.safetensors');

    it('when the path does not exist', async () => {
      const r = await runCli(['eval', join(tmp, 'nowhere'), '--backend', 'wasm']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no checkpoint at .*nowhere: the path does not exist/);
    });

    it('when the file is truncated', async () => {
      const broken = join(tmp, 'truncated.safetensors');
      copyFileSync(weights(), broken);
      truncateSync(broken, 5000);
      const r = await runCli(['eval', broken, '--backend', 'wasm']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: corrupted checkpoint: .*truncated\.safetensors/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('when it is not a safetensors file at all', async () => {
      const junk = join(tmp, 'junk.safetensors');
      writeFileSync(junk, 'hello, this is text');
      const r = await runCli(['predict', junk, join(dir, 'digit-0.png'), '--backend', 'wasm']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/corrupted checkpoint/);
    });

    it('when the weights do not fit the model the file names', async () => {
      const file = decodeSafetensors(readFileSync(weights()));
      const meta = JSON.parse(file.metadata['resnet-ts']);
      meta.model = { ...meta.model, name: 'resnet18', stem: 'cifar' };
      const mismatched = join(tmp, 'mismatched.safetensors');
      writeFileSync(
        mismatched,
        encodeSafetensors(file.tensors, { 'resnet-ts': JSON.stringify(meta) }),
      );
      const r = await runCli(['eval', mismatched, '--backend', 'wasm']);
      expect(r.code).toBe(1);
      // Refused from the tensor shapes, before a resnet18 is built.
      expect(r.stderr).toMatch(
        /resnet-ts\.model\.name: "resnet18" does not match the weights: "conv1\.weight" has shape/,
      );
    });

    it('when the file carries no model description', async () => {
      const file = decodeSafetensors(readFileSync(weights()));
      const bare = join(tmp, 'bare.safetensors');
      writeFileSync(bare, encodeSafetensors(file.tensors));
      const r = await runCli(['eval', bare, '--backend', 'wasm']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/resnet-ts: missing: the file does not say which model/);
    });
  });
});

describe.concurrent('train without --json', () => {
  it('prints the backend report, a line per epoch, the table and the test accuracy', async () => {
    const r = await runCli(['train', '--epochs', '1', '--out', join(tmp, 'plain'), ...TINY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm\n {2}✓ wasm/);
    expect(r.stdout).toMatch(/epoch 1\/1 {2}train loss \d\.\d{4} acc [\d.]+% {2}val loss/);
    expect(r.stdout).toMatch(/epoch +train loss +train acc +val loss +val acc +lr +img\/s +time/);
    expect(r.stdout).toMatch(/Test accuracy: \d+\.\d\d% \(\d+\/32\)/);
    // No progress bar redraws in a pipe.
    expect(r.stdout).not.toContain('\r');
  });

  it('--quiet prints only the result', async () => {
    const r = await runCli([
      'train',
      '--epochs',
      '1',
      '--quiet',
      '--out',
      join(tmp, 'quiet'),
      ...SLICE,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stdout).toMatch(/^Test accuracy: /);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CIFAR10_CLASSES } from '@resnet-ts/data';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

const tmp = tempDir('datasets');

/** CIFAR-10's binary format: per record one label byte, then 3,072 pixel bytes (CHW). */
function writeCifar(dir: string, records: number): void {
  mkdirSync(dir, { recursive: true });
  const files = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat('test_batch.bin');
  files.forEach((name, f) => {
    const bytes = randomBytes(records * 3073);
    for (let r = 0; r < records; r++) bytes[r * 3073] = (r + f) % 10;
    writeFileSync(join(dir, name), bytes);
  });
}

/** An IDX file: magic (0, 0, type 0x08 = ubyte, rank), big-endian dimensions, data. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  for (const [i, d] of dims.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([header, data]);
}

function writeMnistIdx(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  for (const prefix of ['train', 't10k']) {
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    writeFileSync(
      join(dir, `${prefix}-images-idx3-ubyte.gz`),
      gzipSync(idx([count, 28, 28], randomBytes(count * 784))),
    );
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([count], labels));
  }
}

const TINY = [
  '--epochs',
  '1',
  '--batch-size',
  '16',
  '--limit-train',
  '48',
  '--limit-test',
  '16',
  '--backend',
  'wasm',
  '--json',
];

describe('datasets read from a directory', () => {
  it('trains on CIFAR-10 binary files and predicts an RGB picture with its class names', async () => {
    const dir = join(tmp, 'cifar');
    writeCifar(dir, 20);
    const r = await runCli([
      'train',
      '--dataset',
      'cifar10',
      '--data-dir',
      dir,
      '--out',
      join(tmp, 'runs'),
      ...TINY,
    ]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const events = jsonEvents(r.stdout);
    const start = events.find((e) => e.event === 'start')!;
    expect(start.model).toEqual({
      name: 'vanresnet',
      inChannels: 3,
      inputSize: 32,
      numClasses: 10,
    });
    expect(start.sizes).toEqual({ train: 43, val: 5, test: 16 });
    expect(start.recipe).toMatchObject({ optimizer: 'sgd', weightDecay: 5e-4 });
    const runDir = events.find((e) => e.event === 'done')!.runDir;

    const png = new PNG({ width: 40, height: 30 });
    png.data.set(randomBytes(40 * 30 * 4));
    const picture = join(tmp, 'photo.png');
    writeFileSync(picture, PNG.sync.write(png));
    const p = await runCli([
      'predict',
      runDir,
      picture,
      '--backend',
      'wasm',
      '--json',
      '--top',
      '10',
    ]);
    expect(p.code).toBe(0);
    const pred = jsonEvents(p.stdout).find((e) => e.event === 'prediction')!;
    expect(pred.top.map((t: any) => t.label).sort()).toEqual([...CIFAR10_CLASSES].sort());
    const sum = pred.top.reduce((s: number, t: any) => s + t.probability, 0);
    expect(sum).toBeCloseTo(1, 5);

    const wrong = await runCli(['eval', runDir, '--dataset', 'mnist', '--backend', 'wasm']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/takes 32×32×3 images, but --dataset mnist has 28×28×1/);
  });

  it('trains on MNIST IDX files, gzipped or not', async () => {
    const dir = join(tmp, 'mnist');
    writeMnistIdx(dir, 40);
    const r = await runCli([
      'train',
      '--dataset',
      'mnist-idx',
      '--data-dir',
      dir,
      '--out',
      join(tmp, 'runs'),
      ...TINY,
    ]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const start = jsonEvents(r.stdout).find((e) => e.event === 'start')!;
    expect(start.sizes.test).toBe(16);
  });

  it('names the missing file inside an existing data directory', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir, { recursive: true });
    const r = await runCli([
      'train',
      '--dataset',
      'cifar10',
      '--data-dir',
      dir,
      '--backend',
      'wasm',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/data_batch_1\.bin/);
    expect(r.stderr).toMatch(/--download/);
  });
});

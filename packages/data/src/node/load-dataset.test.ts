import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Generator } from '@resnet-ts/core';
import { describe, expect, it } from 'vitest';
import { datasetInfo } from '../catalog.js';
import { DatasetFileError } from '../errors.js';
import { idx } from '../testing/formats.js';
import { bundleModule } from '../testing/isolated.js';
import { defaultFolderTransforms, loadDataset } from './load-dataset.js';

describe('loadDataset', () => {
  it('loads the embedded digits with the catalog input, split reproducibly by seed', async () => {
    const opts = { valSplit: 0.1, seed: 3, limitTrain: 200, limitTest: 50 };
    const a = await loadDataset('mnist', opts);
    expect(a.input).toEqual(datasetInfo('mnist').input);
    expect([a.train.length, a.val?.length, a.test.length]).toEqual([180, 20, 50]);
    const b = await loadDataset('mnist', opts);
    const labels = (d: typeof a.train) =>
      Array.from({ length: d.length }, (_, i) => d.get(i).label);
    expect(labels(b.val!)).toEqual(labels(a.val!));
    // Normalised with MNIST's mean and std: a black pixel is -0.1307 / 0.3081.
    expect(a.test.get(0).image[0]).toBeCloseTo(-0.1307 / 0.3081, 5);
    expect((await loadDataset('mnist', { ...opts, testOnly: true })).val).toBeUndefined();
  });

  it('says where the files should be, and suggests a fresh download for a damaged one', async () => {
    const missing = join(tmpdir(), 'resnet-ts-no-such-dir');
    await expect(
      loadDataset('cifar10', { dataDir: missing, valSplit: 0, seed: 0 }),
    ).rejects.toThrow(
      /resnet-ts-no-such-dir: dataset directory does not exist; put the CIFAR-10 binary files/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-load-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([1, 28, 28], new Uint8Array(100)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([1], new Uint8Array(1)));
    const attempt = loadDataset('mnist-idx', { dataDir: dir, valSplit: 0, seed: 0 });
    await expect(attempt).rejects.toThrow(DatasetFileError);
    await expect(loadDataset('mnist-idx', { dataDir: dir, valSplit: 0, seed: 0 })).rejects.toThrow(
      /train-images-idx3-ubyte: 116 bytes, expected 800 .*\(download the dataset into .* again/,
    );
  });

  it('loads a folder of class subfolders, split by seed, resized to the model input', async () => {
    const root = fileURLToPath(new URL('../__fixtures__/image-folder', import.meta.url));
    const skipped: string[] = [];
    const opts = { dataDir: root, valSplit: 0.25, seed: 1, imageSize: 8, skipBadFiles: true };
    const ds = await loadDataset('folder', { ...opts, log: (m) => skipped.push(m) });
    expect(ds.classes).toEqual(['Dog', 'cat', 'zebra', 'élan']);
    expect(ds.input).toEqual({ ...datasetInfo('folder').input, size: 8 });
    expect([ds.train.length, ds.val?.length, ds.test.length]).toEqual([13, 4, 4]);
    expect(skipped).toEqual([expect.stringMatching(/skipped .*zebra\/broken\.jpg: /)]);
    const sample = await ds.val!.get(0);
    expect(sample.shape).toEqual([8, 8, 3]);
    expect(sample.image).toBeInstanceOf(Float32Array);
    const again = await loadDataset('folder', opts);
    expect((await again.val!.get(0)).label).toBe(sample.label);
    const other = mkdtempSync(join(tmpdir(), 'resnet-ts-val-'));
    mkdirSync(join(other, 'cat'));
    writeFileSync(join(other, 'cat', 'a.png'), readFileSync(join(root, 'cat', 'b.png')));
    await expect(loadDataset('folder', { ...opts, valDir: other })).rejects.toThrow(
      /has the classes cat, expected the training folder's Dog, cat, zebra, élan/,
    );
  });

  it("resizes a folder's pictures as torchvision's ImageFolder does, antialiased", () => {
    // A one-pixel checkerboard shrunk from 96 to 32: torchvision's Resize((32, 32)) on the PIL
    // image ImageFolder loads gives 126–129 everywhere; without antialias every third pixel
    // survives, 0 or 255.
    const image = new Uint8Array(96 * 96 * 3);
    for (let y = 0; y < 96; y++) {
      for (let x = 0; x < 96; x++)
        image.fill((x + y) % 2 ? 255 : 0, (y * 96 + x) * 3, (y * 96 + x + 1) * 3);
    }
    const out = defaultFolderTransforms(32, undefined).test.apply({ image, shape: [96, 96, 3] });
    expect(out.shape).toEqual([32, 32, 3]);
    const [mean, std] = [datasetInfo('folder').input.mean, datasetInfo('folder').input.std];
    const pixels = Array.from(out.image, (v, i) => (v * std[i % 3] + mean[i % 3]) * 255);
    expect(Math.min(...pixels)).toBeGreaterThan(125);
    expect(Math.max(...pixels)).toBeLessThan(130);
  });

  it('decodes a folder in worker threads, the same pictures as on the main thread', async () => {
    const root = fileURLToPath(new URL('../__fixtures__/image-folder', import.meta.url));
    const workerModule = pathToFileURL(
      await bundleModule(
        'folder-worker',
        "export { createDataset } from './node/folder-worker.js';",
      ),
    );
    const opts = { dataDir: root, valSplit: 0.25, seed: 1, imageSize: 8, skipBadFiles: true };
    const pixels = async (d: { length: number; get(i: number): Promise<{ image: unknown }> }) =>
      Promise.all(
        Array.from({ length: d.length }, async (_, i) =>
          Array.from((await d.get(i)).image as Float32Array),
        ),
      );
    const inline = await loadDataset('folder', opts);
    expect(inline.close).toBeUndefined();
    const pooled = await loadDataset('folder', { ...opts, workers: 2, workerModule });
    try {
      expect([pooled.train.length, pooled.val?.length]).toEqual([13, 4]);
      expect(await pixels(pooled.val!)).toEqual(await pixels(inline.val!));
      expect(await pixels(pooled.train)).toEqual(await pixels(inline.train));
    } finally {
      await pooled.close?.();
    }
    // With augmentation, the per-sample seeds come from the augment generator: same seed, same flips.
    const flips = async (workers: number) => {
      const d = await loadDataset('folder', {
        ...opts,
        workers,
        workerModule,
        augmentGenerator: new Generator(4),
      });
      try {
        return await pixels(d.train);
      } finally {
        await d.close?.();
      }
    };
    const a = await flips(1);
    expect(await flips(2)).toEqual(a);
    expect(a).not.toEqual(await pixels(inline.train));
  });
});

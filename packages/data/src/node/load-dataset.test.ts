import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { idx } from '../__tests__/formats.js';
import { datasetInfo } from '../catalog.js';
import { DatasetFileError } from '../errors.js';
import { loadDataset } from './load-dataset.js';

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
});

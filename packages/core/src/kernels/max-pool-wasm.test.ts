import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError } from '../testing/kernel-compare.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';

interface Case {
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  /** Whether the own kernels split it (else it is too small). */
  split: boolean;
}

const cases: Case[] = [
  // 2x2 windows with stride 2 inside the image: their own kernel.
  { x: [4, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [2, 7, 7, 4], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [2, 8, 6, 11], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [1, 6, 10, 33], filterSize: 2, strides: 2, pad: 'same', split: true },
  { x: [3, 4, 4, 16], filterSize: 2, strides: 2, pad: 'valid', split: true },
  { x: [1, 2, 2, 1], filterSize: 2, strides: 2, pad: 'valid', split: false },
  { x: [2, 1, 4, 3], filterSize: 2, strides: 2, pad: 'valid', split: false },
  // Any other window: the general kernel (ResNet's stem pools 3x3, stride 2, padding 1, or
  // 'valid' after padding with -Infinity).
  { x: [2, 8, 8, 3], filterSize: 3, strides: 2, pad: 1, split: true },
  { x: [2, 10, 10, 5], filterSize: 3, strides: 2, pad: 'valid', split: true },
  { x: [2, 7, 9, 4], filterSize: 2, strides: 2, pad: 'same', split: true },
  { x: [1, 6, 7, 2], filterSize: 3, strides: 1, pad: 'same', split: true },
  { x: [2, 6, 8, 6], filterSize: [2, 3], strides: [1, 2], pad: 'valid', split: true },
  { x: [3, 5, 5, 9], filterSize: 5, strides: 1, pad: 'valid', split: false },
  { x: [2, 4, 5, 7], filterSize: 1, strides: 1, pad: 'valid', split: true },
  { x: [2, 4, 6, 7], filterSize: 1, strides: 2, pad: 'valid', split: true },
];

/** Windows of zeros (as after a relu), NaN, -Infinity, and windows holding nothing else. */
function poolInput(gen: Generator, shape: number[]) {
  const x = randomInput(gen, shape);
  const odd = [0, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
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
      x.values[(dy * w + dx) * c] = Number.NaN;
      x.values[(dy * w + dx + 2) * c] = Number.NEGATIVE_INFINITY;
    }
  }
  return x;
}

onOneAndTwoThreads('MaxPool on wasm', (threads) => {
  for (const c of cases) {
    it(`matches cpu exactly, and its gradient closely, for x [${c.x}] window ${c.filterSize} stride ${c.strides} pad ${c.pad}, NaN and infinities included`, async () => {
      const gen = new Generator(c.x[1] * 100 + c.x[3]);
      const x = poolInput(gen, c.x);
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

import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError } from '../testing/kernel-compare.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';

interface Case {
  x: number[];
  /** Shape of mean, variance, offset and scale. */
  stats: number[];
  offset: boolean;
  scale: boolean;
  epsilon?: number;
  /** Whether the own kernel splits it (else it is small or goes to the stock kernel). */
  split: boolean;
}

const cases: Case[] = [
  { x: [2, 5, 3, 7], stats: [7], offset: true, scale: true, epsilon: 1e-5, split: true },
  { x: [3, 4, 4, 16], stats: [1, 1, 1, 16], offset: true, scale: true, split: true },
  { x: [1, 3, 3, 5], stats: [5], offset: false, scale: true, epsilon: 0.1, split: true },
  { x: [4, 2, 2, 33], stats: [33], offset: true, scale: false, split: true },
  { x: [2, 3, 2, 6], stats: [6], offset: false, scale: false, split: true },
  { x: [9, 5], stats: [5], offset: true, scale: true, epsilon: 1e-3, split: true },
  { x: [1, 1, 1, 1], stats: [1], offset: true, scale: true, split: false },
  { x: [0, 2, 2, 3], stats: [3], offset: true, scale: true, split: false },
  // Statistics that are not per-channel vectors: the stock kernel's.
  { x: [2, 3, 3, 4], stats: [2, 3, 3, 4], offset: true, scale: true, split: false },
  { x: [2, 3, 3, 4], stats: [1], offset: true, scale: true, split: false },
];

onOneAndTwoThreads('FusedBatchNorm on wasm', (threads) => {
  for (const c of cases) {
    it(`matches cpu for x [${c.x}], statistics [${c.stats}]${c.offset ? '' : ', no offset'}${c.scale ? '' : ', no scale'}, epsilon ${c.epsilon}`, async () => {
      const gen = new Generator(c.x.reduce((p, v) => p * 11 + v, c.stats.length));
      const x = randomInput(gen, c.x);
      // Activations well away from zero mean and unit variance, as batch norm meets them.
      for (let i = 0; i < x.values.length; i++) x.values[i] = 3 + 4 * x.values[i];
      const mean = randomInput(gen, c.stats);
      const variance = randomInput(gen, c.stats);
      for (let i = 0; i < variance.values.length; i++) {
        variance.values[i] = 0.01 + 20 * Math.abs(variance.values[i]);
      }
      const offset = randomInput(gen, c.stats);
      const scale = randomInput(gen, c.stats);
      const [want, got] = await cpuAndWasm(threads, c.split, () =>
        tf.tidy(() => {
          const t = (r: { values: Float32Array; shape: number[] }) => tf.tensor(r.values, r.shape);
          const inputs: Record<string, tf.Tensor> = {
            x: t(x),
            mean: t(mean),
            variance: t(variance),
          };
          if (c.offset) inputs.offset = t(offset);
          if (c.scale) inputs.scale = t(scale);
          const attrs: tf.NamedAttrMap =
            c.epsilon === undefined ? {} : { varianceEpsilon: c.epsilon };
          const y = tf.engine().runKernel('FusedBatchNorm', inputs, attrs) as tf.Tensor;
          return { shape: y.shape, values: y.dataSync() as Float32Array };
        }),
      );
      expect(got.shape).toEqual(want.shape);
      expect(got.values.length).toBe(want.values.length);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-6);
    });
  }
});

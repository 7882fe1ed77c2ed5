import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, runOn } from '../testing/kernel-compare.js';

const cases: Array<{ shape: number[]; reps: number[] }> = [
  { shape: [1, 1, 1, 8], reps: [4, 5, 3, 1] },
  { shape: [2, 3], reps: [3, 2] },
  { shape: [5], reps: [7] },
  { shape: [3, 1, 2], reps: [1, 4, 3] },
  { shape: [2, 2, 2, 2], reps: [1, 1, 1, 1] },
  { shape: [1, 3, 1, 2], reps: [2, 1, 5, 2] },
  { shape: [4, 2], reps: [0, 2] },
];

describe('Tile on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of cases) {
    it(`matches cpu for shape ${c.shape} reps ${c.reps}`, async () => {
      const inputs = { x: randomInput(new Generator(c.shape.length + 1), c.shape) };
      const want = await runOn('cpu', 'Tile', inputs, { reps: c.reps });
      const got = await runOn('wasm', 'Tile', inputs, { reps: c.reps });
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    });
  }

  it('still tiles int32 tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2], 'int32');
    const y = tf.tile(x, [3]);
    expect(Array.from(y.dataSync())).toEqual([1, 2, 1, 2, 1, 2]);
    tf.dispose([x, y]);
  });
});

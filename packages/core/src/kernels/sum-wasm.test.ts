import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';
import { setOwnWasmKernels } from './own-wasm.js';

const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
  { shape: [8, 5, 5, 7], axis: [0, 1, 2], keepDims: false },
  { shape: [8, 5, 5, 7], axis: [2, 0, 1], keepDims: true },
  { shape: [1, 3, 3, 4], axis: [0, 1, 2], keepDims: false },
  { shape: [64, 10], axis: 0, keepDims: false },
  { shape: [64, 10], axis: -2, keepDims: true },
  { shape: [6, 4, 3], axis: [0, 1], keepDims: false },
  { shape: [6, 4, 3], axis: [1, 2], keepDims: false },
  { shape: [6, 4, 3], axis: [0, 2], keepDims: true },
  { shape: [6, 4, 3], axis: [0, 1, 2], keepDims: false },
  { shape: [6, 4], axis: 1, keepDims: false },
  { shape: [5, 3, 3, 37], axis: [0, 1, 2], keepDims: false },
];

describe('Sum and Mean on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const [kernel, own] of [
    ['Sum', true],
    ['Mean', true],
    ['Sum', false],
    ['Mean', false],
  ] as const) {
    for (const c of cases) {
      it(`${kernel}${own ? '' : ' (JavaScript loops)'} matches cpu for shape ${c.shape} axis ${c.axis} keepDims ${c.keepDims}`, async () => {
        const inputs = { x: randomInput(new Generator(c.shape.length), c.shape) };
        const attrs = { axis: c.axis, keepDims: c.keepDims };
        const want = await runOn('cpu', kernel, inputs, attrs);
        setOwnWasmKernels(own);
        const got = await runOn('wasm', kernel, inputs, attrs);
        setOwnWasmKernels(true);
        expect(got.shape).toEqual(want.shape);
        expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
      });
    }
  }

  it('still sums int32 tensors', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const s = tf.sum(x, 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(s.dataSync())).toEqual([9, 12]);
    tf.dispose([x, s]);
  });
});

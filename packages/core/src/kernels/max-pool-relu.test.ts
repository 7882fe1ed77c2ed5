import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ValueError } from '../errors.js';
import { Generator } from '../generator.js';
import { oddValues } from '../testing/optimizer-kernels.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';
import { MAX_POOL_RELU, MAX_POOL_RELU_GRAD, maxPoolRelu } from './max-pool-relu.js';
import { setOwnWasmKernels } from './own-wasm.js';

/** The values with -0 read as +0. */
const signless = (values: number[]) => values.map((v) => (v === 0 ? 0 : v));

type Window = [number | [number, number], number | [number, number], 'valid' | 'same'];

/**
 * The op's output and its gradient for `dy`, against relu(maxPool(x)) and its gradient by
 * tfjs's ops on the same backend.
 */
function fusedAndComposed(x: Float32Array, dy: Float32Array, shape: number[], w: Window) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, shape as [number, number, number, number]);
    const outputs = [
      (t: tf.Tensor) => maxPoolRelu(t as tf.Tensor4D, ...w),
      (t: tf.Tensor) => tf.relu(tf.maxPool(t as tf.Tensor4D, ...w)),
    ].map((f) => {
      const y = f(xt);
      const dx = tf.grad(f)(xt, tf.tensor(dy.subarray(0, y.size), y.shape));
      return [Array.from(y.dataSync()), Array.from(dx.dataSync())];
    });
    return outputs;
  });
}

/**
 * Inputs with NaN, ±0 and ±infinity sprinkled in, windows whose values are all negative
 * (ReLU's gradient then stops there) and ties between a window's cells.
 */
function poolInput(gen: Generator, n: number): Float32Array {
  const x = oddValues(gen, n);
  for (let i = 0; i + 4 <= n; i += 13) x.fill(-gen.uniform(0.1, 1), i, i + 4);
  for (let i = 7; i + 2 <= n; i += 29) x.fill(0.25, i, i + 2);
  return x;
}

it('is computed by tfjs MaxPool and Relu on the cpu backend, which has no kernel of its own', async () => {
  await tf.setBackend('cpu');
  expect(tf.getKernel(MAX_POOL_RELU, 'cpu')).toBeUndefined();
  // Windows: a maximum of 4, one of 3, all negative (0 out, no gradient back), a tie of 2s
  // (the gradient goes to the first in row-major order).
  const x = tf.tensor4d([1, -2, 3, 0.5, 4, 0, -1, -3, -5, -6, 2, 2, -7, -8, 2, 1], [1, 4, 4, 1]);
  const dy = tf.tensor4d([10, 20, 30, 40], [1, 2, 2, 1]);
  const f = (t: tf.Tensor) => maxPoolRelu(t as tf.Tensor4D, 2, 2);
  const y = f(x);
  const dx = tf.grad(f)(x, dy);
  expect(Array.from(y.dataSync())).toEqual([4, 3, 0, 2]);
  expect(Array.from(dx.dataSync())).toEqual([0, 0, 20, 0, 10, 0, 0, 0, 0, 0, 40, 0, 0, 0, 0, 0]);
  tf.dispose([x, dy, y, dx]);
});

it('names the argument it refuses', async () => {
  await tf.setBackend('cpu');
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  const rank3 = tf.zeros([4, 4, 2]) as unknown as tf.Tensor4D;
  const ints = tf.zeros([1, 4, 4, 2], 'int32') as tf.Tensor4D;
  expect(() => maxPoolRelu(rank3, 2, 2)).toThrow(
    /x must be a float32 NHWC batch of rank 4, got float32 of shape \[4,4,2\]/,
  );
  expect(() => maxPoolRelu(ints, 2, 2)).toThrow(/got int32 of shape \[1,4,4,2\]/);
  expect(() => maxPoolRelu(x, 0, 2)).toThrow(/filterSize must be an integer >= 1.*got 0/);
  expect(() => maxPoolRelu(x, 2, [1.5, 1])).toThrow(/strides must be .*got \[1\.5,1\]/);
  expect(() => maxPoolRelu(x, 5, 1)).toThrow(ValueError);
  expect(() => maxPoolRelu(x, 5, 1)).toThrow(/a 5x5 window does not fit the 4x4 input/);
  tf.dispose([x, rank3, ints]);
});

// 2x2 windows with stride 2 (the fused pass; odd sides leave a row and a column no window
// covers, channel counts on both sides of four SIMD lanes) and other windows (the MaxPool
// and Relu kernels one after the other).
const cases: Array<{ shape: number[]; w: Window }> = [
  { shape: [2, 8, 8, 5], w: [2, 2, 'valid'] },
  { shape: [3, 7, 9, 12], w: [2, 2, 'valid'] },
  { shape: [1, 4, 4, 1], w: [2, 2, 'valid'] },
  { shape: [2, 9, 8, 6], w: [3, 2, 'same'] },
  { shape: [2, 6, 7, 3], w: [[3, 2], 1, 'valid'] },
  { shape: [1, 5, 5, 4], w: [1, 1, 'valid'] },
];

onOneAndTwoThreads('relu(maxPool(x)) on wasm', (threads) => {
  for (const { shape, w } of cases) {
    const n = shape.reduce((p, v) => p * v, 1);
    for (const own of threads === 1 ? [true, false] : [true]) {
      it(`gives relu(maxPool(x)) and its gradient exactly, ${JSON.stringify(w)} windows on [${shape}]${own ? '' : ', own kernels off'}`, async () => {
        expect(tf.getKernel(MAX_POOL_RELU, 'wasm')).toBeDefined();
        expect(tf.getKernel(MAX_POOL_RELU_GRAD, 'wasm')).toBeDefined();
        const gen = new Generator(n + shape[3]);
        const x = poolInput(gen, n);
        const dy = oddValues(gen, n);
        setOwnWasmKernels(own);
        try {
          const [cpu, wasm] = await cpuAndWasm(threads, n > 64, () =>
            fusedAndComposed(x, dy, shape, w),
          );
          const [fused, composed] = wasm;
          expect(fused).toEqual(composed);
          // Where no two windows share a cell, the same values as cpu's but for the sign of
          // zero (wasm's MaxPoolGrad writes dy·0, -0 for a negative dy, where cpu's adds it
          // to +0; overlapping windows add in another order); the stock XNNPACK MaxPool (own
          // kernels off) orders NaN otherwise.
          if (own && w[0] === 2) expect(fused.map(signless)).toEqual(cpu[0].map(signless));
        } finally {
          setOwnWasmKernels(true);
        }
      });
    }
  }
});

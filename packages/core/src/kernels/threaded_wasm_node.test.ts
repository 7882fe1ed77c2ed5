import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError } from './__tests__/compare.js';
import { useThreadedWasm } from './threaded_wasm_node.js';

describe('useThreadedWasm', () => {
  afterAll(() => {
    tf.removeBackend('wasm');
  });

  it('runs tfjs wasm on two threads under Node and matches cpu, our kernels included', async () => {
    const threads = await useThreadedWasm({ threads: 2 });
    expect(threads).toBe(2);
    expect(tf.getBackend()).toBe('wasm');
    const gen = new Generator(5);
    const x = randomInput(gen, [8, 12, 12, 16]);
    const w = randomInput(gen, [3, 3, 16, 24]);
    const results: Float32Array[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      results.push(
        tf.tidy(() => {
          const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
          const wt = tf.tensor4d(w.values, w.shape as [number, number, number, number]);
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')));
          const [dx, dw] = tf.grads(f)([xt, wt]);
          return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
        }),
      );
    }
    expect(relativeError(results[1][0], results[0][0])).toBeLessThan(1e-4);
    expect(relativeError(results[1][1], results[0][1])).toBeLessThan(1e-4);
  });
});

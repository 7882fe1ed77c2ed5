import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError } from '../testing/kernel-compare.js';
import { batchNormGrad } from './batch-norm-grad.js';
import { setOwnWasmKernels } from './own-wasm.js';

const EPS = 1e-5;

/** [dx, dγ, dβ] of Σ w·batchNorm(x) by tfjs's own FusedBatchNorm gradient, as the reference. */
function referenceGrads(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, w: tf.Tensor) {
  const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(a as tf.Tensor4D, mean, variance, b, g, EPS), w));
  };
  return tf.grads(f)([x, gamma, beta]);
}

/** The same gradients from batchNormGrad, given dy = w. */
function fusedGrads(x: tf.Tensor4D, gamma: tf.Tensor1D, w: tf.Tensor) {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const invStd = tf.rsqrt(tf.add(variance, EPS));
  return batchNormGrad(w, x, mean, invStd, gamma);
}

describe('batchNormGrad', () => {
  for (const [backend, own] of [
    ['wasm', true],
    ['wasm', false],
    ['cpu', false],
  ] as const) {
    for (const shape of [
      [4, 5, 5, 3],
      [2, 8, 8, 16],
      [32, 1, 1, 7],
      [3, 4, 4, 21],
    ] as [number, number, number, number][]) {
      it(`equals tfjs's FusedBatchNorm gradient on ${backend}${backend === 'wasm' && !own ? ' (JavaScript loops)' : ''} for x ${shape}`, async () => {
        await tf.setBackend(backend);
        setOwnWasmKernels(own);
        const gen = new Generator(shape[3] * 7 + shape[0]);
        const c = shape[3];
        const [x, w] = [randomInput(gen, shape), randomInput(gen, shape)];
        const [g, b] = [randomInput(gen, [c]), randomInput(gen, [c])];
        const got = tf.tidy(() => {
          const xt = tf.tensor4d(x.values, shape);
          const [ref, fused] = [
            referenceGrads(
              xt,
              tf.tensor1d(g.values),
              tf.tensor1d(b.values),
              tf.tensor(w.values, shape),
            ),
            fusedGrads(xt, tf.tensor1d(g.values), tf.tensor(w.values, shape)),
          ];
          return ref.map((r, i) => [
            r.dataSync() as Float32Array,
            fused[i].dataSync() as Float32Array,
          ]);
        });
        setOwnWasmKernels(true);
        for (const [name, [ref, fused]] of ['dx', 'dgamma', 'dbeta'].map(
          (n, i) => [n, got[i]] as const,
        )) {
          expect(relativeError(fused, ref), `${name} on ${backend}`).toBeLessThan(2e-5);
        }
      });
    }
  }

  it('runs as one kernel on wasm and leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    expect(tf.getKernel('ResnetTsBatchNormGrad', 'wasm')).toBeDefined();
    const x = tf.randomNormal([2, 4, 4, 3]) as tf.Tensor4D;
    const gamma = tf.ones([3]) as tf.Tensor1D;
    const before = tf.memory().numTensors;
    const grads = tf.tidy(() => fusedGrads(x, gamma, tf.onesLike(x)));
    expect(tf.memory().numTensors - before).toBe(3);
    // With dy = 1 everywhere, dβ counts the values per channel and dx and dγ vanish.
    expect(Array.from(await grads[2].data())).toEqual([32, 32, 32]);
    for (const g of [grads[0], grads[1]]) {
      expect(Math.max(...Array.from(await g.data(), Math.abs))).toBeLessThan(1e-5);
    }
    tf.dispose([...grads, x, gamma]);
    expect(tf.memory().numTensors).toBe(before - 2);
  });
});

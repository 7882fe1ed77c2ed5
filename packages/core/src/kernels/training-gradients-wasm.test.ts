import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { type RawInput, randomInput, relativeError } from '../testing/kernel-compare.js';

/**
 * A small residual conv net touching every kernel registered for training: strided and
 * unstrided convolutions (both backprop routes), max-pooling, bias sums and a linear head.
 */
function loss(params: tf.Tensor[], x: tf.Tensor4D, labels: tf.Tensor2D): tf.Scalar {
  const [w1, b1, w2, w3, fc, fcb] = params;
  let h = tf.relu(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1));
  h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
  const skip = h;
  h = tf.relu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same'));
  h = tf.add(tf.conv2d(h as tf.Tensor4D, w3 as tf.Tensor4D, 1, 'same'), skip);
  h = tf.conv2d(h as tf.Tensor4D, w3 as tf.Tensor4D, 2, 'valid');
  const flat = tf.reshape(h, [h.shape[0], -1]);
  const logits = tf.add(tf.matMul(flat, fc), fcb);
  return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
}

async function gradientsOn(backend: string, raw: RawInput[], xRaw: RawInput, labels: number[]) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const params = raw.map((r) => tf.tensor(r.values, r.shape));
    const x = tf.tensor4d(xRaw.values, xRaw.shape as [number, number, number, number]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5) as tf.Tensor2D;
    const grads = tf.grads((...p: tf.Tensor[]) => loss(p, x, y))(params);
    return grads.map((g) => g.dataSync() as Float32Array);
  });
}

describe('training gradients on wasm', () => {
  it('equal the cpu backend for a small residual conv net', async () => {
    const gen = new Generator(42);
    const shapes = [[3, 3, 3, 6], [6], [3, 3, 6, 6], [3, 3, 6, 6], [2 * 2 * 6, 5], [5]];
    const params = shapes.map((s) => randomInput(gen, s));
    const x = randomInput(gen, [3, 10, 10, 3]);
    const labels = [0, 3, 4];
    const want = await gradientsOn('cpu', params, x, labels);
    const got = await gradientsOn('wasm', params, x, labels);
    expect(got).toHaveLength(want.length);
    for (let i = 0; i < want.length; i++) {
      expect(relativeError(got[i], want[i]), `gradient ${i}`).toBeLessThan(1e-4);
    }
  });
});

/**
 * The per-channel mean and variance of a channels-last batch, the statistics of training-mode
 * batch normalisation. tfjs's `moments` computes the variance with three kernels and two
 * full-size temporaries (x - mean, its square, their mean); the wasm backend runs both
 * statistics in two reads of x (batch-moments-wasm.ts), other backends use `moments`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel's name in tfjs's registry. */
export const BATCH_MOMENTS = 'ResnetTsBatchMoments';

/**
 * Mean and biased variance of `x` over every axis but the last, each of shape [channels], as
 * `tf.moments(x, leadingAxes)` computes them. Not differentiable: batch normalisation takes
 * them inside its own gradient (see `batchNormGrad`).
 */
export function batchMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (x.dtype === 'float32' && x.rank >= 2 && tf.getKernel(BATCH_MOMENTS, tf.getBackend())) {
    const [mean, variance] = tf.engine().runKernel(BATCH_MOMENTS, { x }, {}) as tf.Tensor1D[];
    return { mean, variance };
  }
  return tf.tidy(() => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

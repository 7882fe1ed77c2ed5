/**
 * The backward pass of training-mode batch normalisation in one kernel. tfjs-core's gradient
 * of FusedBatchNorm assembles it from about twenty small kernels (tiles, reshapes,
 * broadcasts, several reductions); with the batch statistics it needs only two passes over
 * the data, per channel c over the N·H·W values:
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ·σ⁻¹·(dy − dβ/n − x̂·dγ/n),   x̂ = (x − μ)·σ⁻¹.
 * The wasm backend runs it on its heap; other backends compose it from a few ops.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel's name in tfjs's registry. */
export const BATCH_NORM_GRAD = 'ResnetTsBatchNormGrad';

/**
 * Gradients of y = γ·(x − μ)·σ⁻¹ + β where μ and σ are x's own per-channel batch statistics
 * (channels last), with respect to x, γ and β. `invStd` is 1/√(var + eps).
 */
export function batchNormGrad(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  invStd: tf.Tensor,
  scale: tf.Tensor,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel(BATCH_NORM_GRAD, tf.getBackend()) != null) {
    return tf.engine().runKernel(BATCH_NORM_GRAD, { dy, x, mean, invStd, scale }, {}) as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  }
  return tf.tidy(() => {
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const n = x.size / x.shape[x.rank - 1];
    const xHat = tf.mul(tf.sub(x, mean), invStd);
    const dOffset = tf.sum(dy, axes);
    const dScale = tf.sum(tf.mul(dy, xHat), axes);
    const centred = tf.sub(tf.sub(dy, tf.div(dOffset, n)), tf.mul(xHat, tf.div(dScale, n)));
    const dx = tf.mul(centred, tf.mul(scale, invStd));
    return [dx, dScale, dOffset] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

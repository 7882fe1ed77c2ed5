/**
 * The backward pass of training-mode batch normalisation in one kernel. tfjs-core's gradient
 * of FusedBatchNorm assembles it from about twenty small kernels (tiles, reshapes,
 * broadcasts, several reductions); with the batch statistics it needs only two passes over
 * the data, per channel c over the N·H·W values:
 *   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ·σ⁻¹·(dy − dβ/n − x̂·dγ/n),   x̂ = (x − μ)·σ⁻¹.
 * The wasm backend runs it on its heap; other backends compose it from a few ops.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { alloc, heapF32 } from './wasm_util.js';

/** The kernel's name in tfjs's registry. */
export const BATCH_NORM_GRAD = 'ResnetTsBatchNormGrad';

interface BatchNormGradInputs {
  dy: TensorInfo;
  x: TensorInfo;
  mean: TensorInfo;
  invStd: TensorInfo;
  scale: TensorInfo;
}

/** The wasm kernel: [dx, dScale, dOffset] in two sequential passes with channels innermost. */
export function batchNormGradWasm(args: {
  inputs: BatchNormGradInputs;
  backend: BackendWasm;
}): TensorInfo[] {
  const { inputs, backend } = args;
  const { dy, x, mean, invStd, scale } = inputs;
  const channels = x.shape[x.shape.length - 1];
  const size = tf.util.sizeFromShape(x.shape);
  const rows = size / channels;
  const dx = alloc(backend, x.shape);
  const dScale = alloc(backend, [channels]);
  const dOffset = alloc(backend, [channels]);
  const [heap, dxAt] = heapF32(backend, dx);
  const at = (t: TensorInfo) => heapF32(backend, t)[1];
  const [dyAt, xAt, meanAt, invAt, scaleAt] = [dy, x, mean, invStd, scale].map(at);
  const sumDy = new Float64Array(channels);
  const sumDyXmu = new Float64Array(channels);
  const mu = heap.slice(meanAt, meanAt + channels);
  for (let r = 0, p = 0; r < rows; r++, p += channels) {
    for (let c = 0; c < channels; c++) {
      const d = heap[dyAt + p + c];
      sumDy[c] += d;
      sumDyXmu[c] += d * (heap[xAt + p + c] - mu[c]);
    }
  }
  const a = new Float32Array(channels);
  const b = new Float32Array(channels);
  const g = new Float32Array(channels);
  const dScaleAt = at(dScale);
  const dOffsetAt = at(dOffset);
  for (let c = 0; c < channels; c++) {
    const inv = heap[invAt + c];
    a[c] = heap[scaleAt + c] * inv;
    b[c] = sumDy[c] / rows;
    g[c] = (inv * inv * sumDyXmu[c]) / rows;
    heap[dScaleAt + c] = sumDyXmu[c] * inv;
    heap[dOffsetAt + c] = sumDy[c];
  }
  for (let r = 0, p = 0; r < rows; r++, p += channels) {
    for (let c = 0; c < channels; c++) {
      const i = p + c;
      heap[dxAt + i] = a[c] * (heap[dyAt + i] - b[c] - (heap[xAt + i] - mu[c]) * g[c]);
    }
  }
  return [dx, dScale, dOffset];
}

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

/**
 * The wasm kernel of `batchNormGrad`: both passes run over the backend's heap, with the
 * channels innermost where NHWC keeps them contiguous.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

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
  const own = ownWasmKernels(backend);
  if (own && channels > 0 && rows > 0) {
    return ownPasses(own, backend, inputs, dx, dScale, dOffset, rows, channels);
  }
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

/** The same two passes in resnet-ts's own wasm kernels; per-channel factors in between. */
function ownPasses(
  own: NonNullable<ReturnType<typeof ownWasmKernels>>,
  backend: BackendWasm,
  inputs: BatchNormGradInputs,
  dx: TensorInfo,
  dScale: TensorInfo,
  dOffset: TensorInfo,
  rows: number,
  channels: number,
): TensorInfo[] {
  const { dy, x, mean, invStd, scale } = inputs;
  // Two sets of float64 accumulators, then a, b and g (float32) per channel.
  const sums = own.accumulatorBytes(channels) / 4;
  const scratch = alloc(backend, [2 * sums + 3 * channels]);
  const [heap, s] = heapF32(backend, scratch);
  const at = (t: TensorInfo) => heapF32(backend, t)[1];
  const [dyAt, xAt, meanAt, invAt, scaleAt, dxAt] = [dy, x, mean, invStd, scale, dx].map(at);
  heap.fill(0, s, s + 2 * sums);
  own.bnGradSums(dyAt, xAt, meanAt, s * 4, (s + sums) * 4, rows, channels);
  const sumDy = new Float64Array(heap.buffer, heap.byteOffset + s * 4, channels);
  const sumDyXmu = new Float64Array(heap.buffer, heap.byteOffset + (s + sums) * 4, channels);
  const [aAt, bAt, gAt] = [0, 1, 2].map((i) => s + 2 * sums + i * channels);
  const dScaleAt = at(dScale);
  const dOffsetAt = at(dOffset);
  for (let c = 0; c < channels; c++) {
    const inv = heap[invAt + c];
    heap[aAt + c] = heap[scaleAt + c] * inv;
    heap[bAt + c] = sumDy[c] / rows;
    heap[gAt + c] = (inv * inv * sumDyXmu[c]) / rows;
    heap[dScaleAt + c] = sumDyXmu[c] * inv;
    heap[dOffsetAt + c] = sumDy[c];
  }
  own.bnGradDx(dyAt, xAt, meanAt, aAt, bAt, gAt, dxAt, rows, channels);
  release(backend, scratch);
  return [dx, dScale, dOffset];
}

/**
 * FusedBatchNorm (the normalisation y = (x - mean) * scale / sqrt(variance + epsilon) +
 * offset) on wasm for float32 inputs whose statistics are per-channel vectors, as training's
 * batch norm hands it: one pass in resnet-ts's own SIMD kernel, split over its threads. The
 * stock kernel indexes every operand per element and runs on one thread (35 ms of a
 * ResNet-18 step's [32, 32, 32, 64] layer); other cases go to it.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  FusedBatchNorm,
  type FusedBatchNormAttrs,
  type FusedBatchNormInputs,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, run } from './wasm-util.js';

/** Whether `t` is absent or a float32 vector of `ch` values broadcast over the last axis. */
export function isChannelVector(t: TensorInfo | null | undefined, ch: number): boolean {
  if (t == null) return true;
  const rank = t.shape.length;
  return (
    t.dtype === 'float32' &&
    rank >= 1 &&
    t.shape[rank - 1] === ch &&
    t.shape.every((d, i) => i === rank - 1 || d === 1)
  );
}

/** The wasm FusedBatchNorm kernel. */
export function fusedBatchNormWasm(args: {
  inputs: FusedBatchNormInputs;
  backend: BackendWasm;
  attrs: FusedBatchNormAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs as Record<string, TensorInfo | undefined>;
  const rank = x!.shape.length;
  const ch = rank > 0 ? x!.shape[rank - 1] : 0;
  const own = ownWasmKernels(backend);
  if (
    own == null ||
    x!.dtype !== 'float32' ||
    ch === 0 ||
    ![mean, variance, offset, scale].every(
      (t) => isChannelVector(t, ch) && (t == null || t.shape.length <= rank),
    )
  ) {
    // The stock kernel reads a missing epsilon as NaN; tfjs's default is the cpu kernel's.
    const varianceEpsilon = attrs.varianceEpsilon ?? 0.001;
    return run(backend, FusedBatchNorm, inputs as Record<string, TensorInfo>, { varianceEpsilon });
  }
  const size = util.sizeFromShape(x!.shape);
  const y = alloc(backend, x!.shape);
  if (size === 0) return y;
  // The per-channel factor, then the offset where none is given.
  const factors = alloc(backend, [2 * ch]);
  const [heap, aAt] = heapF32(backend, factors);
  const at = (t: TensorInfo) => heapF32(backend, t)[1];
  const epsilon = attrs.varianceEpsilon ?? 0.001;
  const varAt = at(variance!);
  const scaleAt = scale == null ? -1 : at(scale);
  for (let c = 0; c < ch; c++) {
    const s = scaleAt < 0 ? 1 : heap[scaleAt + c];
    heap[aAt + c] = s / Math.sqrt(heap[varAt + c] + epsilon);
  }
  let offsetAt = aAt + ch;
  if (offset == null) heap.fill(0, offsetAt, offsetAt + ch);
  else offsetAt = at(offset);
  own.batchNorm(at(x!), at(mean!), aAt, offsetAt, at(y), size / ch, ch);
  release(backend, factors);
  return y;
}

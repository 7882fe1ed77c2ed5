/**
 * BatchMatMul for the wasm backend. Plain float32 products run on resnet-ts's own GEMM
 * (gemm-wasm.ts), which is faster than XNNPACK as tfjs calls it and handles batches, where
 * the stock kernel falls to a scalar loop. Transposed operands are transposed explicitly
 * first: XNNPACK's transposed forms run at 1-2 GFLOP/s, and tfjs's matMul gradient always
 * asks for one. Other dtypes and batch broadcasts the own path does not cover go to the
 * stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  type BatchMatMulAttrs,
  type BatchMatMulInputs,
  backend_util,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { ownBatchMatMul } from './gemm-wasm.js';
import { release, run, transposeBatched, view } from './wasm-util.js';

function swapLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2];
  const cols = x.shape[rank - 1];
  const count = util.sizeFromShape(x.shape) / Math.max(1, rows * cols);
  const shape = [...x.shape.slice(0, -2), cols, rows];
  if (x.dtype !== 'float32' || rows * cols === 0) {
    const perm = x.shape.map((_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return run(backend, 'Transpose', { x }, { perm });
  }
  return view(transposeBatched(backend, x, count, rows, cols, false), shape);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** a [..., m, k] times b [..., k, n] on the own GEMM, or null where it does not apply. */
function ownPlain(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(outerA);
  const batchB = util.sizeFromShape(outerB);
  // Only equal batch shapes or a single matrix on one side: other broadcasts keep the stock
  // kernel's behaviour.
  if (!sameShape(outerA, outerB) && batchA !== 1 && batchB !== 1) return null;
  const outer = backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const count = Math.max(batchA, batchB);
  if (batchA === 1 && batchB > 1) {
    // One a against many b: a batch of b^T a^T would need transposes; run the products one
    // by one with a fixed a instead.
    const out = ownBatchMatMul(backend, a, b, count, m, k, n, k * n, 0);
    return out == null ? null : view(out, [...outer, m, n]);
  }
  const out = ownBatchMatMul(backend, a, b, count, m, k, n, batchB === 1 ? 0 : k * n);
  return out == null ? null : view(out, [...outer, m, n]);
}

export function batchMatMulWasm(args: {
  inputs: BatchMatMulInputs;
  backend: BackendWasm;
  attrs: BatchMatMulAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { transposeA, transposeB } = attrs;
  const a2 = transposeA ? swapLastTwo(backend, a) : a;
  const b2 = transposeB ? swapLastTwo(backend, b) : b;
  const out =
    ownPlain(backend, a2, b2) ??
    run(backend, 'BatchMatMul', { a: a2, b: b2 }, { transposeA: false, transposeB: false });
  if (transposeA) release(backend, a2);
  if (transposeB) release(backend, b2);
  return out;
}

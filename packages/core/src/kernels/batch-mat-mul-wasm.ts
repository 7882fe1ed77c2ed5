/**
 * BatchMatMul for the wasm backend with transposed operands: XNNPACK's transposed forms run
 * at 1-2 GFLOP/s against ~25 for the plain one, and tfjs's matMul gradient always asks for
 * a transposed form, so the operand is transposed explicitly first. The plain form goes
 * straight to the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { BatchMatMulAttrs, BatchMatMulInputs, TensorInfo } from '@tensorflow/tfjs-core';
import { release, run } from './wasm-util.js';

function swapLastTwo(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const rank = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return run(backend, 'Transpose', { x }, { perm });
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
  if (!transposeA && !transposeB) return run(backend, 'BatchMatMul', { a, b }, attrs as never);
  const a2 = transposeA ? swapLastTwo(backend, a) : a;
  const b2 = transposeB ? swapLastTwo(backend, b) : b;
  const out = run(
    backend,
    'BatchMatMul',
    { a: a2, b: b2 },
    { transposeA: false, transposeB: false },
  );
  if (transposeA) release(backend, a2);
  if (transposeB) release(backend, b2);
  return out;
}

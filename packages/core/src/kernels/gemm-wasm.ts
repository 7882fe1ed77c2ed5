/**
 * Matrix products on the wasm backend by resnet-ts's own GEMM (wasm/gemm.c): 55-60 GFLOP per
 * CPU-second on the convolution gradients' shapes against XNNPACK's 44-45 as tfjs-backend-wasm
 * 4.22 calls it, with the same summation order (results equal XNNPACK's bit for bit on the
 * shapes measured), and 2x on the long, thin products of a first layer's filter gradient.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { type OwnWasmKernels, ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

/** Columns per packed panel of the right operand (gemm.c's NR). */
const PANEL = 8;

/** Floats the packed form of a [k, n] right operand takes. */
export function packedSize(k: number, n: number): number {
  return Math.ceil(n / PANEL) * PANEL * k;
}

/**
 * Multiplies `count` pairs a_i [m, k] times b_i [k, n] lying back to back in `a` and `b`
 * into a new [count, m, n] tensor; `bStride` 0 uses the one b for every a. Null where the
 * own kernels cannot run here (the caller then uses the backend's product).
 */
export function ownBatchMatMul(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  count: number,
  m: number,
  k: number,
  n: number,
  bStride: number,
  aStride = m * k,
): TensorInfo | null {
  const own = ownWasmKernels(backend);
  if (own == null) return null;
  const out = alloc(backend, [count, m, n]);
  if (m === 0 || n === 0 || count === 0) return out;
  const packed = alloc(backend, [packedSize(k, n)]);
  const [, aOff] = heapF32(backend, a);
  const [, bOff] = heapF32(backend, b);
  const [, pOff] = heapF32(backend, packed);
  const [heap, cOff] = heapF32(backend, out);
  if (k === 0) heap.fill(0, cOff, cOff + count * m * n);
  else {
    for (let i = 0; i < count; i++) {
      if (i === 0 || bStride !== 0) packB(own, bOff + i * bStride, k, n, pOff);
      own.gemmRows(aOff + i * aStride, k, pOff, cOff + i * m * n, n, 0, m, n, k, false);
    }
  }
  release(backend, packed);
  return out;
}

/**
 * c [m, n] = a [m, k] times b [k, n] (element offsets into the heap), or c += that product
 * where `accumulate`, on the own GEMM split over the own kernels' threads; b is packed into a
 * scratch tensor first. False where the own kernels cannot run here.
 */
export function ownMatMulInto(
  backend: BackendWasm,
  aOff: number,
  bOff: number,
  cOff: number,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): boolean {
  const own = ownWasmKernels(backend);
  if (own == null) return false;
  if (m === 0 || n === 0) return true;
  const packed = alloc(backend, [packedSize(k, n)]);
  const [heap, pOff] = heapF32(backend, packed);
  if (k === 0) {
    if (!accumulate) heap.fill(0, cOff, cOff + m * n);
  } else {
    packB(own, bOff, k, n, pOff);
    own.gemmRows(aOff, k, pOff, cOff, n, 0, m, n, k, accumulate);
  }
  release(backend, packed);
  return true;
}

function packB(own: OwnWasmKernels, bOff: number, k: number, n: number, pOff: number): void {
  own.gemmPackB(bOff, n, k, n, pOff, 0, Math.ceil(n / PANEL));
}

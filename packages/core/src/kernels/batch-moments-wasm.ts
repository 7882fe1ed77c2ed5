/**
 * The batch statistics of batch-moments.ts on the wasm backend: per channel, the sum of x
 * and then the sum of (x - mean)^2, each in one read of x with float64 accumulators (the
 * own kernels' `sumRows` and `sumSquaredDeviations`, split over their threads). The
 * difference and its square are float32, as in tfjs's Sub and Square, so the results are
 * those of `moments` on this backend.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type TensorInfo, util } from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

export function batchMomentsWasm(args: {
  inputs: { x?: TensorInfo };
  backend: BackendWasm;
}): TensorInfo[] {
  const { backend } = args;
  const x = args.inputs.x as TensorInfo;
  const ch = x.shape[x.shape.length - 1];
  const rows = ch === 0 ? 0 : util.sizeFromShape(x.shape) / ch;
  const mean = alloc(backend, [ch]);
  const variance = alloc(backend, [ch]);
  if (ch === 0) return [mean, variance];
  const scale = 1 / rows;
  const own = ownWasmKernels(backend);
  if (own) {
    const floats = own.accumulatorBytes(ch) / 4;
    const scratch = alloc(backend, [floats]);
    const [heap, sOff] = heapF32(backend, scratch);
    const [, xOff] = heapF32(backend, x);
    const [, mOff] = heapF32(backend, mean);
    const [, vOff] = heapF32(backend, variance);
    const acc = new Float64Array(heap.buffer, heap.byteOffset + sOff * 4, ch);
    heap.fill(0, sOff, sOff + floats);
    own.sumRows(xOff, sOff * 4, rows, ch);
    for (let c = 0; c < ch; c++) heap[mOff + c] = acc[c] * scale;
    heap.fill(0, sOff, sOff + floats);
    own.sumSquaredDeviations(xOff, mOff, sOff * 4, rows, ch);
    for (let c = 0; c < ch; c++) heap[vOff + c] = acc[c] * scale;
    release(backend, scratch);
    return [mean, variance];
  }
  const [heap, xOff] = heapF32(backend, x);
  const [, mOff] = heapF32(backend, mean);
  const [, vOff] = heapF32(backend, variance);
  const acc = new Float64Array(ch);
  for (let r = 0, p = xOff; r < rows; r++, p += ch) {
    for (let c = 0; c < ch; c++) acc[c] += heap[p + c];
  }
  for (let c = 0; c < ch; c++) heap[mOff + c] = acc[c] * scale;
  acc.fill(0);
  const d = new Float32Array(1);
  for (let r = 0, p = xOff; r < rows; r++, p += ch) {
    for (let c = 0; c < ch; c++) {
      d[0] = heap[p + c] - heap[mOff + c];
      d[0] = d[0] * d[0];
      acc[c] += d[0];
    }
  }
  for (let c = 0; c < ch; c++) heap[vOff + c] = acc[c] * scale;
  return [mean, variance];
}

/**
 * Conv2DBackpropFilter of a 3x3, stride-1 convolution on wasm by F(2x2, 3x3) transposed:
 * dW = G^T [sum over tiles of (A dy A^T) * (B^T x B)] G, each 2x2 dy tile against the 4x4
 * input tile its forward convolution read (wasm/winograd.c). The sum over tiles is 16 matrix
 * products [inC, tiles] x [tiles, outC] (winograd.c's own kernel, which reads both operands
 * in place, the products split over the own kernels' threads), 2.25x fewer multiplications than the patch-matrix
 * product of conv2d-backprop-filter-wasm.ts, which calls this first (see
 * {@link winogradBackpropFilterApplies} for where).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmThreads, winogradApplies } from './conv2d-winograd-wasm.js';
import { ownWasmExports, ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, view } from './wasm-util.js';

interface FilterGradExports {
  wino_filter_grad_f23(sTable: number, dw: number, inC: number, outC: number): void;
}

let enabled = true;

/** Turns the Winograd filter gradient on (the default) or off; for tests and benchmarks. */
export function setWinogradBackpropFilter(on: boolean): void {
  enabled = on;
}

/**
 * Whether the filter gradient of the convolution `info` is computed by Winograd on
 * `threads` threads.
 */
export function winogradBackpropFilterApplies(info: backend_util.Conv2DInfo, threads = 1): boolean {
  return enabled && winogradApplies(info, threads);
}

function byteOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset as number;
}

/**
 * dW [3, 3, inC, outC] of the convolution `info` from x and dy by Winograd, or null where
 * it does not apply (see {@link winogradBackpropFilterApplies}) or the own wasm module
 * cannot run here.
 */
export function winogradBackpropFilter(
  backend: BackendWasm,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo | null {
  const threads = wasmThreads(backend);
  if (!winogradBackpropFilterApplies(info, threads)) return null;
  const e = ownWasmExports(backend) as unknown as FilterGradExports | null;
  const kernels = ownWasmKernels(backend);
  if (e == null || kernels == null) return null;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const tilesH = Math.ceil(oh / 2);
  const tilesW = Math.ceil(ow / 2);
  const tiles = n * tilesH * tilesW;
  const perImage = tilesH * tilesW * 16 * Math.max(ci, co);
  const zeros = alloc(backend, [Math.max(ci, co)]);
  const v = alloc(backend, [16, tiles, ci]);
  const eT = alloc(backend, [16, tiles, co]);
  const table = alloc(backend, [16], 'int32');
  const dw = alloc(backend, [3, 3, ci, co]);
  const [heap, zOff] = heapF32(backend, zeros);
  heap.fill(0, zOff, zOff + Math.max(ci, co));
  kernels.byImages('wino_input_f23', n, perImage, [
    byteOffset(backend, x),
    byteOffset(backend, v),
    zOff * 4,
    n,
    h,
    w,
    ci,
    tilesH,
    tilesW,
    info.padInfo.top,
    info.padInfo.left,
  ]);
  kernels.byImages('wino_dy_f23', n, perImage, [
    byteOffset(backend, dy),
    byteOffset(backend, eT),
    zOff * 4,
    n,
    oh,
    ow,
    co,
    tilesH,
    tilesW,
  ]);
  const products: TensorInfo[] = [];
  const offsets: number[] = [];
  const s = alloc(backend, [16, ci, co]);
  const [, vOff] = heapF32(backend, v);
  const [, eOff] = heapF32(backend, eT);
  const [, sOff] = heapF32(backend, s);
  kernels.gemmTnBatched(vOff, eOff, sOff, 16, tiles, ci, co);
  products.push(s);
  for (let k = 0; k < 16; k++) offsets.push(byteOffset(backend, s) + 4 * k * ci * co);
  release(backend, v);
  const tOff = byteOffset(backend, table);
  const [heapAfter] = heapF32(backend, table);
  new Int32Array(heapAfter.buffer, tOff, 16).set(offsets);
  e.wino_filter_grad_f23(tOff, byteOffset(backend, dw), ci, co);
  for (const t of [zeros, eT, table, ...products]) release(backend, t);
  return view(dw, [3, 3, ci, co]);
}

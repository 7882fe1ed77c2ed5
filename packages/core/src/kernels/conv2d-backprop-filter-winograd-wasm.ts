/**
 * Conv2DBackpropFilter of a 3x3, stride-1 convolution on wasm by F(2x2, 3x3) transposed:
 * dW = G^T [sum over tiles of (A dy A^T) * (B^T x B)] G, each 2x2 dy tile against the 4x4
 * input tile its forward convolution read (wasm/winograd.c). The sum over tiles is 16 matrix
 * products [inC, tiles] x [tiles, outC] (on one thread by winograd.c's own kernel, on
 * threads by the own packed GEMM split over them), 2.25x fewer multiplications than the patch-matrix
 * product of conv2d-backprop-filter-wasm.ts, which calls this first (see
 * {@link winogradBackpropFilterApplies} for where).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmThreads, winogradApplies } from './conv2d-winograd-wasm.js';
import { ownWasmExports, ownWasmKernels } from './own-wasm.js';
import { alloc, borrow, heapF32, matMulNN, release, unborrow, view } from './wasm-util.js';

interface FilterGradExports {
  transpose_batched(src: number, dst: number, batches: number, rows: number, cols: number): void;
  gemm_tn_batched(
    v: number,
    e: number,
    s: number,
    count: number,
    rows: number,
    inC: number,
    outC: number,
  ): void;
  wino_filter_grad_f23(sTable: number, dw: number, inC: number, outC: number): void;
}

let enabled = true;

/** Turns the Winograd filter gradient on (the default) or off; for tests and benchmarks. */
export function setWinogradBackpropFilter(on: boolean): void {
  enabled = on;
}

/**
 * On threads, the products [inC, tiles] x [tiles, outC] run on the own packed GEMM (split by
 * rows over the own kernels' threads) after a transpose over all tiles, which thin products
 * do not pay for: below 32 channels the patch-matrix product wins (tools/bench/profile.mjs,
 * CPU time: VanResNet's 32->64 layer 18.7 ms by patches, 14.6 ms by Winograd; ResNet-18's
 * 64- and 128-channel layers level or better). On one thread the products run in
 * wasm/winograd.c's own kernel instead, which reads both operands in place, and Winograd's
 * forward bounds apply.
 */
const MIN_THREADED_CHANNELS = 32;

/**
 * Whether the filter gradient of the convolution `info` is computed by Winograd on
 * `threads` threads.
 */
export function winogradBackpropFilterApplies(info: backend_util.Conv2DInfo, threads = 1): boolean {
  return (
    enabled &&
    winogradApplies(info, threads) &&
    (threads <= 1 ||
      (info.inChannels >= MIN_THREADED_CHANNELS && info.outChannels >= MIN_THREADED_CHANNELS))
  );
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
  if (threads <= 1) {
    const s = alloc(backend, [16, ci, co]);
    e.gemm_tn_batched(
      byteOffset(backend, v),
      byteOffset(backend, eT),
      byteOffset(backend, s),
      16,
      tiles,
      ci,
      co,
    );
    products.push(s);
    for (let k = 0; k < 16; k++) offsets.push(byteOffset(backend, s) + 4 * k * ci * co);
  } else {
    // The own GEMM multiplies plain operands: transpose V first.
    const vT = alloc(backend, [16, ci, tiles]);
    e.transpose_batched(byteOffset(backend, v), byteOffset(backend, vT), 16, tiles, ci);
    for (let k = 0; k < 16; k++) {
      const a = borrow(backend, vT, k * ci * tiles, [ci, tiles]);
      const b = borrow(backend, eT, k * tiles * co, [tiles, co]);
      const p = matMulNN(backend, a, b, ci, tiles, co);
      unborrow(backend, a);
      unborrow(backend, b);
      products.push(p);
      offsets.push(byteOffset(backend, p));
    }
    release(backend, vT);
  }
  release(backend, v);
  const tOff = byteOffset(backend, table);
  const [heapAfter] = heapF32(backend, table);
  new Int32Array(heapAfter.buffer, tOff, 16).set(offsets);
  e.wino_filter_grad_f23(tOff, byteOffset(backend, dw), ci, co);
  for (const t of [zeros, eT, table, ...products]) release(backend, t);
  return view(dw, [3, 3, ci, co]);
}

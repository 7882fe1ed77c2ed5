/**
 * Conv2DBackpropFilter of a 3x3, stride-1 convolution on wasm by Winograd transposed:
 * dW = G^T [sum over tiles of (A dy A^T) * (B^T x B)] G, each m x m dy tile against the
 * (m + 2) x (m + 2) input tile its forward convolution read (wasm/winograd.c), m = 2 or 4.
 * The sum over tiles is (m + 2)^2 matrix products [inC, tiles] x [tiles, outC] (winograd.c's
 * own kernel, which reads both operands in place, the products split over the own kernels'
 * threads): against the patch-matrix product of conv2d-backprop-filter-wasm.ts, which calls
 * this first (see {@link winogradBackpropFilterApplies} for where), 2.25x fewer
 * multiplications for F(2x2, 3x3) and 4x fewer for F(4x4, 3x3).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import {
  planeStride,
  transformInput,
  type WinogradTile,
  wasmThreads,
  winogradApplies,
} from './conv2d-winograd-wasm.js';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, byteOffset, heapF32, release, view } from './wasm-util.js';

let enabled = true;
let forcedTile: WinogradTile | undefined;

/**
 * Turns the Winograd filter gradient on (the default) or off, and forces its dy tile (2 or
 * 4; by default chosen per convolution, {@link backpropFilterTile}); for tests and
 * benchmarks.
 */
export function setWinogradBackpropFilter(on: boolean, tile?: WinogradTile): void {
  enabled = on;
  forcedTile = tile;
}

/**
 * The dy tile of the filter gradient of `info`: 4 where F(4x4, 3x3)'s 36 products per tile
 * are fewer than F(2x2, 3x3)'s 16 per tile over the same map by a margin (odd or small maps
 * waste much of a 4x4 tile), else 2.
 */
export function backpropFilterTile(info: backend_util.Conv2DInfo): WinogradTile {
  if (forcedTile != null) return forcedTile;
  const tiles4 = Math.ceil(info.outHeight / 4) * Math.ceil(info.outWidth / 4);
  const tiles2 = Math.ceil(info.outHeight / 2) * Math.ceil(info.outWidth / 2);
  return 36 * tiles4 <= 0.6 * 16 * tiles2 ? 4 : 2;
}

/**
 * Whether the filter gradient of the convolution `info` is computed by Winograd on
 * `threads` threads.
 */
export function winogradBackpropFilterApplies(info: backend_util.Conv2DInfo, threads = 1): boolean {
  return enabled && winogradApplies(info, threads);
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
  const kernels = ownWasmKernels(backend);
  if (kernels == null) return null;
  const { batchSize: n, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const m = backpropFilterTile(info);
  const count = (m + 2) ** 2;
  const tilesH = Math.ceil(oh / m);
  const tilesW = Math.ceil(ow / m);
  const tiles = n * tilesH * tilesW;
  const perImage = tilesH * tilesW * count * Math.max(ci, co);
  const zeros = alloc(backend, [Math.max(ci, co)]);
  const vStride = planeStride(tiles, ci);
  const eStride = planeStride(tiles, co);
  const v = alloc(backend, [count * vStride]);
  const eT = alloc(backend, [count * eStride]);
  const dw = alloc(backend, [3, 3, ci, co]);
  const [heap, zOff] = heapF32(backend, zeros);
  heap.fill(0, zOff, zOff + Math.max(ci, co));
  transformInput(backend, m, x, 0, n, v, vStride, zOff, info, tilesH, tilesW);
  kernels.byImages(m === 4 ? 'wino_dy_f43' : 'wino_dy_f23', n, perImage, [
    byteOffset(backend, dy),
    byteOffset(backend, eT),
    zOff * 4,
    n,
    oh,
    ow,
    co,
    tilesH,
    tilesW,
    eStride,
  ]);
  const s = alloc(backend, [count, ci, co]);
  const [, vOff] = heapF32(backend, v);
  const [, eOff] = heapF32(backend, eT);
  const [, sOff] = heapF32(backend, s);
  kernels.gemmTnBatched(vOff, vStride, eOff, eStride, sOff, count, tiles, ci, co);
  release(backend, v);
  release(backend, eT);
  // The final transform reads all the products and writes dW: split by input channels.
  const perChannel = (count + 9) * co;
  if (m === 4) {
    kernels.byImages('wino_filter_grad_f43', ci, perChannel, [
      byteOffset(backend, s),
      byteOffset(backend, dw),
      ci,
      co,
    ]);
  } else {
    const table = alloc(backend, [16], 'int32');
    const tOff = byteOffset(backend, table);
    const [heapAfter] = heapF32(backend, table);
    new Int32Array(heapAfter.buffer, tOff, 16).set(
      Array.from({ length: 16 }, (_, k) => byteOffset(backend, s) + 4 * k * ci * co),
    );
    kernels.byImages('wino_filter_grad_f23', ci, perChannel, [
      tOff,
      byteOffset(backend, dw),
      ci,
      co,
    ]);
    release(backend, table);
  }
  release(backend, zeros);
  release(backend, s);
  return view(dw, [3, 3, ci, co]);
}

/**
 * Conv2DBackpropFilter of a 3x3, stride-1 convolution on wasm by F(2x2, 3x3) transposed:
 * dW = G^T [sum over tiles of (A dy A^T) * (B^T x B)] G, each 2x2 dy tile against the 4x4
 * input tile its forward convolution read (wasm/winograd.c). The sum over tiles is 16 matrix
 * products [inC, tiles] x [tiles, outC] on XNNPACK, 2.25x fewer multiplications than the
 * patch-matrix product of conv2d-backprop-filter-wasm.ts, which calls this first. Wide
 * layers only (see {@link winogradBackpropFilterApplies}).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmThreads, winogradApplies } from './conv2d-winograd-wasm.js';
import { ownWasmExports, ownWasmKernels } from './own-wasm.js';
import { alloc, borrow, heapF32, matMulNN, release, unborrow, view } from './wasm-util.js';

interface FilterGradExports {
  transpose_batched(src: number, dst: number, batches: number, rows: number, cols: number): void;
  wino_filter_grad_f23(sTable: number, dw: number, inC: number, outC: number): void;
}

let enabled = true;

/** Turns the Winograd filter gradient on (the default) or off; for tests and benchmarks. */
export function setWinogradBackpropFilter(on: boolean): void {
  enabled = on;
}

/**
 * Below 32 channels the products [inC, tiles] x [tiles, outC] are too thin for the saved
 * multiplications to pay for the transforms and the transpose over all tiles, and the
 * patch-matrix product, which works a few images at a time in cache, wins. With the products
 * on resnet-ts's own GEMM (tools/bench/profile.mjs, one thread, CPU time): VanResNet's
 * 32->64 layer 18.7 ms by patches, 14.6 ms by Winograd; ResNet-18's 64- and 128-channel
 * layers level or better (with XNNPACK's products, 0.8x at 64 channels).
 */
const MIN_CHANNELS = 32;

/**
 * Whether the filter gradient of the convolution `info` is computed by Winograd, with
 * XNNPACK on `threads` threads.
 */
export function winogradBackpropFilterApplies(info: backend_util.Conv2DInfo, threads = 1): boolean {
  return (
    enabled &&
    winogradApplies(info, threads) &&
    info.inChannels >= MIN_CHANNELS &&
    info.outChannels >= MIN_CHANNELS
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
  if (!winogradBackpropFilterApplies(info, wasmThreads(backend))) return null;
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
  const vT = alloc(backend, [16, ci, tiles]);
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
  e.transpose_batched(byteOffset(backend, v), byteOffset(backend, vT), 16, tiles, ci);
  release(backend, v);
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
  for (let k = 0; k < 16; k++) {
    const a = borrow(backend, vT, k * ci * tiles, [ci, tiles]);
    const b = borrow(backend, eT, k * tiles * co, [tiles, co]);
    products.push(matMulNN(backend, a, b, ci, tiles, co));
    unborrow(backend, a);
    unborrow(backend, b);
  }
  const tOff = byteOffset(backend, table);
  const [heapAfter] = heapF32(backend, table);
  new Int32Array(heapAfter.buffer, tOff, 16).set(products.map((p) => byteOffset(backend, p)));
  e.wino_filter_grad_f23(tOff, byteOffset(backend, dw), ci, co);
  for (const t of [zeros, vT, eT, table, ...products]) release(backend, t);
  return view(dw, [3, 3, ci, co]);
}

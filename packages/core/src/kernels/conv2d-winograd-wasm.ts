/**
 * Conv2D and FusedConv2D for the wasm backend by Winograd's F(2x2, 3x3) or F(4x4, 3x3) for
 * 3x3, stride-1, undilated NHWC convolutions. XNNPACK's 128-bit SIMD convolution already runs
 * near this core's 128-bit peak, so the only way to go faster is fewer multiplications: per
 * 2x2 output tile F(2x2, 3x3) needs 16 products per channel pair instead of 36, per 4x4 tile
 * F(4x4, 3x3) 36 instead of 144. The input and filter are transformed (wasm/winograd.c), the
 * 16 (or 36) products [tiles, inC] x [inC, outC] run on resnet-ts's own GEMM (wasm/gemm.c),
 * and the transforms and products are split over the own kernels' threads; the output
 * transform adds the bias and ReLU. Every other convolution, and the small channel counts
 * where the transforms cost more than they save, go to the own implicit-GEMM convolution
 * (conv2d-wasm.ts) or the stock kernels.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type Conv2DAttrs,
  type Conv2DInputs,
  type FusedConv2DAttrs,
  type FusedConv2DInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ownConv2D } from './conv2d-wasm.js';
import { packedSize } from './gemm-wasm.js';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, borrow, byteOffset, heapF32, release, run, unborrow, view } from './wasm-util.js';

/**
 * How the 16 (or 36) products of the transformed tiles run: resnet-ts's own GEMM (split
 * over the own kernels' threads), XNNPACK 1x1 convolutions (threaded in the threaded build)
 * or XNNPACK fully-connected products through BatchMatMul.
 */
export type WinogradProducts = 'own' | 'conv1x1' | 'batchMatMul';

/** The output tile of F(m x m, 3x3): 2 (16 products per tile) or 4 (36, larger error). */
export type WinogradTile = 2 | 4;

/** Options of {@link setWinogradConv}. */
export interface WinogradOptions {
  /** How the products run (default 'own', resnet-ts's GEMM). */
  products?: WinogradProducts;
  /** The output tile; by default chosen per convolution ({@link winogradTile}). */
  tile?: WinogradTile;
  /**
   * Multiply-adds per product below which the threaded build keeps XNNPACK's convolution
   * (default 2^24); 0 lets tests run small shapes through Winograd on threads.
   */
  minThreadedProduct?: number;
  /** Floats of transformed tiles one pass over a few images may hold (default 8M); for tests. */
  maxTransformed?: number;
  /**
   * Tiles per block of the own-products convolution (by default as many as fit 1 MB, at
   * least 128); for tests and benchmarks.
   */
  blockTiles?: number;
}

let enabled = true;
let products: WinogradProducts = 'own';
let forcedTile: WinogradTile | undefined;

/**
 * Turns the Winograd convolution on (the default) or off, and picks how its matrix products
 * run and its tile; for tests and benchmarks that compare it with the stock kernels.
 */
export function setWinogradConv(on: boolean, options: WinogradOptions = {}): void {
  enabled = on;
  products = options.products ?? 'own';
  forcedTile = options.tile;
  minThreadedProduct = options.minThreadedProduct ?? MIN_THREADED_PRODUCT;
  maxTransformed = options.maxTransformed ?? MAX_TRANSFORMED;
  forcedBlockTiles = options.blockTiles;
}

/**
 * Below these channel counts the products are too thin for XNNPACK to run well and the
 * transforms, which move 4x the input and output, cost as much as the saved multiplications
 * (measured by tools/bench/winograd-bench.mjs --small: 16->16 channels break even, 8->16
 * lose, 16->32 and 32->16 gain a little).
 */
const MIN_CHANNELS = 16;
const MIN_CHANNEL_SUM = 48;

/**
 * With XNNPACK's products ('batchMatMul', 'conv1x1') in the threaded build every product is
 * a dispatch to XNNPACK's thread pool, whose wake-up costs more than a small product saves:
 * there Winograd needs this many multiply-adds per
 * product (ResNet-18 CIFAR's 3x3 layers make 2^25 at batch 32; VanResNet's 2^22-2^23, which
 * ran 1.4-1.7x slower than XNNPACK's convolution on 2 threads).
 */
const MIN_THREADED_PRODUCT = 2 ** 24;
let minThreadedProduct = MIN_THREADED_PRODUCT;

/**
 * Floats from one transformed plane [rows, cols] to the next: a cache line more than the
 * plane. On power-of-two shapes a plane is a multiple of 4 KB (64 KB in L2), so the 16 or 36
 * planes a transform writes (and the output transform reads) at once otherwise all fall in
 * the same cache sets: on ResNet-18's 32x32x64 layer at batch 32 the filter gradient's two
 * F(4x4, 3x3) transforms took 16 ms unpadded, 5 ms padded, and the forward convolution 26-29
 * ms against 22.5-23.5.
 */
export function planeStride(rows: number, cols: number): number {
  return rows * cols + 16;
}

/** XNNPACK's thread count on `backend` (1 in the single-threaded build). */
export function wasmThreads(backend: BackendWasm): number {
  const tfjs = backend.wasm.tfjs as { getThreadsCount?: () => number };
  return tfjs.getThreadsCount?.() ?? 1;
}

/**
 * Whether `info` is a convolution the Winograd path computes; `threads`, XNNPACK's thread
 * count, raises the bar (see MIN_THREADED_PRODUCT).
 */
export function winogradApplies(info: backend_util.Conv2DInfo, threads = 1): boolean {
  const tiles = info.batchSize * Math.ceil(info.outHeight / 2) * Math.ceil(info.outWidth / 2);
  return (
    enabled &&
    (threads <= 1 ||
      products === 'own' ||
      tiles * info.inChannels * info.outChannels >= minThreadedProduct) &&
    info.dataFormat === 'channelsLast' &&
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.inChannels >= MIN_CHANNELS &&
    info.outChannels >= MIN_CHANNELS &&
    info.inChannels + info.outChannels >= MIN_CHANNEL_SUM
  );
}

/** Floats of transformed input (or products) one pass holds at most: 32 MB. */
const MAX_TRANSFORMED = 8 * 1024 * 1024;
let maxTransformed = MAX_TRANSFORMED;

/**
 * The transformed input tiles V of images [b0, b0 + batch) of x for F(m x m, 3x3) (planes
 * `vStride` floats apart; `zerosOff`, the float offset of max(inC, outC) zeros, stands for the
 * padding), split by images.
 */
export function transformInput(
  backend: BackendWasm,
  m: WinogradTile,
  x: TensorInfo,
  b0: number,
  batch: number,
  v: TensorInfo,
  vStride: number,
  zerosOff: number,
  info: backend_util.Conv2DInfo,
  tilesH: number,
  tilesW: number,
): void {
  const { inHeight: h, inWidth: w, inChannels: ci } = info;
  const perImage = (m + 2) ** 2 * tilesH * tilesW * Math.max(ci, info.outChannels);
  ownWasmKernels(backend)!.byImages(
    m === 4 ? 'wino_input_f43' : 'wino_input_f23',
    batch,
    perImage,
    [
      byteOffset(backend, x) + 4 * b0 * h * w * ci,
      byteOffset(backend, v),
      zerosOff * 4,
      batch,
      h,
      w,
      ci,
      tilesH,
      tilesW,
      info.padInfo.top,
      info.padInfo.left,
      vStride,
    ],
  );
}

/** U [count, ci, co] = G g G^T of the HWIO filter for F(m x m, 3x3), split by input channels. */
function transformFilter(
  backend: BackendWasm,
  m: WinogradTile,
  filter: TensorInfo,
  u: TensorInfo,
  ci: number,
  co: number,
): void {
  const count = (m + 2) * (m + 2);
  ownWasmKernels(backend)!.byImages(
    m === 4 ? 'wino_filter_f43' : 'wino_filter_f23',
    ci,
    (count + 9) * co,
    [byteOffset(backend, filter), byteOffset(backend, u), ci, co],
  );
}

/**
 * Floats of one block's transformed tiles and products, which stay in a core's cache (its
 * 1 MB L2 here) between the transforms and the products.
 */
const BLOCK_FLOATS = 262144;
let forcedBlockTiles: number | undefined;

/**
 * Fewest tiles per block: every block streams the whole packed transformed filter through
 * the products, so a block of few tiles on many channels would wait on memory.
 */
const MIN_BLOCK_TILES = 128;

/** Tiles per block of {@link fusedWinogradConv}: a multiple of 4 (the GEMM's row tile). */
function blockTiles(count: number, ci: number, co: number, tiles: number): number {
  if (forcedBlockTiles != null) return forcedBlockTiles;
  const fit = Math.floor(BLOCK_FLOATS / (count * (ci + co)) / 4) * 4;
  return Math.min(Math.max(fit, MIN_BLOCK_TILES), Math.ceil(tiles / 4) * 4);
}

/**
 * The Winograd convolution with resnet-ts's own products, run block by block: each part of
 * the tiles (one per thread) transforms a block of input tiles, multiplies it by the
 * transformed filter and transforms the products out before the next block, in scratch
 * memory of its own, so the block stays in cache and a call is one dispatch to the threads
 * (wasm/winograd.c's wino_conv_f23 and wino_conv_f43). Against transforming every tile,
 * then multiplying, then transforming back (three dispatches over memory-sized planes):
 * ResNet-18's 32x32x64 layer at batch 32 22-26 -> 17-19 ms on one thread, VanResNet's
 * 16x16x32 -> 64 at batch 64 6.7 -> 3.6-5.1 ms on two.
 */
function fusedWinogradConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  bias: TensorInfo | null,
  relu: boolean,
  m: WinogradTile,
  tilesH: number,
  tilesW: number,
): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const kernels = ownWasmKernels(backend)!;
  const count = (m + 2) * (m + 2);
  const tiles = n * tilesH * tilesW;
  const tb = blockTiles(count, ci, co, tiles);
  const vs = planeStride(tb, ci);
  const ms = planeStride(tb, co);
  const perTile = count * (ci + co);
  const parts = kernels.partCount(tiles, perTile);
  // Per part: V's planes, M's planes, and the table of M's plane offsets (int32s).
  const perPart = count * (vs + ms) + count;
  const scratch = alloc(backend, [parts * perPart]);
  const u = alloc(backend, [count, ci, co]);
  const packedStride = packedSize(ci, co);
  const packed = alloc(backend, [count * packedStride]);
  const zeros = alloc(backend, [Math.max(ci, co)]);
  const y = alloc(backend, info.outShape);
  const [heap, zOff] = heapF32(backend, zeros);
  heap.fill(0, zOff, zOff + Math.max(ci, co));
  transformFilter(backend, m, filter, u, ci, co);
  const [, uOff] = heapF32(backend, u);
  const [, pOff] = heapF32(backend, packed);
  kernels.gemmPackBBatched(uOff, ci * co, count, ci, co, pOff);
  release(backend, u);
  const [heapAfter, sOff] = heapF32(backend, scratch);
  const tables = new Int32Array(heapAfter.buffer);
  for (let p = 0; p < parts; p++) {
    const mBase = sOff + p * perPart + count * vs;
    const table = mBase + count * ms;
    for (let k = 0; k < count; k++) tables[table + k] = 4 * (mBase + k * ms);
  }
  const biasOff = bias == null ? zOff * 4 : byteOffset(backend, bias);
  kernels.byParts(m === 4 ? 'wino_conv_f43' : 'wino_conv_f23', tiles, perTile, (p, t0, t1) => [
    byteOffset(backend, x),
    zOff * 4,
    pOff * 4,
    packedStride,
    biasOff,
    byteOffset(backend, y),
    4 * (sOff + p * perPart),
    vs,
    4 * (sOff + p * perPart + count * (vs + ms)),
    h,
    w,
    ci,
    oh,
    ow,
    co,
    tilesH,
    tilesW,
    info.padInfo.top,
    info.padInfo.left,
    relu ? 1 : 0,
    tb,
    t0,
    t1,
  ]);
  for (const t of [scratch, packed, zeros]) release(backend, t);
  return y;
}

/**
 * y = conv(x, filter) (+ bias, then ReLU where `relu`) by F(2x2, 3x3) or F(4x4, 3x3); null
 * where the own wasm module cannot run here.
 */
function winogradConv(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  bias: TensorInfo | null,
  relu: boolean,
): TensorInfo | null {
  const kernels = ownWasmKernels(backend);
  if (kernels == null) return null;
  const { batchSize: n, inChannels: ci, outChannels: co } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const m = forcedTile ?? winogradTile(info);
  const output = m === 4 ? 'wino_output_f43' : 'wino_output_f23';
  const count = (m + 2) * (m + 2);
  const tilesH = Math.ceil(oh / m);
  const tilesW = Math.ceil(ow / m);
  if (products === 'own') {
    return fusedWinogradConv(backend, x, filter, info, bias, relu, m, tilesH, tilesW);
  }
  // The transformed tiles take 2.25-4x the input and output; a few images at a time keep
  // that bounded on large pictures (CIFAR batches fit in one pass).
  const perImage = count * tilesH * tilesW * Math.max(ci, co);
  const images = Math.max(1, Math.min(n, Math.floor(maxTransformed / perImage)));
  const vStride = planeStride(images * tilesH * tilesW, ci);
  const v = alloc(backend, [count * vStride]);
  const u = alloc(backend, [count, ci, co]);
  const zeros = alloc(backend, [Math.max(ci, co)]);
  const table = alloc(backend, [count], 'int32');
  const y = alloc(backend, info.outShape);
  const [heap, zOff] = heapF32(backend, zeros);
  heap.fill(0, zOff, zOff + Math.max(ci, co));
  transformFilter(backend, m, filter, u, ci, co);
  const biasOff = bias == null ? zOff * 4 : byteOffset(backend, bias);
  for (let b0 = 0; b0 < n; b0 += images) {
    const batch = Math.min(images, n - b0);
    const tiles = batch * tilesH * tilesW;
    transformInput(backend, m, x, b0, batch, v, vStride, zOff, info, tilesH, tilesW);
    const ms: TensorInfo[] = [];
    for (let k = 0; k < count; k++) {
      const a = borrow(backend, v, k * vStride, [1, tiles, 1, ci]);
      const b = borrow(backend, u, k * ci * co, [1, 1, ci, co]);
      ms.push(
        products === 'batchMatMul'
          ? run(
              backend,
              'BatchMatMul',
              { a: view(a, [1, tiles, ci]), b: view(b, [1, ci, co]) },
              { transposeA: false, transposeB: false },
            )
          : run(
              backend,
              'Conv2D',
              { x: a, filter: b },
              { strides: 1, pad: 'valid', dilations: 1, dataFormat: 'NHWC' },
            ),
      );
      unborrow(backend, a);
      unborrow(backend, b);
    }
    const tOff = byteOffset(backend, table);
    const [heapAfter] = heapF32(backend, table);
    new Int32Array(heapAfter.buffer, tOff, count).set(ms.map((t) => byteOffset(backend, t)));
    kernels.byImages(output, batch, perImage, [
      tOff,
      byteOffset(backend, y) + 4 * b0 * oh * ow * co,
      biasOff,
      batch,
      oh,
      ow,
      co,
      tilesH,
      tilesW,
      relu ? 1 : 0,
    ]);
    for (const t of ms) release(backend, t);
  }
  for (const t of [v, u, zeros, table]) release(backend, t);
  return y;
}

/**
 * The output tile for `info`. F(4x4, 3x3) multiplies 1.78x less than F(2x2, 3x3) on sizes
 * both tile exactly, but rounds odd sizes up further (14x14 pays for 16x16) and transforms
 * (and packs) a filter 2.25x larger, which only pays over enough tiles. Measured with the
 * transformed planes padded apart (`planeStride`), on one and two threads: it wins from 128
 * tiles at 64 channels and more (8x8x64 on 64 images 3.4 -> 2.4 ms, 32x32x64 on 32 images
 * 29 -> 22 ms), ties at 32 channels, and loses at 4x4 on 32 images (32 tiles: 27 -> 33 ms).
 */
export function winogradTile(info: backend_util.Conv2DInfo): WinogradTile {
  const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: ci } = info;
  const tiles4 = n * Math.ceil(oh / 4) * Math.ceil(ow / 4);
  const tiles2 = n * Math.ceil(oh / 2) * Math.ceil(ow / 2);
  const fewerProducts = 36 * tiles4 <= 0.6 * 16 * tiles2;
  return fewerProducts && tiles4 >= 128 && ci >= 32 ? 4 : 2;
}

function convInfo(
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DAttrs | FusedConv2DAttrs,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

/**
 * The convolution of `x` with `filter` under Conv2D's `attrs`: by Winograd where it applies,
 * else by the own implicit-GEMM convolution (conv2d-wasm.ts), else by the stock kernel. Kernels that convolve internally (the stride-1
 * Conv2DBackpropInput) call this instead of the stock Conv2D.
 */
export function conv2DFast(
  backend: BackendWasm,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv2DAttrs,
): TensorInfo {
  if (x.shape.length === 4 && filter.shape.length === 4) {
    const info = convInfo(x, filter, attrs);
    const y =
      (winogradApplies(info, wasmThreads(backend))
        ? winogradConv(backend, x, filter, info, null, false)
        : null) ?? ownConv2D(backend, x, filter, info);
    if (y != null) return y;
  }
  return run(backend, 'Conv2D', { x, filter }, attrs as never);
}

/** Conv2D: Winograd for 3x3, stride 1 (see {@link winogradApplies}), else as {@link conv2DFast}. */
export function conv2DWasm(args: {
  inputs: Conv2DInputs;
  backend: BackendWasm;
  attrs: Conv2DAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  return conv2DFast(backend, inputs.x as TensorInfo, inputs.filter as TensorInfo, attrs);
}

/**
 * FusedConv2D (the convolution tf.fused.conv2d and resnet-ts's layers run): Winograd with the
 * bias and a linear or ReLU activation folded into the output transform where it applies,
 * else the own implicit-GEMM convolution (same epilogue), else the stock kernel.
 */
export function fusedConv2DWasm(args: {
  inputs: FusedConv2DInputs;
  backend: BackendWasm;
  attrs: FusedConv2DAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const bias = (inputs.bias as TensorInfo | undefined) ?? null;
  const activation = attrs.activation ?? 'linear';
  if (
    x.shape.length === 4 &&
    filter.shape.length === 4 &&
    (activation === 'linear' || activation === 'relu') &&
    inputs.preluActivationWeights == null &&
    (bias == null ||
      (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]))
  ) {
    const info = convInfo(x, filter, attrs);
    const relu = activation === 'relu';
    const y =
      (winogradApplies(info, wasmThreads(backend))
        ? winogradConv(backend, x, filter, info, bias, relu)
        : null) ?? ownConv2D(backend, x, filter, info, { bias, relu });
    if (y != null) return y;
  }
  return run(backend, 'FusedConv2D', inputs as never, attrs as never);
}

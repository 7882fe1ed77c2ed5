/**
 * resnet-ts's own WebAssembly SIMD kernels (wasm/kernels.c, wasm/gemm.c, wasm/winograd.c,
 * wasm/transpose.c, wasm/stats.c, wasm/elementwise.c): the patch copies and sums around the convolutions' matrix products,
 * those products themselves, and the elementwise kernels, pools and batch-norm
 * normalisation of a training step, compiled to run inside the wasm backend's own memory,
 * which the module imports, so they read and write tensors where they lie. One instance per
 * backend memory, made on first use; where it cannot be made (no WebAssembly SIMD, a
 * browser's main thread refusing synchronous compilation, a memory tfjs does not expose),
 * the kernels fall back to the same loops in JavaScript (im2col.ts). Over the threaded
 * build's shared memory, each call is split into parts (ranges of rows or images) run on as
 * many threads as the backend's XNNPACK pool has (own-wasm-threads.ts).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util } from '@tensorflow/tfjs-core';
import { KERNELS_SHARED_WASM, KERNELS_WASM } from './own-wasm-bytes.js';
import { type PartRunner, partRunner } from './own-wasm-threads.js';

interface Exports {
  im2col_t_cnhw(
    x: number,
    col: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    padTop: number,
    padLeft: number,
    b0: number,
    b1: number,
    r0: number,
    r1: number,
  ): void;
  col2im_nhwc(
    cols: number,
    x: number,
    batch: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    padTop: number,
    padLeft: number,
    b0: number,
    b1: number,
  ): void;
  add_into(dst: number, src: number, n: number): void;
  sum_rows(x: number, acc: number, rows: number, cols: number): void;
  bn_grad_sums(
    dy: number,
    x: number,
    mean: number,
    sumDy: number,
    sumDyXmu: number,
    rows: number,
    ch: number,
  ): void;
  bn_grad_dx(
    dy: number,
    x: number,
    mean: number,
    a: number,
    b: number,
    g: number,
    dx: number,
    rows: number,
    ch: number,
  ): void;
  max_pool_grad_2x2(
    x: number,
    dy: number,
    relu: number,
    dx: number,
    batch: number,
    outH: number,
    outW: number,
    ch: number,
    xRow: number,
    xImage: number,
  ): void;
  gemm_pack_b(
    b: number,
    ldb: number,
    k: number,
    n: number,
    packed: number,
    p0: number,
    p1: number,
  ): void;
  gemm_packed_rows(
    a: number,
    lda: number,
    packed: number,
    c: number,
    ldc: number,
    m0: number,
    m1: number,
    n: number,
    k: number,
    accumulate: number,
  ): void;
  conv_nhwc(
    x: number,
    zero: number,
    packed: number,
    bias: number,
    out: number,
    inH: number,
    inW: number,
    inC: number,
    outH: number,
    outW: number,
    outC: number,
    fh: number,
    fw: number,
    sh: number,
    sw: number,
    dh: number,
    dw: number,
    padTop: number,
    padLeft: number,
    relu: number,
    p0: number,
    p1: number,
  ): void;
  wino_input_f23(...args: number[]): void;
  wino_output_f23(...args: number[]): void;
  wino_input_f43(...args: number[]): void;
  wino_output_f43(...args: number[]): void;
  wino_dy_f23(...args: number[]): void;
  wino_dy_f43(...args: number[]): void;
  wino_conv_f23(...args: number[]): void;
  wino_conv_f43(...args: number[]): void;
  conv_filter_grad_images(...args: number[]): void;
  wino_filter_f23(...args: number[]): void;
  wino_filter_f43(...args: number[]): void;
  wino_filter_grad_f23(...args: number[]): void;
  wino_filter_grad_f43(...args: number[]): void;
  gemm_tn_batched(
    v: number,
    vStride: number,
    e: number,
    eStride: number,
    s: number,
    count: number,
    rows: number,
    inC: number,
    outC: number,
  ): void;
  gemm_pack_b_batched(...args: number[]): void;
  sum_sq_dev_rows(x: number, mean: number, acc: number, rows: number, cols: number): void;
  transpose_batched(
    src: number,
    dst: number,
    count: number,
    rows: number,
    cols: number,
    reverse: number,
    g0: number,
    g1: number,
  ): void;
  binary_f32(op: number, a: number, b: number, out: number, n: number): void;
  binary_channel_f32(
    op: number,
    vFirst: number,
    a: number,
    v: number,
    out: number,
    rows: number,
    ch: number,
  ): void;
  binary_row_f32(...args: number[]): void;
  relu_f32(x: number, out: number, n: number): void;
  square_f32(x: number, out: number, n: number): void;
  step_f32(x: number, out: number, n: number, alpha: number): void;
  relu_grad_f32(dy: number, x: number, out: number, n: number): void;
  sgd_update_f32(
    p: number,
    g: number,
    buf: number,
    pOut: number,
    bufOut: number,
    n: number,
    negLr: number,
    wd: number,
    momentum: number,
    keep: number,
    flags: number,
  ): void;
  /** Nine byte offsets (p, g, m, v, vmax, then the four outputs), n, eight floats, flags. */
  adam_update_f32(...args: number[]): void;
  batch_norm_f32(
    x: number,
    mean: number,
    a: number,
    offset: number,
    y: number,
    rows: number,
    ch: number,
  ): void;
  max_pool_2x2(...args: number[]): void;
  max_pool_nhwc(...args: number[]): void;
  max_pool_grad_nhwc(...args: number[]): void;
}

/** The elementwise operations of {@link OwnWasmKernels.binary}, by their code in elementwise.c. */
export const BinaryOp = { Add: 0, Sub: 1, Mul: 2 } as const;
/** One of {@link BinaryOp}'s codes. */
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp];

/** The own kernels over one backend's memory; offsets are in float32 elements. */
export interface OwnWasmKernels {
  /** How many threads a call may use. */
  readonly threads: number;
  /** Stops the worker threads; later calls run on the calling thread. */
  release(): void;
  /**
   * Bytes of zeroed float64 accumulators that `sumRows` and `bnGradSums` need for `cols`
   * columns: a set per thread, apart enough that no two threads write one cache line. The
   * totals are left in the first `cols`.
   */
  accumulatorBytes(cols: number): number;
  /** im2colTransposedCNHW (im2col.ts) of images [firstImage, endImage). */
  im2colTransposedCNHW(
    xOff: number,
    colOff: number,
    info: backend_util.Conv2DInfo,
    firstImage: number,
    endImage: number,
  ): void;
  /** col2imNHWC (im2col.ts). */
  col2imNHWC(colOff: number, xOff: number, info: backend_util.Conv2DInfo): void;
  /** heap[dst + i] += heap[src + i] for i < n. */
  addInto(dstOff: number, srcOff: number, n: number): void;
  /**
   * Adds the `rows` rows of `cols` floats at `xOff` into the `cols` float64 accumulators at
   * byte offset `accByte` (8-byte aligned; `accumulatorBytes(cols)` of them).
   */
  sumRows(xOff: number, accByte: number, rows: number, cols: number): void;
  /**
   * Adds (x - mean)^2 of the `rows` rows of `cols` floats at `xOff` (`mean` at `meanOff`,
   * `cols` floats) into the float64 accumulators at byte offset `accByte`, as
   * {@link sumRows}: the pass of a batch variance.
   */
  sumSquaredDeviations(
    xOff: number,
    meanOff: number,
    accByte: number,
    rows: number,
    cols: number,
  ): void;
  /**
   * Batch-norm backward's first pass: adds dy and dy * (x - mean) per channel into the
   * float64 accumulators at byte offsets `sumDyByte` and `sumDyXmuByte` (`accumulatorBytes(ch)`
   * at each).
   */
  bnGradSums(
    dyOff: number,
    xOff: number,
    meanOff: number,
    sumDyByte: number,
    sumDyXmuByte: number,
    rows: number,
    ch: number,
  ): void;
  /** Batch-norm backward's second pass: dx = a * (dy - b - (x - mean) * g) per channel. */
  bnGradDx(
    dyOff: number,
    xOff: number,
    meanOff: number,
    aOff: number,
    bOff: number,
    gOff: number,
    dxOff: number,
    rows: number,
    ch: number,
  ): void;
  /**
   * MaxPool `info` (any window and stride, no dilation, NHWC), NaN skipped as tfjs's cpu
   * kernel skips it.
   */
  maxPoolNHWC(xOff: number, yOff: number, info: backend_util.Conv2DInfo): void;
  /**
   * MaxPoolGrad of `info` (any window and stride, no dilation, NHWC) into dx, overwritten:
   * the loop of max-pool-grad-wasm.ts, split by images.
   */
  maxPoolGradNHWC(xOff: number, dyOff: number, dxOff: number, info: backend_util.Conv2DInfo): void;
  /**
   * The 2x2, stride-2 MaxPoolGrad of max-pool-grad-wasm.ts (`pool2x2`); with `reluOff` (the
   * pool's output through a ReLU, or -1 for none) that of relu(maxPool(x)).
   */
  maxPoolGrad2x2(
    xOff: number,
    dyOff: number,
    reluOff: number,
    dxOff: number,
    batch: number,
    outH: number,
    outW: number,
    ch: number,
    xRow: number,
    xImage: number,
  ): void;
  /**
   * Packs panels [firstPanel, endPanel) of b [k, n] (row stride `ldb`) for `gemmRows`: panel
   * p holds columns [8p, 8p + 8) as [k, 8], zero past n, at `packedOff + p * k * 8`.
   */
  gemmPackB(
    bOff: number,
    ldb: number,
    k: number,
    n: number,
    packedOff: number,
    firstPanel: number,
    endPanel: number,
  ): void;
  /**
   * Rows [firstRow, endRow) of c [m, n] (row stride `ldc`) = a [m, k] (row stride `lda`)
   * times the packed b, added to c's values when `accumulate`.
   */
  gemmRows(
    aOff: number,
    lda: number,
    packedOff: number,
    cOff: number,
    ldc: number,
    firstRow: number,
    endRow: number,
    n: number,
    k: number,
    accumulate: boolean,
  ): void;
  /**
   * Output pixels [firstPixel, endPixel) of the NHWC convolution `info` of x with the filter
   * packed by `gemmPackB` (the HWIO filter is b [fh * fw * inC, outC]), reading `zeroOff`'s
   * inC zeros where a tap falls in the padding; plus the bias at `biasOff` (outC rounded up
   * to 8 floats; -1 for none), through ReLU when `relu`.
   */
  convNHWC(
    xOff: number,
    zeroOff: number,
    packedOff: number,
    biasOff: number,
    outOff: number,
    info: backend_util.Conv2DInfo,
    relu: boolean,
    firstPixel: number,
    endPixel: number,
  ): void;
  /**
   * Runs `name` over `images` images split into parts on the threads, as the other kernels
   * are split: `args` are its arguments but the image range, which each part appends.
   * `perImage` is the floats one image's part moves, so small calls stay on one thread.
   */
  byImages(name: ImageSplitExport, images: number, perImage: number, args: number[]): void;
  /** How many parts {@link byParts} splits `n` items of `perItem` floats into. */
  partCount(n: number, perItem: number): number;
  /**
   * Runs `name` over `n` items of `perItem` floats split into parts on the threads, each
   * part's arguments from `args(part, first, end)`: for calls whose parts need their own
   * scratch memory.
   */
  byParts(
    name: ImageSplitExport,
    n: number,
    perItem: number,
    args: (part: number, first: number, end: number) => number[],
  ): void;
  /**
   * The `count` products S_k [inC, outC] = V_k^T E_k of V_k [rows, inC] and E_k [rows, outC]
   * (`vStride` and `eStride` floats from one k to the next; winograd.c's `gemm_tn_batched`,
   * which reads both in place), the products split over the threads.
   */
  gemmTnBatched(
    vOff: number,
    vStride: number,
    eOff: number,
    eStride: number,
    sOff: number,
    count: number,
    rows: number,
    inC: number,
    outC: number,
  ): void;
  /**
   * Packs `count` right operands b_i [k, n] (at `bOff + i * bStride`, row stride `n`) for
   * batched products (Winograd's), b_i's panels at `packedOff + i * packedSize(k, n)`; split by operand.
   */
  gemmPackBBatched(
    bOff: number,
    bStride: number,
    count: number,
    k: number,
    n: number,
    packedOff: number,
  ): void;
  /**
   * Transposes `count` matrices [rows, cols] at `srcOff` (one after another) into [cols, rows]
   * at `dstOff`, in reverse order when `reverse` (a filter's taps flipped), split by rows.
   */
  transposeBatched(
    srcOff: number,
    dstOff: number,
    count: number,
    rows: number,
    cols: number,
    reverse: boolean,
  ): void;
  /** out[i] = a[i] op b[i] for i < n. */
  binary(op: BinaryOp, aOff: number, bOff: number, outOff: number, n: number): void;
  /**
   * out[r, c] = a[r, c] op v[c] over `rows` rows of `ch` channels (v[c] op a[r, c] when
   * `vFirst`): a per-channel vector broadcast over the last axis.
   */
  binaryChannel(
    op: BinaryOp,
    vFirst: boolean,
    aOff: number,
    vOff: number,
    outOff: number,
    rows: number,
    ch: number,
  ): void;
  /**
   * out[r, c] = a[r, c] op v[r] over `rows` rows of `ch` (v[r] op a[r, c] when `vFirst`): a
   * value per row broadcast over the last axis.
   */
  binaryRow(
    op: BinaryOp,
    vFirst: boolean,
    aOff: number,
    vOff: number,
    outOff: number,
    rows: number,
    ch: number,
  ): void;
  /** out[i] = a[i] op v for n floats, the scalar v at `vOff` (v op a[i] when `vFirst`). */
  binaryScalar(
    op: BinaryOp,
    vFirst: boolean,
    aOff: number,
    vOff: number,
    outOff: number,
    n: number,
  ): void;
  /** out = max(0, x) for n floats, as Math.max(0, x) (NaN kept). */
  relu(xOff: number, outOff: number, n: number): void;
  /** out = x * x for n floats. */
  square(xOff: number, outOff: number, n: number): void;
  /** out = x > 0 ? 1 : alpha for n floats, NaN where x is NaN. */
  step(xOff: number, outOff: number, n: number, alpha: number): void;
  /** ReLU's gradient dy * step(x) for n floats, in one pass. */
  reluGrad(dyOff: number, xOff: number, outOff: number, n: number): void;
  /**
   * One SGD step over `n` floats (sgd_update_f32 in wasm/elementwise.c): parameters,
   * gradient and momentum buffer in, parameters and buffer out; the buffers' offsets are
   * ignored where `flags` has no momentum (or, for `bufOff`, marks the first step).
   */
  sgdUpdate(
    pOff: number,
    gOff: number,
    bufOff: number,
    pOutOff: number,
    bufOutOff: number,
    n: number,
    negLr: number,
    wd: number,
    momentum: number,
    keep: number,
    flags: number,
  ): void;
  /**
   * One Adam step over `n` floats (adam_update_f32 in wasm/elementwise.c): parameters,
   * gradient, moments (and the running maximum with AMSGrad) in, the same out; `offs` are
   * the nine float offsets in adam_update_f32's order, `hyper` its eight float32
   * hyper-parameters.
   */
  adamUpdate(offs: readonly number[], n: number, hyper: readonly number[], flags: number): void;
  /** y = (x - mean[c]) * a[c] + offset[c] over `rows` NHWC rows of `ch` channels. */
  batchNorm(
    xOff: number,
    meanOff: number,
    aOff: number,
    offsetOff: number,
    yOff: number,
    rows: number,
    ch: number,
  ): void;
  /**
   * MaxPool of 2x2 windows with stride 2 inside the image (NHWC) into y [batch, outH, outW,
   * ch], NaN skipped as tfjs's cpu kernel skips it; through a ReLU where `relu`.
   */
  maxPool2x2(
    xOff: number,
    yOff: number,
    batch: number,
    outH: number,
    outW: number,
    ch: number,
    xRow: number,
    xImage: number,
    relu: boolean,
  ): void;
}

let enabled = true;
const instances = new WeakMap<WebAssembly.Memory, OwnWasmKernels | null>();

/**
 * Turns resnet-ts's own wasm SIMD kernels on (the default) or off, so the JavaScript loops
 * run instead; for tests and benchmarks that compare the two.
 */
export function setOwnWasmKernels(on: boolean): void {
  enabled = on;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Winograd's transforms and whole convolutions (wasm/winograd.c, bound in
 * conv2d-winograd-wasm.ts) and the patch-matrix filter gradient (gemm.c), whose last two
 * arguments are the range a part covers: images [b0, b1) for the transforms and the
 * gradient, tiles [t0, t1) for the convolutions, input channels [i0, i1) for the filter
 * transforms.
 */
const WINOGRAD_SPLIT = [
  'wino_input_f23',
  'wino_output_f23',
  'wino_input_f43',
  'wino_output_f43',
  'wino_dy_f23',
  'wino_dy_f43',
  'wino_conv_f23',
  'wino_conv_f43',
  'conv_filter_grad_images',
  'wino_filter_f23',
  'wino_filter_f43',
  'wino_filter_grad_f23',
  'wino_filter_grad_f43',
] as const;

/** An export {@link OwnWasmKernels.byImages} splits over the threads. */
export type ImageSplitExport = (typeof WINOGRAD_SPLIT)[number];

/** The exports a kernel call runs, by the index the part runner knows them by. */
const NAMES = [
  'im2col_t_cnhw',
  'col2im_nhwc',
  'add_into',
  'sum_rows',
  'bn_grad_sums',
  'bn_grad_dx',
  'max_pool_grad_2x2',
  'gemm_pack_b',
  'gemm_packed_rows',
  'conv_nhwc',
  'gemm_tn_batched',
  'gemm_pack_b_batched',
  'transpose_batched',
  'sum_sq_dev_rows',
  'binary_f32',
  'binary_channel_f32',
  'binary_row_f32',
  'relu_f32',
  'square_f32',
  'step_f32',
  'relu_grad_f32',
  'batch_norm_f32',
  'max_pool_2x2',
  'max_pool_nhwc',
  'max_pool_grad_nhwc',
  'sgd_update_f32',
  'adam_update_f32',
  ...WINOGRAD_SPLIT,
] as const satisfies readonly (keyof Exports)[];
const [
  IM2COL,
  COL2IM,
  ADD_INTO,
  SUM_ROWS,
  BN_SUMS,
  BN_DX,
  MAX_POOL_GRAD,
  PACK_B,
  PACKED_GEMM,
  CONV,
  GEMM_TN,
  BATCHED_PACK_B,
  TRANSPOSE,
  SUM_SQ_DEV,
  BINARY,
  BINARY_CHANNEL,
  BINARY_ROW,
  RELU,
  SQUARE,
  STEP,
  RELU_GRAD,
  BATCH_NORM,
  MAX_POOL,
  MAX_POOL_ANY,
  MAX_POOL_GRAD_ANY,
  SGD_UPDATE,
  ADAM_UPDATE,
] = NAMES.keys();

/**
 * Floats a part should at least move by default: waking a worker costs tens of
 * microseconds, a part of 16K floats (64 KB) takes about a hundred. At 64K floats VanResNet's
 * fully connected products and filter transforms ran on one thread; split, its 2-thread
 * step took 0-8% less (median 1%, five in-process alternations), ResNet-18's the same.
 */
export const DEFAULT_MIN_PART = 16384;
let minPart = DEFAULT_MIN_PART;

/**
 * Sets how many floats a part of a threaded call must at least move (default
 * {@link DEFAULT_MIN_PART}), so tests can split small inputs.
 */
export function setOwnWasmMinPart(floats: number): void {
  minPart = floats;
}

/**
 * `n` items split into at most `threads` contiguous ranges of at least `minPart / perItem`
 * items each (one range when the work is small): [start, end) pairs.
 */
function split(n: number, perItem: number, threads: number): [number, number][] {
  const parts = Math.max(1, Math.min(threads, n, Math.floor((n * perItem) / minPart)));
  const out: [number, number][] = [];
  for (let p = 0; p < parts; p++) {
    out.push([Math.floor((n * p) / parts), Math.floor((n * (p + 1)) / parts)]);
  }
  return out;
}

/**
 * A convolution's geometry as the own kernels take it (im2col_t_cnhw, col2im_nhwc and
 * conv_filter_grad_images): batch, inH, inW, inC, outH, outW, fh, fw, sh, sw, dh,
 * dw, padTop, padLeft.
 */
export function convGeometry(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function instantiate(memory: WebAssembly.Memory, threads: number): OwnWasmKernels | null {
  let runner: PartRunner;
  let e: Exports;
  try {
    const shared =
      typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(decode(shared ? KERNELS_SHARED_WASM : KERNELS_WASM));
    e = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    const fns = NAMES.map((name) => e[name] as (...args: number[]) => void);
    runner = partRunner(module, memory, NAMES, fns, threads);
  } catch {
    return null;
  }
  /** A pool's geometry as max_pool_nhwc and max_pool_grad_nhwc take it. */
  const poolGeometry = (info: backend_util.Conv2DInfo) => [
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
  const t = runner.threads;
  /** Rows of `perRow` floats split into parts, each handed `args(first, end)`. */
  const byRows = (
    op: number,
    rows: number,
    perRow: number,
    args: (r0: number, r1: number) => number[],
  ) =>
    runner.run(
      op,
      split(rows, perRow, t).map(([r0, r1]) => args(r0, r1)),
    );
  /**
   * `n` floats split into parts of whole 64-byte lines, so that no two threads write one;
   * each part handed `args(first, end)`. `perFloat` is the floats moved per output float.
   */
  const byElements = (
    op: number,
    n: number,
    perFloat: number,
    args: (i0: number, i1: number) => number[],
  ) =>
    runner.run(
      op,
      split(Math.ceil(n / 16), 16 * perFloat, t).map(([q0, q1]) =>
        args(16 * q0, Math.min(n, 16 * q1)),
      ),
    );
  /** Doubles from one thread's accumulators to the next's: 128 bytes apart at least. */
  const setStride = (cols: number) => cols + 16;
  const kernels: OwnWasmKernels = {
    threads: t,
    release: () => runner.release(),
    accumulatorBytes: (cols) => 8 * (t === 1 ? cols : t * setStride(cols)),
    im2colTransposedCNHW: (xOff, colOff, info, firstImage, endImage) => {
      const g = convGeometry(info);
      const perRow = (endImage - firstImage) * info.outHeight * info.outWidth;
      const rows = info.filterHeight * info.filterWidth * info.inChannels;
      byRows(IM2COL, rows, perRow, (r0, r1) => [
        xOff * 4,
        colOff * 4,
        ...g,
        firstImage,
        endImage,
        r0,
        r1,
      ]);
    },
    col2imNHWC: (colOff, xOff, info) => {
      const g = convGeometry(info);
      const perImage =
        info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
      byRows(COL2IM, info.batchSize, perImage, (b0, b1) => [colOff * 4, xOff * 4, ...g, b0, b1]);
    },
    addInto: (dstOff, srcOff, n) =>
      byRows(ADD_INTO, n, 1, (i0, i1) => [(dstOff + i0) * 4, (srcOff + i0) * 4, i1 - i0]),
    sumRows: (xOff, accByte, rows, cols) =>
      reduceParts(SUM_ROWS, rows, cols, [accByte], (p, r0, r1) => [
        (xOff + r0 * cols) * 4,
        accByte + p * setStride(cols) * 8,
        r1 - r0,
        cols,
      ]),
    sumSquaredDeviations: (xOff, meanOff, accByte, rows, cols) =>
      reduceParts(SUM_SQ_DEV, rows, cols, [accByte], (p, r0, r1) => [
        (xOff + r0 * cols) * 4,
        meanOff * 4,
        accByte + p * setStride(cols) * 8,
        r1 - r0,
        cols,
      ]),
    bnGradSums: (dyOff, xOff, meanOff, sumDyByte, sumDyXmuByte, rows, ch) =>
      reduceParts(BN_SUMS, rows, 2 * ch, [sumDyByte, sumDyXmuByte], (p, r0, r1) => [
        (dyOff + r0 * ch) * 4,
        (xOff + r0 * ch) * 4,
        meanOff * 4,
        sumDyByte + p * setStride(ch) * 8,
        sumDyXmuByte + p * setStride(ch) * 8,
        r1 - r0,
        ch,
      ]),
    bnGradDx: (dyOff, xOff, meanOff, aOff, bOff, gOff, dxOff, rows, ch) =>
      byRows(BN_DX, rows, 3 * ch, (r0, r1) => [
        (dyOff + r0 * ch) * 4,
        (xOff + r0 * ch) * 4,
        meanOff * 4,
        aOff * 4,
        bOff * 4,
        gOff * 4,
        (dxOff + r0 * ch) * 4,
        r1 - r0,
        ch,
      ]),
    gemmTnBatched: (vOff, vStride, eOff, eStride, sOff, count, rows, inC, outC) =>
      runner.run(
        GEMM_TN,
        split(count, rows * (inC + outC), t).map(([k0, k1]) => [
          (vOff + k0 * vStride) * 4,
          vStride,
          (eOff + k0 * eStride) * 4,
          eStride,
          (sOff + k0 * inC * outC) * 4,
          k1 - k0,
          rows,
          inC,
          outC,
        ]),
      ),
    gemmPackBBatched: (bOff, bStride, count, k, n, packedOff) =>
      runner.run(
        BATCHED_PACK_B,
        split(count, k * n, t).map(([i0, i1]) => [
          bOff * 4,
          bStride,
          n,
          k,
          n,
          packedOff * 4,
          Math.ceil(n / 8) * 8 * k,
          i0,
          i1,
        ]),
      ),
    transposeBatched: (srcOff, dstOff, count, rows, cols, reverse) =>
      byRows(TRANSPOSE, count * rows, 2 * cols, (g0, g1) => [
        srcOff * 4,
        dstOff * 4,
        count,
        rows,
        cols,
        reverse ? 1 : 0,
        g0,
        g1,
      ]),
    byImages: (name, images, perImage, args) =>
      runner.run(
        NAMES.indexOf(name),
        split(images, perImage, t).map(([b0, b1]) => [...args, b0, b1]),
      ),
    partCount: (n, perItem) => split(n, perItem, t).length,
    byParts: (name, n, perItem, args) =>
      runner.run(
        NAMES.indexOf(name),
        split(n, perItem, t).map(([i0, i1], p) => args(p, i0, i1)),
      ),
    gemmPackB: (bOff, ldb, k, n, packedOff, firstPanel, endPanel) =>
      runner.run(
        PACK_B,
        split(endPanel - firstPanel, 8 * k, t).map(([p0, p1]) => [
          bOff * 4,
          ldb,
          k,
          n,
          packedOff * 4,
          firstPanel + p0,
          firstPanel + p1,
        ]),
      ),
    gemmRows: (aOff, lda, packedOff, cOff, ldc, firstRow, endRow, n, k, accumulate) =>
      // Parts of whole 4-row tiles, the kernel's unit.
      runner.run(
        PACKED_GEMM,
        split(Math.ceil((endRow - firstRow) / 4), 4 * (k + n), t).map(([q0, q1]) => [
          aOff * 4,
          lda,
          packedOff * 4,
          cOff * 4,
          ldc,
          firstRow + 4 * q0,
          Math.min(endRow, firstRow + 4 * q1),
          n,
          k,
          accumulate ? 1 : 0,
        ]),
      ),
    convNHWC: (xOff, zeroOff, packedOff, biasOff, outOff, info, relu, firstPixel, endPixel) =>
      runner.run(
        CONV,
        split(
          Math.ceil((endPixel - firstPixel) / 4),
          4 * info.filterHeight * info.filterWidth * (info.inChannels + info.outChannels),
          t,
        ).map(([q0, q1]) => [
          xOff * 4,
          zeroOff * 4,
          packedOff * 4,
          biasOff < 0 ? 0 : biasOff * 4,
          outOff * 4,
          info.inHeight,
          info.inWidth,
          info.inChannels,
          info.outHeight,
          info.outWidth,
          info.outChannels,
          info.filterHeight,
          info.filterWidth,
          info.strideHeight,
          info.strideWidth,
          info.dilationHeight,
          info.dilationWidth,
          info.padInfo.top,
          info.padInfo.left,
          relu ? 1 : 0,
          firstPixel + 4 * q0,
          Math.min(endPixel, firstPixel + 4 * q1),
        ]),
      ),
    binary: (op, aOff, bOff, outOff, n) =>
      byElements(BINARY, n, 3, (i0, i1) => [
        op,
        (aOff + i0) * 4,
        (bOff + i0) * 4,
        (outOff + i0) * 4,
        i1 - i0,
      ]),
    binaryChannel: (op, vFirst, aOff, vOff, outOff, rows, ch) =>
      byRows(BINARY_CHANNEL, rows, 2 * ch, (r0, r1) => [
        op,
        vFirst ? 1 : 0,
        (aOff + r0 * ch) * 4,
        vOff * 4,
        (outOff + r0 * ch) * 4,
        r1 - r0,
        ch,
      ]),
    binaryRow: (op, vFirst, aOff, vOff, outOff, rows, ch) =>
      byRows(BINARY_ROW, rows, 2 * ch, (r0, r1) => [
        op,
        vFirst ? 1 : 0,
        (aOff + r0 * ch) * 4,
        (vOff + r0) * 4,
        1,
        (outOff + r0 * ch) * 4,
        r1 - r0,
        ch,
      ]),
    binaryScalar: (op, vFirst, aOff, vOff, outOff, n) =>
      byElements(BINARY_ROW, n, 2, (i0, i1) => [
        op,
        vFirst ? 1 : 0,
        (aOff + i0) * 4,
        vOff * 4,
        0,
        (outOff + i0) * 4,
        1,
        i1 - i0,
      ]),
    relu: (xOff, outOff, n) =>
      byElements(RELU, n, 2, (i0, i1) => [(xOff + i0) * 4, (outOff + i0) * 4, i1 - i0]),
    square: (xOff, outOff, n) =>
      byElements(SQUARE, n, 2, (i0, i1) => [(xOff + i0) * 4, (outOff + i0) * 4, i1 - i0]),
    step: (xOff, outOff, n, alpha) =>
      byElements(STEP, n, 2, (i0, i1) => [(xOff + i0) * 4, (outOff + i0) * 4, i1 - i0, alpha]),
    adamUpdate: (offs, n, hyper, flags) =>
      byElements(ADAM_UPDATE, n, 9, (i0, i1) => [
        ...offs.map((o) => (o + i0) * 4),
        i1 - i0,
        ...hyper,
        flags,
      ]),
    sgdUpdate: (pOff, gOff, bufOff, pOutOff, bufOutOff, n, negLr, wd, momentum, keep, flags) =>
      byElements(SGD_UPDATE, n, 5, (i0, i1) => [
        (pOff + i0) * 4,
        (gOff + i0) * 4,
        (bufOff + i0) * 4,
        (pOutOff + i0) * 4,
        (bufOutOff + i0) * 4,
        i1 - i0,
        negLr,
        wd,
        momentum,
        keep,
        flags,
      ]),
    reluGrad: (dyOff, xOff, outOff, n) =>
      byElements(RELU_GRAD, n, 3, (i0, i1) => [
        (dyOff + i0) * 4,
        (xOff + i0) * 4,
        (outOff + i0) * 4,
        i1 - i0,
      ]),
    batchNorm: (xOff, meanOff, aOff, offsetOff, yOff, rows, ch) =>
      byRows(BATCH_NORM, rows, 2 * ch, (r0, r1) => [
        (xOff + r0 * ch) * 4,
        meanOff * 4,
        aOff * 4,
        offsetOff * 4,
        (yOff + r0 * ch) * 4,
        r1 - r0,
        ch,
      ]),
    maxPool2x2: (xOff, yOff, batch, outH, outW, ch, xRow, xImage, relu) =>
      byRows(MAX_POOL, batch * outH, 5 * outW * ch, (r0, r1) => [
        xOff * 4,
        yOff * 4,
        outH,
        outW,
        ch,
        xRow,
        xImage,
        relu ? 1 : 0,
        r0,
        r1,
      ]),
    maxPoolNHWC: (xOff, yOff, info) => {
      const window = info.filterHeight * info.filterWidth;
      const perRow = (window + 1) * info.outWidth * info.inChannels;
      byRows(MAX_POOL_ANY, info.batchSize * info.outHeight, perRow, (r0, r1) => [
        xOff * 4,
        yOff * 4,
        ...poolGeometry(info),
        r0,
        r1,
      ]);
    },
    maxPoolGradNHWC: (xOff, dyOff, dxOff, info) => {
      const window = info.filterHeight * info.filterWidth;
      const perImage =
        2 * info.inHeight * info.inWidth * info.inChannels +
        (2 * window + 1) * info.outHeight * info.outWidth * info.inChannels;
      byRows(MAX_POOL_GRAD_ANY, info.batchSize, perImage, (b0, b1) => [
        xOff * 4,
        dyOff * 4,
        dxOff * 4,
        ...poolGeometry(info),
        b0,
        b1,
      ]);
    },
    maxPoolGrad2x2: (xOff, dyOff, reluOff, dxOff, batch, outH, outW, ch, xRow, xImage) =>
      byRows(MAX_POOL_GRAD, batch, 3 * xImage, (b0, b1) => [
        (xOff + b0 * xImage) * 4,
        (dyOff + b0 * outH * outW * ch) * 4,
        reluOff < 0 ? 0 : (reluOff + b0 * outH * outW * ch) * 4,
        (dxOff + b0 * xImage) * 4,
        b1 - b0,
        outH,
        outW,
        ch,
        xRow,
        xImage,
      ]),
  };
  return kernels;

  /**
   * A reduction over rows split into parts, part p accumulating into its own set of float64
   * accumulators (`cols` of them after each base in `accBytes`, set p at p * setStride);
   * the sets are then added into the first.
   */
  function reduceParts(
    op: number,
    rows: number,
    perRow: number,
    accBytes: number[],
    args: (part: number, r0: number, r1: number) => number[],
  ): void {
    const parts = split(rows, perRow, t);
    runner.run(
      op,
      parts.map(([r0, r1], p) => args(p, r0, r1)),
    );
    if (parts.length < 2) return;
    const cols = perRow / accBytes.length;
    const heap = new Float64Array(memory.buffer);
    for (const byte of accBytes) {
      const first = byte / 8;
      for (let p = 1; p < parts.length; p++) {
        const set = first + p * setStride(cols);
        for (let c = 0; c < cols; c++) heap[first + c] += heap[set + c];
      }
    }
  }
}

/**
 * The own kernels over `backend`'s memory, or null where they are turned off or cannot run
 * here (then the caller uses the JavaScript loops).
 */
export function ownWasmKernels(backend: BackendWasm): OwnWasmKernels | null {
  if (!enabled) return null;
  const module = backend.wasm as unknown as {
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
  };
  // The threaded build keeps its memory on the module; the single-threaded one exports it.
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const tfjs = (backend.wasm as unknown as { tfjs?: { getThreadsCount?: () => number } }).tfjs;
    kernels = instantiate(memory, tfjs?.getThreadsCount?.() ?? 1);
    instances.set(memory, kernels);
    if (kernels != null && kernels.threads > 1) {
      // The workers hold the backend's memory: they go when the backend does.
      const own = kernels;
      const dispose = backend.dispose.bind(backend);
      backend.dispose = () => {
        own.release();
        instances.delete(memory);
        dispose();
      };
    }
  }
  return kernels;
}

/**
 * resnet-ts's own WebAssembly SIMD kernels (wasm/kernels.c, wasm/gemm.c): the patch copies
 * and sums around the convolutions' matrix products, and those products themselves, compiled to run inside the wasm backend's own memory,
 * which the module imports, so they read and write tensors where they lie. One instance per
 * backend memory, made on first use; where it cannot be made (no WebAssembly SIMD, a
 * browser's main thread refusing synchronous compilation, a memory tfjs does not expose),
 * the kernels fall back to the same loops in JavaScript (im2col.ts).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { backend_util } from '@tensorflow/tfjs-core';
import { KERNELS_SHARED_WASM, KERNELS_WASM } from './own-wasm-bytes.js';

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
  gemm_rows(
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
}

/** The own kernels over one backend's memory; offsets are in float32 elements. */
export interface OwnWasmKernels {
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
   * byte offset `accByte` (8-byte aligned).
   */
  sumRows(xOff: number, accByte: number, rows: number, cols: number): void;
  /**
   * Batch-norm backward's first pass: adds dy and dy * (x - mean) per channel into the
   * float64 accumulators at byte offsets `sumDyByte` and `sumDyXmuByte`.
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
  /** The 2x2, stride-2 MaxPoolGrad of max-pool-grad-wasm.ts (`pool2x2`). */
  maxPoolGrad2x2(
    xOff: number,
    dyOff: number,
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

function instantiate(memory: WebAssembly.Memory): OwnWasmKernels | null {
  try {
    const shared =
      typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(decode(shared ? KERNELS_SHARED_WASM : KERNELS_WASM));
    const e = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
    const geometry = (info: backend_util.Conv2DInfo) =>
      [
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
      ] as const;
    return {
      im2colTransposedCNHW: (xOff, colOff, info, firstImage, endImage) =>
        e.im2col_t_cnhw(xOff * 4, colOff * 4, ...geometry(info), firstImage, endImage),
      col2imNHWC: (colOff, xOff, info) => e.col2im_nhwc(colOff * 4, xOff * 4, ...geometry(info)),
      addInto: (dstOff, srcOff, n) => e.add_into(dstOff * 4, srcOff * 4, n),
      sumRows: (xOff, accByte, rows, cols) => e.sum_rows(xOff * 4, accByte, rows, cols),
      bnGradSums: (dyOff, xOff, meanOff, sumDyByte, sumDyXmuByte, rows, ch) =>
        e.bn_grad_sums(dyOff * 4, xOff * 4, meanOff * 4, sumDyByte, sumDyXmuByte, rows, ch),
      bnGradDx: (dyOff, xOff, meanOff, aOff, bOff, gOff, dxOff, rows, ch) =>
        e.bn_grad_dx(
          dyOff * 4,
          xOff * 4,
          meanOff * 4,
          aOff * 4,
          bOff * 4,
          gOff * 4,
          dxOff * 4,
          rows,
          ch,
        ),
      maxPoolGrad2x2: (xOff, dyOff, dxOff, batch, outH, outW, ch, xRow, xImage) =>
        e.max_pool_grad_2x2(xOff * 4, dyOff * 4, dxOff * 4, batch, outH, outW, ch, xRow, xImage),
      gemmPackB: (bOff, ldb, k, n, packedOff, firstPanel, endPanel) =>
        e.gemm_pack_b(bOff * 4, ldb, k, n, packedOff * 4, firstPanel, endPanel),
      gemmRows: (aOff, lda, packedOff, cOff, ldc, firstRow, endRow, n, k, accumulate) =>
        e.gemm_rows(
          aOff * 4,
          lda,
          packedOff * 4,
          cOff * 4,
          ldc,
          firstRow,
          endRow,
          n,
          k,
          accumulate ? 1 : 0,
        ),
      convNHWC: (xOff, zeroOff, packedOff, biasOff, outOff, info, relu, firstPixel, endPixel) =>
        e.conv_nhwc(
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
          firstPixel,
          endPixel,
        ),
    };
  } catch {
    return null;
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
    kernels = instantiate(memory);
    instances.set(memory, kernels);
  }
  return kernels;
}

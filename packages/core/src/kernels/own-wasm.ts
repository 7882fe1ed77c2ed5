/**
 * resnet-ts's own WebAssembly SIMD kernels (wasm/kernels.c): the patch copies and sums
 * around XNNPACK's matrix products, compiled to run inside the wasm backend's own memory,
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
}

let enabled = true;
const instances = new WeakMap<WebAssembly.Memory, OwnWasmKernels | null>();
const rawExports = new WeakMap<OwnWasmKernels, WebAssembly.Exports>();

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
    const raw = new WebAssembly.Instance(module, { env: { memory } }).exports;
    const e = raw as unknown as Exports;
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
    const kernels: OwnWasmKernels = {
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
    };
    rawExports.set(kernels, raw);
    return kernels;
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

/**
 * The module's raw exports over `backend`'s memory (functions taking byte offsets), for
 * kernels that bind their own entry points (conv2d-winograd-wasm.ts); null as for
 * {@link ownWasmKernels}.
 */
export function ownWasmExports(backend: BackendWasm): WebAssembly.Exports | null {
  const kernels = ownWasmKernels(backend);
  return kernels == null ? null : (rawExports.get(kernels) ?? null);
}

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

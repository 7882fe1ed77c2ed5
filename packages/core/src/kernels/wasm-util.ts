/**
 * Helpers for kernels that run on tfjs's wasm backend: they compose the backend's own
 * (XNNPACK) kernels and read or write its heap directly, so no data leaves wasm memory.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  type DataType,
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { ownBatchMatMul } from './gemm-wasm.js';
import { ownWasmKernels } from './own-wasm.js';

type KernelInputs = Record<string, TensorInfo>;

/** The wasm backend's own kernel functions, captured before any override replaces them. */
const stockKernels = new Map<string, KernelFunc>();

/**
 * The wasm backend's original implementation of `name`, even after this package registers
 * its own under that name.
 */
export function stockKernel(name: string): KernelFunc {
  const saved = stockKernels.get(name);
  if (saved != null) return saved;
  const config = getKernel(name, 'wasm');
  if (config == null) throw new Error(`Kernel '${name}' is not registered for backend 'wasm'`);
  return config.kernelFunc;
}

/**
 * Registers `config` for the wasm backend. Where the backend already has a kernel of that
 * name, the stock one is kept for delegation (see `stockKernel`) and its setup function
 * still runs, because the stock kernel function depends on it.
 */
export function registerWasmKernel(
  kernelName: string,
  kernelFunc: (args: {
    inputs: any;
    backend: BackendWasm;
    attrs: any;
  }) => TensorInfo | TensorInfo[],
): void {
  const existing = getKernel(kernelName, 'wasm');
  const config: KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
  if (existing != null) {
    if (!stockKernels.has(kernelName)) stockKernels.set(kernelName, existing.kernelFunc);
    if (existing.setupFunc != null) config.setupFunc = existing.setupFunc;
    unregisterKernel(kernelName, 'wasm');
  }
  registerKernel(config);
}

/** Runs a wasm kernel by name (the stock one where this package overrides it). */
export function run(
  backend: BackendWasm,
  name: string,
  inputs: KernelInputs,
  attrs: NamedAttrMap = {},
): TensorInfo {
  return stockKernel(name)({ inputs, backend, attrs }) as TensorInfo;
}

/** A view of the same data under another shape (no copy, no reference counting). */
export function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Releases a tensor this kernel made and will not return. */
export function release(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** A fresh, uninitialised float32 tensor on the wasm heap. */
export function alloc(backend: BackendWasm, shape: number[], dtype: DataType = 'float32') {
  return backend.makeOutput(shape, dtype);
}

/**
 * The heap as float32 plus the element offset of `t`. Fetch it after the last allocation
 * a kernel makes: growing the heap replaces the buffer and detaches older views.
 */
export function heapF32(backend: BackendWasm, t: TensorInfo): [Float32Array, number] {
  const module = backend.wasm as unknown as {
    HEAPF32: Float32Array;
    wasmMemory?: WebAssembly.Memory;
  };
  let heap = module.HEAPF32;
  // The threaded build's memory is shared; its JS views are refreshed lazily after growth.
  const memory = module.wasmMemory;
  if (memory != null && heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  const { memoryOffset } = backend.dataIdMap.get(t.dataId)!;
  return [heap, (memoryOffset as number) >>> 2];
}

/** The byte offset of `t`'s data in the backend's heap (what the own wasm kernels take). */
export function byteOffset(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset as number;
}

/** `x` [rows, cols] transposed to [cols, rows] (see {@link transposeBatched}). */
export function transpose2d(
  backend: BackendWasm,
  x: TensorInfo,
  rows: number,
  cols: number,
): TensorInfo {
  return transposeBatched(backend, x, 1, rows, cols, false);
}

/**
 * The `count` float32 matrices [rows, cols] of `x` transposed to [count, cols, rows], in
 * reverse order when `reverse` (an HWIO filter's in/out channels swapped and its taps
 * flipped): by the own SIMD kernel, threaded, where it runs (tfjs's Transpose computes every
 * element's source index: 16 ms for a 3x3x512x512 filter, 1 ms here), else by the stock one.
 */
export function transposeBatched(
  backend: BackendWasm,
  x: TensorInfo,
  count: number,
  rows: number,
  cols: number,
  reverse: boolean,
): TensorInfo {
  const own = ownWasmKernels(backend);
  if (own != null && x.dtype === 'float32') {
    const out = alloc(backend, [count, cols, rows]);
    own.transposeBatched(
      heapF32(backend, x)[1],
      heapF32(backend, out)[1],
      count,
      rows,
      cols,
      reverse,
    );
    return out;
  }
  const out = run(backend, 'Transpose', { x: view(x, [count, rows, cols]) }, { perm: [0, 2, 1] });
  if (!reverse || count < 2) return out;
  const flipped = alloc(backend, [count, cols, rows]);
  const [heap, src] = heapF32(backend, out);
  const [, dst] = heapF32(backend, flipped);
  const block = rows * cols;
  for (let m = 0; m < count; m++) {
    heap.copyWithin(dst + (count - 1 - m) * block, src + m * block, src + (m + 1) * block);
  }
  release(backend, out);
  return flipped;
}

/**
 * a [m, k] times b [k, n]: by resnet-ts's own GEMM where its wasm kernels run, else by the
 * backend's plain (non-transposed) matrix product.
 */
export function matMulNN(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  m: number,
  k: number,
  n: number,
): TensorInfo {
  const own = ownBatchMatMul(backend, a, b, 1, m, k, n, 0);
  if (own != null) return view(own, [m, n]);
  const out = run(
    backend,
    'BatchMatMul',
    { a: view(a, [1, m, k]), b: view(b, [1, k, n]) },
    { transposeA: false, transposeB: false },
  );
  return view(out, [m, n]);
}

/**
 * A tensor over part of another tensor's memory (`elementOffset` elements in), so a kernel
 * can hand a slice to another kernel without copying. Give it back with `unborrow`, never
 * `release`: the memory belongs to `base`.
 */
export function borrow(
  backend: BackendWasm,
  base: TensorInfo,
  elementOffset: number,
  shape: number[],
): TensorInfo {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId)!;
  return backend.makeOutput(shape, 'float32', (memoryOffset as number) + 4 * elementOffset);
}

/** Forgets a tensor made by `borrow` without freeing the memory it points into. */
export function unborrow(backend: BackendWasm, t: TensorInfo): void {
  const data = backend.dataIdMap.get(t.dataId);
  if (data == null) return;
  backend.dataIdMap.delete(t.dataId);
  backend.wasm.tfjs.disposeData(data.id);
}

/** tfjs's geometry of an NHWC convolution; other data formats are refused, naming the kernel. */
export function nhwcConvInfo(
  kernel: string,
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: {
    strides: [number, number] | number;
    pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): backend_util.Conv2DInfo {
  const format = backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports NHWC only, got dataFormat '${attrs.dataFormat}'`);
  }
  return backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
}

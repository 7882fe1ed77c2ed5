/**
 * Sum and Mean for the wasm backend when the reduced axes lead (bias gradients and batch-norm
 * statistics reduce an NHWC tensor over N, H and W): one sequential pass accumulating rows.
 * The stock kernels first transpose the reduced axes to the end, which costs more than the
 * reduction itself. Other reductions go to the stock kernels.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type SumAttrs, type SumInputs, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, run } from './wasm-util.js';

function reduceLeading(
  kernel: 'Sum' | 'Mean',
  args: { inputs: SumInputs; backend: BackendWasm; attrs: SumAttrs },
): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading || axes.length === x.shape.length) {
    return run(backend, kernel, { x }, attrs as never);
  }
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  const cols = util.sizeFromShape(x.shape.slice(axes.length));
  const outShape = attrs.keepDims
    ? x.shape.map((d, i) => (i < axes.length ? 1 : d))
    : x.shape.slice(axes.length);
  const out = alloc(backend, outShape);
  const scale = kernel === 'Mean' ? 1 / rows : 1;
  const own = ownWasmKernels(backend);
  if (own && cols > 0) {
    // float64 accumulators on the heap, where the wasm kernel can reach them, a set per thread.
    const floats = own.accumulatorBytes(cols) / 4;
    const scratch = alloc(backend, [floats]);
    const [heap, xOff] = heapF32(backend, x);
    const [, oOff] = heapF32(backend, out);
    const [, sOff] = heapF32(backend, scratch);
    heap.fill(0, sOff, sOff + floats);
    own.sumRows(xOff, sOff * 4, rows, cols);
    const acc = new Float64Array(heap.buffer, heap.byteOffset + sOff * 4, cols);
    for (let c = 0; c < cols; c++) heap[oOff + c] = acc[c] * scale;
    release(backend, scratch);
    return out;
  }
  const [heap, xOff] = heapF32(backend, x);
  const [, oOff] = heapF32(backend, out);
  const acc = new Float64Array(cols);
  let p = xOff;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) acc[c] += heap[p + c];
    p += cols;
  }
  for (let c = 0; c < cols; c++) heap[oOff + c] = acc[c] * scale;
  return out;
}

export function sumWasm(args: { inputs: SumInputs; backend: BackendWasm; attrs: SumAttrs }) {
  return reduceLeading('Sum', args);
}

export function meanWasm(args: { inputs: SumInputs; backend: BackendWasm; attrs: SumAttrs }) {
  return reduceLeading('Mean', args);
}

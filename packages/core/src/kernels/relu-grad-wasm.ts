/**
 * The wasm kernel of `reluGrad` (relu-grad.ts): dy · step(x) in one pass of resnet-ts's own
 * SIMD kernel, split over its threads, for float32 tensors of one shape; otherwise tfjs's
 * Step, Cast and Multiply, as tfjs-core's gradient runs them.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Cast, Multiply, Step, type TensorInfo, util } from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, run } from './wasm-util.js';

/** The wasm kernel: dy · step(x). */
export function reluGradWasm(args: {
  inputs: { dy: TensorInfo; x: TensorInfo };
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, backend } = args;
  const { dy, x } = inputs;
  const own = ownWasmKernels(backend);
  if (
    own == null ||
    dy.dtype !== 'float32' ||
    x.dtype !== 'float32' ||
    !util.arraysEqual(dy.shape, x.shape)
  ) {
    const step = run(backend, Step, { x }, { alpha: 0 });
    const mask = run(backend, Cast, { x: step }, { dtype: 'float32' });
    const dx = run(backend, Multiply, { a: dy, b: mask });
    release(backend, step);
    release(backend, mask);
    return dx;
  }
  const dx = alloc(backend, x.shape);
  const n = util.sizeFromShape(x.shape);
  if (n > 0) {
    const at = (t: TensorInfo) => heapF32(backend, t)[1];
    own.reluGrad(at(dy), at(x), at(dx), n);
  }
  return dx;
}

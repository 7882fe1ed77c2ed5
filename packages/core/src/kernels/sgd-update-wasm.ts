/**
 * The wasm kernel of `sgdUpdate` (sgd-update.ts): one pass over the parameter, its gradient
 * and its momentum buffer in resnet-ts's own SIMD module, split over its threads; where the
 * module cannot run, the same float32 operations in JavaScript (each product and sum of two
 * float32 values rounded once, as float32 hardware does).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type TensorInfo, util } from '@tensorflow/tfjs-core';
import { ownWasmKernels } from './own-wasm.js';
import { SGD_FLAGS, type SgdUpdateAttrs } from './sgd-update.js';
import { alloc, heapF32 } from './wasm-util.js';

/** The wasm kernel: [new parameter, new buffer (with momentum)]. */
export function sgdUpdateWasm(args: {
  inputs: { param: TensorInfo; grad: TensorInfo; buffer?: TensorInfo };
  backend: BackendWasm;
  attrs: SgdUpdateAttrs;
}): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { param, grad, buffer } = inputs;
  const { negLr, weightDecay: wd, momentum, keep, flags } = attrs;
  const withMomentum = (flags & SGD_FLAGS.momentum) !== 0;
  const pOut = alloc(backend, param.shape);
  const bufOut = withMomentum ? alloc(backend, param.shape) : null;
  const n = util.sizeFromShape(param.shape);
  if (n === 0) return bufOut == null ? [pOut] : [pOut, bufOut];
  const at = (t: TensorInfo) => heapF32(backend, t)[1];
  const [pOff, gOff, poOff] = [at(param), at(grad), at(pOut)];
  const bOff = buffer == null ? -1 : at(buffer);
  const boOff = bufOut == null ? -1 : at(bufOut);
  const own = ownWasmKernels(backend);
  if (own != null) {
    own.sgdUpdate(pOff, gOff, bOff, poOff, boOff, n, negLr, wd, momentum, keep, flags);
  } else {
    const [h] = heapF32(backend, pOut);
    const f = Math.fround;
    for (let i = 0; i < n; i++) {
      const p = h[pOff + i];
      let d = flags & SGD_FLAGS.maximize ? -h[gOff + i] : h[gOff + i];
      if (flags & SGD_FLAGS.weightDecay) d = f(d + f(p * wd));
      if (withMomentum) {
        let next = d;
        if (!(flags & SGD_FLAGS.first)) {
          const g = flags & SGD_FLAGS.dampening ? f(d * keep) : d;
          next = f(f(h[bOff + i] * momentum) + g);
        }
        h[boOff + i] = next;
        d = flags & SGD_FLAGS.nesterov ? f(d + f(next * momentum)) : next;
      }
      h[poOff + i] = f(p + f(d * negLr));
    }
  }
  return bufOut == null ? [pOut] : [pOut, bufOut];
}

/**
 * The wasm kernel of `adamUpdate` (adam-update.ts): one pass over the parameter, its
 * gradient and its moments in resnet-ts's own SIMD module, split over its threads; where the
 * module cannot run, the same float32 operations in JavaScript (each operation on two
 * float32 values rounded once, as float32 hardware does; a square root or quotient rounded
 * from double precision is the correctly rounded float32 one).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { type TensorInfo, util } from '@tensorflow/tfjs-core';
import { ADAM_FLAGS, type AdamUpdateAttrs } from './adam-update.js';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32 } from './wasm-util.js';

/** The wasm kernel: [new parameter, m, v, vmax (with AMSGrad)]. */
export function adamUpdateWasm(args: {
  inputs: { param: TensorInfo; grad: TensorInfo; m: TensorInfo; v: TensorInfo; vmax?: TensorInfo };
  backend: BackendWasm;
  attrs: AdamUpdateAttrs;
}): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { param, grad, m, v, vmax } = inputs;
  const { decay, beta1, c1, beta2, c2, bc2, eps, negStep, flags } = attrs;
  const ams = (flags & ADAM_FLAGS.amsgrad) !== 0;
  const outs = Array.from({ length: ams ? 4 : 3 }, () => alloc(backend, param.shape));
  const n = util.sizeFromShape(param.shape);
  if (n === 0) return outs;
  const at = (t: TensorInfo | undefined) => (t == null ? 0 : heapF32(backend, t)[1]);
  const [pOut, mOut, vOut, xOut] = [at(outs[0]), at(outs[1]), at(outs[2]), at(outs[3])];
  const [pOff, gOff, mOff, vOff, xOff] = [at(param), at(grad), at(m), at(v), at(vmax)];
  const own = ownWasmKernels(backend);
  if (own != null) {
    own.adamUpdate(
      [pOff, gOff, mOff, vOff, xOff, pOut, mOut, vOut, xOut],
      n,
      [decay, beta1, c1, beta2, c2, bc2, eps, negStep],
      flags,
    );
    return outs;
  }
  const [h] = heapF32(backend, outs[0]);
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    let d = flags & ADAM_FLAGS.maximize ? -h[gOff + i] : h[gOff + i];
    let w = h[pOff + i];
    if (flags & ADAM_FLAGS.l2) d = f(d + f(w * decay));
    if (flags & ADAM_FLAGS.decoupled) w = f(w * decay);
    const m1 = f(f(h[mOff + i] * beta1) + f(d * c1));
    const v1 = f(f(h[vOff + i] * beta2) + f(f(d * d) * c2));
    h[mOut + i] = m1;
    h[vOut + i] = v1;
    let s = v1;
    if (ams) {
      // As torch.maximum (and adam_update_f32's max_nan): NaN if either is, +0 over -0.
      s = Math.max(h[xOff + i], v1);
      h[xOut + i] = s;
    }
    h[pOut + i] = f(w + f(f(m1 * negStep) / f(f(f(Math.sqrt(s)) / bc2) + eps)));
  }
  return outs;
}

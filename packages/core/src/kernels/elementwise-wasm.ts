/**
 * The elementwise kernels of a training step on wasm, for float32: Relu, Step, Square (batch
 * statistics' squared deviations), and Add, Sub and Multiply of two tensors of one shape, of
 * a tensor and a scalar (an optimiser's rates), of a tensor and a per-channel vector
 * broadcast over its last axis (a bias, batch statistics) or of a tensor and a value per row
 * ([..., 1]: a softmax's maximum and sum). They run in resnet-ts's own SIMD kernels, split
 * over its threads, with NaN and -0 as the cpu backend gives them; the stock binary kernels
 * run on one thread. Other cases go to the stock kernels.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  Add,
  type BinaryInputs,
  backend_util,
  Multiply,
  type NamedAttrMap,
  Relu,
  Square,
  Step,
  type StepAttrs,
  Sub,
  type TensorInfo,
  util,
} from '@tensorflow/tfjs-core';
import { isChannelVector } from './fused-batch-norm-wasm.js';
import { BinaryOp, type OwnWasmKernels, ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, run } from './wasm-util.js';

type Args<I, A = Record<string, never>> = { inputs: I; backend: BackendWasm; attrs: A };

/**
 * A kernel of one float32 input on the own module's export (`apply`), or the stock kernel
 * `name` where the module cannot run or the input is not float32.
 */
function unary<A extends object>(
  name: string,
  apply: (own: OwnWasmKernels, x: number, out: number, n: number, attrs: A) => void,
) {
  return (args: Args<{ x: TensorInfo }, A>): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const own = ownWasmKernels(backend);
    if (own == null || inputs.x.dtype !== 'float32') {
      return run(backend, name, inputs, { ...attrs } as NamedAttrMap);
    }
    const out = alloc(backend, inputs.x.shape);
    const n = util.sizeFromShape(inputs.x.shape);
    if (n > 0) apply(own, heapF32(backend, inputs.x)[1], heapF32(backend, out)[1], n, attrs);
    return out;
  };
}

/** The wasm Relu kernel. */
export const reluWasm = unary(Relu, (own, x, out, n) => own.relu(x, out, n));

/** The wasm Square kernel (x * x, as the cpu kernel rounds it). */
export const squareWasm = unary(Square, (own, x, out, n) => own.square(x, out, n));

/** The wasm Step kernel. */
export const stepWasm = unary<StepAttrs>(Step, (own, x, out, n, attrs) =>
  own.step(x, out, n, attrs.alpha),
);

function binary(name: string, op: BinaryOp) {
  return (args: Args<BinaryInputs>): TensorInfo => {
    const { backend } = args;
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const own = ownWasmKernels(backend);
    if (own == null || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return run(backend, name, { a, b });
    }
    const shape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = util.sizeFromShape(shape);
    const ch = shape.length > 0 ? shape[shape.length - 1] : 1;
    const sizeA = util.sizeFromShape(a.shape);
    const sizeB = util.sizeFromShape(b.shape);
    // The full-size operand and the broadcast one, and how the latter broadcasts.
    const [full, part, vFirst] = sizeA === n ? [a, b, false] : [b, a, true];
    const size = util.sizeFromShape(part.shape);
    const perRow =
      part.shape.length > 0 && part.shape[part.shape.length - 1] === 1 && size * ch === n;
    let how: 'same' | 'scalar' | 'channel' | 'row' | null = null;
    if (sizeA === n && sizeB === n) how = 'same';
    else if (util.sizeFromShape(full.shape) !== n) how = null;
    else if (size === 1) how = 'scalar';
    else if (isChannelVector(part, ch)) how = 'channel';
    else if (perRow) how = 'row';
    if (how == null) return run(backend, name, { a, b });
    const out = alloc(backend, shape);
    if (n === 0) return out;
    const at = (t: TensorInfo) => heapF32(backend, t)[1];
    if (how === 'same') own.binary(op, at(a), at(b), at(out), n);
    else if (how === 'scalar') own.binaryScalar(op, vFirst, at(full), at(part), at(out), n);
    else if (how === 'channel') {
      own.binaryChannel(op, vFirst, at(full), at(part), at(out), n / ch, ch);
    } else own.binaryRow(op, vFirst, at(full), at(part), at(out), n / ch, ch);
    return out;
  };
}

/** The wasm Add kernel. */
export const addWasm = binary(Add, BinaryOp.Add);
/** The wasm Sub kernel. */
export const subWasm = binary(Sub, BinaryOp.Sub);
/** The wasm Multiply kernel. */
export const multiplyWasm = binary(Multiply, BinaryOp.Mul);

/**
 * One SGD step of one parameter as one kernel where the backend has it (wasm: one pass in
 * resnet-ts's own threaded kernel, sgd-update-wasm.ts), else the same arithmetic as tfjs
 * ops (Neg, Multiply, Add): the same float32 results either way, so an optimizer can use it
 * without changing a single bit of its trajectory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatValue, ValueError } from '../errors.js';
import { sameShape } from '../tensors.js';

/** The kernel's name in tfjs's registry. */
export const SGD_UPDATE = 'ResnetTsSgdUpdate';

/** Hyper-parameters of {@link sgdUpdate}, as `torch.optim.SGD`'s. */
export interface SgdUpdateOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor; 0 keeps no buffer. */
  momentum: number;
  /** Dampening of the momentum's gradient term. */
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/** The kernel's attributes: the hyper-parameters rounded to float32, as scalar tensors hold them. */
export interface SgdUpdateAttrs {
  negLr: number;
  weightDecay: number;
  momentum: number;
  keep: number;
  flags: number;
  [key: string]: number;
}

/** Bits of {@link SgdUpdateAttrs.flags}, as wasm/elementwise.c's sgd_update_f32 reads them. */
export const SGD_FLAGS = {
  maximize: 1,
  weightDecay: 2,
  momentum: 4,
  first: 8,
  dampening: 16,
  nesterov: 32,
} as const;

/**
 * The new parameter and momentum buffer of one SGD step (torch.optim.SGD's update): with
 * d = ±grad + weightDecay·param, the buffer becomes d on the first step (`buffer` null) or
 * momentum·buffer + (1 − dampening)·d, and the parameter param − lr·(the buffer, or
 * d + momentum·buffer with Nesterov, or d without momentum). Every operation is rounded to
 * float32 in that order. `buffer` in the result is null without momentum. Where the backend
 * has no kernel the update runs as tfjs ops, whose scalar operands come from `scalar`: an
 * optimizer passes its per-step cache, so that a GPU backend uploads each value once a step
 * (tensors from a cache must be kept: they outlive this call's scope).
 */
export function sgdUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  buffer: tf.Tensor | null,
  options: SgdUpdateOptions,
  scalar: (value: number) => tf.Scalar = (value) => tf.scalar(value),
): { param: tf.Tensor; buffer: tf.Tensor | null } {
  const same = (t: tf.Tensor) => t.dtype === 'float32' && sameShape(t.shape, param.shape);
  if (param.dtype !== 'float32' || !same(grad) || (buffer != null && !same(buffer))) {
    throw new ValueError(
      `sgdUpdate: param, grad and buffer must be float32 of one shape, got param ${param.dtype} ${formatValue(param.shape)}, grad ${grad.dtype} ${formatValue(grad.shape)}${buffer == null ? '' : `, buffer ${buffer.dtype} ${formatValue(buffer.shape)}`}`,
    );
  }
  const { lr, momentum, dampening, weightDecay, nesterov, maximize } = options;
  const flags =
    (maximize ? SGD_FLAGS.maximize : 0) |
    (weightDecay !== 0 ? SGD_FLAGS.weightDecay : 0) |
    (momentum !== 0 ? SGD_FLAGS.momentum : 0) |
    (buffer == null ? SGD_FLAGS.first : 0) |
    (dampening !== 0 ? SGD_FLAGS.dampening : 0) |
    (nesterov ? SGD_FLAGS.nesterov : 0);
  const attrs: SgdUpdateAttrs = {
    negLr: Math.fround(-lr),
    weightDecay: Math.fround(weightDecay),
    momentum: Math.fround(momentum),
    keep: Math.fround(1 - dampening),
    flags,
  };
  if (tf.getKernel(SGD_UPDATE, tf.getBackend()) != null) {
    const inputs: tf.NamedTensorMap = buffer == null ? { param, grad } : { param, grad, buffer };
    const out = tf.engine().runKernel(SGD_UPDATE, inputs, attrs) as tf.Tensor[];
    return { param: out[0], buffer: out[1] ?? null };
  }
  const [newParam, newBuffer] = tf.tidy(() => {
    const s = scalar;
    let d = maximize ? tf.neg(grad) : grad;
    if (flags & SGD_FLAGS.weightDecay) d = tf.add(d, tf.mul(param, s(attrs.weightDecay)));
    let next: tf.Tensor | null = null;
    if (flags & SGD_FLAGS.momentum) {
      next =
        buffer == null
          ? d
          : tf.add(
              tf.mul(buffer, s(attrs.momentum)),
              flags & SGD_FLAGS.dampening ? tf.mul(d, s(attrs.keep)) : d,
            );
      d = nesterov ? tf.add(d, tf.mul(next, s(attrs.momentum))) : next;
    }
    const p = tf.add(param, tf.mul(d, s(attrs.negLr)));
    // A buffer that is the gradient itself is a new tensor, as the kernel's output is.
    return next == null ? [p] : [p, next === grad ? tf.clone(next) : next];
  });
  return { param: newParam, buffer: newBuffer ?? null };
}

/**
 * One Adam step of one parameter as one kernel where the backend has it (wasm: one pass in
 * resnet-ts's own threaded kernel, adam-update-wasm.ts), else the same arithmetic as tfjs
 * ops: the same float32 results either way, so an optimizer can use it without changing a
 * single bit of its trajectory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { formatValue, ValueError } from '../errors.js';
import { sameShape } from '../tensors.js';

/** The kernel's name in tfjs's registry. */
export const ADAM_UPDATE = 'ResnetTsAdamUpdate';

/** Hyper-parameters of {@link adamUpdate}, as `torch.optim.Adam`'s and `AdamW`'s. */
export interface AdamUpdateOptions {
  /** Learning rate. */
  lr: number;
  /** Decay rate of the first moment. */
  beta1: number;
  /** Decay rate of the second moment. */
  beta2: number;
  /** Added to the denominator. */
  eps: number;
  /** L2 penalty added to the gradient, or with `decoupled` the weights' decay rate. */
  weightDecay: number;
  /** Decay the weights (AdamW) instead of adding the L2 term to the gradient. */
  decoupled: boolean;
  /** Divide by the running maximum of the second moment (AMSGrad). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
  /** This step's number, from 1 (for the bias corrections). */
  step: number;
}

/** The kernel's attributes: the hyper-parameters rounded to float32, as scalar tensors hold them. */
export interface AdamUpdateAttrs {
  /** 1 - lr·weightDecay (decoupled) or weightDecay (L2). */
  decay: number;
  beta1: number;
  /** 1 - beta1. */
  c1: number;
  beta2: number;
  /** 1 - beta2. */
  c2: number;
  /** √(1 - beta2^step). */
  bc2: number;
  eps: number;
  /** -lr / (1 - beta1^step). */
  negStep: number;
  flags: number;
  [key: string]: number;
}

/** Bits of {@link AdamUpdateAttrs.flags}, as wasm/elementwise.c's adam_update_f32 reads them. */
export const ADAM_FLAGS = { maximize: 1, l2: 2, decoupled: 4, amsgrad: 8 } as const;

/** The new parameter, moments and (with AMSGrad) running maximum of one Adam step. */
export interface AdamUpdate {
  /** The parameter after the step. */
  param: tf.Tensor;
  /** The first moment. */
  m: tf.Tensor;
  /** The second moment. */
  v: tf.Tensor;
  /** The running maximum of the second moment; null without AMSGrad. */
  vmax: tf.Tensor | null;
}

/**
 * One Adam step (torch.optim.Adam's single-tensor update; AdamW's with `decoupled`): with
 * d = ±grad, plus weightDecay·param under L2, or the param first scaled by
 * 1 - lr·weightDecay when decoupled, m ← β1·m + (1-β1)·d, v ← β2·v + (1-β2)·d², and
 * param ← param - (lr / (1-β1ᵗ))·m / (√v / √(1-β2ᵗ) + ε), with max(vmax, v) for v under
 * AMSGrad. Every operation is rounded to float32 in that order; maxima propagate NaN, as
 * torch.maximum. Where the backend has no kernel the update runs as tfjs ops, whose scalar
 * operands come from `scalar`: an optimizer passes its per-step cache, so that a GPU backend
 * uploads each value once a step (tensors from a cache must be kept: they outlive this
 * call's scope).
 */
export function adamUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  vmax: tf.Tensor | null,
  options: AdamUpdateOptions,
  scalar: (value: number) => tf.Scalar = (value) => tf.scalar(value),
): AdamUpdate {
  const same = (t: tf.Tensor) => t.dtype === 'float32' && sameShape(t.shape, param.shape);
  const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step } = options;
  if (
    param.dtype !== 'float32' ||
    ![grad, m, v].every(same) ||
    (amsgrad ? vmax == null || !same(vmax) : vmax != null)
  ) {
    const vmaxText = vmax == null ? 'none' : `${vmax.dtype} ${formatValue(vmax.shape)}`;
    throw new ValueError(
      `adamUpdate: param, grad, m, v (and vmax, with amsgrad only) must be float32 of one shape, got param ${param.dtype} ${formatValue(param.shape)}, grad ${grad.dtype} ${formatValue(grad.shape)}, m ${m.dtype} ${formatValue(m.shape)}, v ${v.dtype} ${formatValue(v.shape)}, vmax ${vmaxText}`,
    );
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new ValueError(`adamUpdate: step must be an integer >= 1, got ${formatValue(step)}`);
  }
  const f = Math.fround;
  const attrs: AdamUpdateAttrs = {
    decay: f(decoupled ? 1 - lr * weightDecay : weightDecay),
    beta1: f(beta1),
    c1: f(1 - beta1),
    beta2: f(beta2),
    c2: f(1 - beta2),
    bc2: f(Math.sqrt(1 - beta2 ** step)),
    eps: f(eps),
    negStep: f(-lr / (1 - beta1 ** step)),
    flags:
      (maximize ? ADAM_FLAGS.maximize : 0) |
      (weightDecay !== 0 ? (decoupled ? ADAM_FLAGS.decoupled : ADAM_FLAGS.l2) : 0) |
      (amsgrad ? ADAM_FLAGS.amsgrad : 0),
  };
  if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) != null) {
    const inputs: tf.NamedTensorMap =
      vmax == null ? { param, grad, m, v } : { param, grad, m, v, vmax };
    const out = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs) as tf.Tensor[];
    return { param: out[0], m: out[1], v: out[2], vmax: out[3] ?? null };
  }
  const [p1, m1, v1, vmax1] = tf.tidy(() => {
    let d = maximize ? tf.neg(grad) : grad;
    let w = param;
    if (attrs.flags & ADAM_FLAGS.l2) d = tf.add(d, tf.mul(param, scalar(attrs.decay)));
    if (attrs.flags & ADAM_FLAGS.decoupled) w = tf.mul(param, scalar(attrs.decay));
    const mNext = tf.add(tf.mul(m, scalar(attrs.beta1)), tf.mul(d, scalar(attrs.c1)));
    const vNext = tf.add(tf.mul(v, scalar(attrs.beta2)), tf.mul(tf.square(d), scalar(attrs.c2)));
    const second = vmax == null ? vNext : maximumNaN(vmax, vNext);
    const denom = tf.add(tf.div(tf.sqrt(second), scalar(attrs.bc2)), scalar(attrs.eps));
    const p = tf.add(w, tf.div(tf.mul(mNext, scalar(attrs.negStep)), denom));
    return vmax == null ? [p, mNext, vNext] : [p, mNext, vNext, second];
  });
  return { param: p1, m: m1, v: v1, vmax: vmax1 ?? null };
}

/**
 * max(a, b) that is NaN where either is, as torch.maximum (tfjs's Maximum keeps the other
 * value on some backends).
 */
function maximumNaN(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const nan = tf.logicalOr(tf.isNaN(a), tf.isNaN(b));
  return tf.where(nan, tf.add(a, b), tf.maximum(a, b));
}

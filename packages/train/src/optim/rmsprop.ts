import * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
  stateBuffer,
} from './optimizer.js';

/** Hyper-parameters of {@link RMSprop}, as `torch.optim.RMSprop`'s keyword arguments. */
export interface RMSpropOptions extends OptimizerOptions {
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the estimated variance instead of the raw second moment (default false). */
  centered: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * RMSprop, as `torch.optim.RMSprop`: `s ← α·s + (1-α)·g²`, denominator `√s + ε` (or
 * `√(s - ḡ²) + ε` when centered, with `ḡ ← α·ḡ + (1-α)·g`), then either
 * `p ← p - lr·g/denom` or, with momentum, `b ← μ·b + g/denom; p ← p - lr·b`.
 * State per parameter: `step`, `square_avg` (and `momentum_buffer`, `grad_avg`).
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(
    params: tf.Variable[] | ParamGroupInit<RMSpropOptions>[],
    options: Partial<RMSpropOptions> = {},
  ) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...options,
    });
  }

  protected override validate(g: ParamGroup<RMSpropOptions>): void {
    checkNumber('RMSprop', 'lr', g.lr);
    checkNumber('RMSprop', 'alpha', g.alpha);
    checkNumber('RMSprop', 'eps', g.eps);
    checkNumber('RMSprop', 'weightDecay', g.weightDecay);
    checkNumber('RMSprop', 'momentum', g.momentum);
  }

  protected override initState(p: tf.Variable, group: ParamGroup<RMSpropOptions>): ParamState {
    const st: ParamState = { step: 0, square_avg: stateBuffer(p) };
    if (group.momentum > 0) st.momentum_buffer = stateBuffer(p);
    if (group.centered) st.grad_avg = stateBuffer(p);
    return st;
  }

  protected override update(
    p: tf.Variable,
    grad: tf.Tensor,
    group: ParamGroup<RMSpropOptions>,
    state: ParamState,
  ): void {
    const { lr, alpha, eps, weightDecay, momentum, centered, maximize } = group;
    state.step = (state.step as number) + 1;
    let g = maximize ? tf.neg(grad) : grad;
    if (weightDecay !== 0) g = tf.add(g, tf.mul(p, this.scalar(weightDecay)));
    const sq = state.square_avg as tf.Variable;
    const a = this.scalar(alpha);
    const oneMinusA = this.scalar(1 - alpha);
    sq.assign(tf.add(tf.mul(sq, a), tf.mul(tf.square(g), oneMinusA)));
    let avg: tf.Tensor;
    if (centered) {
      if (!state.grad_avg) state.grad_avg = stateBuffer(p);
      const ga = state.grad_avg as tf.Variable;
      ga.assign(tf.add(tf.mul(ga, a), tf.mul(g, oneMinusA)));
      avg = tf.sqrt(tf.sub(sq, tf.square(ga)));
    } else {
      avg = tf.sqrt(sq);
    }
    avg = tf.add(avg, this.scalar(eps));
    if (momentum > 0) {
      if (!state.momentum_buffer) state.momentum_buffer = stateBuffer(p);
      const buf = state.momentum_buffer as tf.Variable;
      buf.assign(tf.add(tf.mul(buf, this.scalar(momentum)), tf.div(g, avg)));
      p.assign(tf.add(p, tf.mul(buf, this.scalar(-lr))));
    } else {
      p.assign(tf.add(p, tf.div(tf.mul(g, this.scalar(-lr)), avg)));
    }
  }
}

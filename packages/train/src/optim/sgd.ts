import { sgdUpdate, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
} from './optimizer.js';

/** Hyper-parameters of {@link SGD}, as `torch.optim.SGD`'s keyword arguments. */
export interface SGDOptions extends OptimizerOptions {
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum's gradient term (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum; needs `momentum > 0` and `dampening = 0` (default false). */
  nesterov: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * Stochastic gradient descent with optional momentum, as `torch.optim.SGD` (1.13 and 2.x
 * agree): with `g ← g + λ·p`, the buffer is `b ← g` on the first step and
 * `b ← μ·b + (1 - τ)·g` after, the step direction is `g + μ·b` (Nesterov) or `b`, and
 * `p ← p - lr·direction`. State per parameter: `momentum_buffer` (when momentum ≠ 0).
 *
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(
    params: tf.Variable[] | ParamGroupInit<SGDOptions>[],
    options: Partial<SGDOptions> & { lr: number },
  ) {
    super(params, {
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...options,
    });
  }

  protected override validate(g: ParamGroup<SGDOptions>): void {
    checkNumber('SGD', 'lr', g.lr);
    checkNumber('SGD', 'momentum', g.momentum);
    checkNumber('SGD', 'weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new ValueError(
        `SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum ${g.momentum}, dampening ${g.dampening}`,
      );
    }
  }

  protected override initState(): ParamState {
    return {};
  }

  protected override update(
    p: tf.Variable,
    grad: tf.Tensor,
    group: ParamGroup<SGDOptions>,
    state: ParamState,
  ): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    const buf = state.momentum_buffer as tf.Variable | undefined;
    // One kernel on wasm for what is otherwise up to eight (core's sgdUpdate), same bits.
    const next = sgdUpdate(
      p,
      grad,
      momentum !== 0 ? (buf ?? null) : null,
      { lr, momentum, dampening, weightDecay, nesterov, maximize },
      (value) => this.scalar(value),
    );
    if (next.buffer != null) {
      if (buf) buf.assign(next.buffer);
      else state.momentum_buffer = tf.variable(next.buffer, false);
    }
    p.assign(next.param);
  }
}

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

/** Hyper-parameters of {@link Adagrad}, as `torch.optim.Adagrad`'s keyword arguments. */
export interface AdagradOptions extends OptimizerOptions {
  /** Learning-rate decay: step t uses `lr / (1 + (t-1)·lrDecay)` (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the squared-gradient sum (default 0). */
  initialAccumulatorValue: number;
  /** Added to the denominator (default 1e-10). */
  eps: number;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

/**
 * Adagrad, as `torch.optim.Adagrad`: RMSprop's denominator with a running sum in place of
 * the moving average, `s ← s + g²`, `p ← p - clr·g/(√s + ε)` with
 * `clr = lr / (1 + (t-1)·lrDecay)`. State per parameter: `step`, `sum`.
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(
    params: tf.Variable[] | ParamGroupInit<AdagradOptions>[],
    options: Partial<AdagradOptions> = {},
  ) {
    super(params, {
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      maximize: false,
      ...options,
    });
  }

  protected override validate(g: ParamGroup<AdagradOptions>): void {
    checkNumber('Adagrad', 'lr', g.lr);
    checkNumber('Adagrad', 'lrDecay', g.lrDecay);
    checkNumber('Adagrad', 'weightDecay', g.weightDecay);
    checkNumber('Adagrad', 'initialAccumulatorValue', g.initialAccumulatorValue);
    checkNumber('Adagrad', 'eps', g.eps);
  }

  protected override initState(p: tf.Variable, group: ParamGroup<AdagradOptions>): ParamState {
    return { step: 0, sum: stateBuffer(p, group.initialAccumulatorValue) };
  }

  protected override update(
    p: tf.Variable,
    grad: tf.Tensor,
    group: ParamGroup<AdagradOptions>,
    state: ParamState,
  ): void {
    const { lr, lrDecay, weightDecay, eps, maximize } = group;
    const step = (state.step as number) + 1;
    state.step = step;
    let g = maximize ? tf.neg(grad) : grad;
    if (weightDecay !== 0) g = tf.add(g, tf.mul(p, this.scalar(weightDecay)));
    const clr = lr / (1 + (step - 1) * lrDecay);
    const sum = state.sum as tf.Variable;
    sum.assign(tf.add(sum, tf.square(g)));
    const std = tf.add(tf.sqrt(sum), this.scalar(eps));
    p.assign(tf.add(p, tf.div(tf.mul(g, this.scalar(-clr)), std)));
  }
}

import { adamUpdate, formatValue, ValueError } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import {
  checkNumber,
  Optimizer,
  type OptimizerOptions,
  type ParamGroup,
  type ParamGroupInit,
  type ParamState,
  stateBuffer,
} from './optimizer.js';

/** Hyper-parameters of {@link Adam} and {@link AdamW}, as PyTorch's keyword arguments. */
export interface AdamOptions extends OptimizerOptions {
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps: number;
  /** L2 penalty (Adam: added to the gradient) or decoupled decay (AdamW). */
  weightDecay: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad: boolean;
  /** Ascend instead of descend (default false). */
  maximize: boolean;
}

type AdamInit = Partial<AdamOptions> & { lr?: number };

/**
 * Adam, as `torch.optim.Adam` (1.13's single-tensor path; 2.x computes the same values):
 * `m ← β1·m + (1-β1)·g`, `v ← β2·v + (1-β2)·g²`, and
 * `p ← p - (lr / (1-β1ᵗ)) · m / (√v / √(1-β2ᵗ) + ε)`, with `√max(v)` under AMSGrad.
 * `weightDecay` adds `λ·p` to the gradient (L2); {@link AdamW} decays the weights instead.
 * State per parameter: `step`, `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`).
 *
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamOptions> {
  /** Whether weight decay is decoupled from the gradient (AdamW) or an L2 term (Adam). */
  protected readonly decoupled: boolean = false;

  constructor(params: tf.Variable[] | ParamGroupInit<AdamOptions>[], options: AdamInit = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...options,
    });
  }

  protected override validate(g: ParamGroup<AdamOptions>): void {
    const owner = this.constructor.name;
    checkNumber(owner, 'lr', g.lr);
    checkNumber(owner, 'eps', g.eps);
    checkNumber(owner, 'weightDecay', g.weightDecay);
    const b = g.betas;
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => x >= 0 && x < 1)) {
      throw new ValueError(`${owner}: betas must be two numbers in [0, 1), got ${formatValue(b)}`);
    }
  }

  protected override initState(p: tf.Variable, group: ParamGroup<AdamOptions>): ParamState {
    const st: ParamState = { step: 0, exp_avg: stateBuffer(p), exp_avg_sq: stateBuffer(p) };
    if (group.amsgrad) st.max_exp_avg_sq = stateBuffer(p);
    return st;
  }

  protected override update(
    p: tf.Variable,
    grad: tf.Tensor,
    group: ParamGroup<AdamOptions>,
    state: ParamState,
  ): void {
    const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
    const step = (state.step as number) + 1;
    state.step = step;
    const m = state.exp_avg as tf.Variable;
    const v = state.exp_avg_sq as tf.Variable;
    let vmax = state.max_exp_avg_sq as tf.Variable | undefined;
    if (amsgrad && !vmax) {
      // amsgrad switched on for a group after its first step: start from zeros as PyTorch.
      vmax = stateBuffer(p);
      state.max_exp_avg_sq = vmax;
    }
    // One kernel on wasm for what is otherwise a dozen (core's adamUpdate), same bits.
    const next = adamUpdate(
      p,
      grad,
      m,
      v,
      amsgrad ? (vmax ?? null) : null,
      {
        lr,
        beta1: betas[0],
        beta2: betas[1],
        eps,
        weightDecay,
        decoupled: this.decoupled,
        amsgrad,
        maximize,
        step,
      },
      (value) => this.scalar(value),
    );
    m.assign(next.m);
    v.assign(next.v);
    if (next.vmax != null) vmax?.assign(next.vmax);
    p.assign(next.param);
  }
}

/**
 * AdamW: {@link Adam} with decoupled weight decay, as `torch.optim.AdamW`: each step first
 * scales the weights by `1 - lr·weightDecay`, then takes Adam's step without the L2 term.
 * `weightDecay` defaults to 0.01 as in PyTorch.
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: tf.Variable[] | ParamGroupInit<AdamOptions>[], options: AdamInit = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }
}

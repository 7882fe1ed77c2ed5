import { formatValue, ValueError } from '@resnet-ts/core';
import { type AnyOptimizer, LRScheduler } from './scheduler.js';

/** A function of the epoch index giving a factor; one for all groups, or one per group. */
export type LrLambda = (epoch: number) => number;

function lambdas(owner: string, groups: number, fn: LrLambda | LrLambda[]): LrLambda[] {
  if (!Array.isArray(fn)) return new Array(groups).fill(fn);
  if (fn.length !== groups)
    throw new ValueError(`${owner}: expected ${groups} lrLambdas, got ${fn.length}`);
  return [...fn];
}

/**
 * Sets each group's rate to its initial rate times `lrLambda(epoch)`, as `LambdaLR`.
 * The functions are not saved in the state dict.
 *
 * @example
 * const sched = new LambdaLR(opt, (epoch) => 0.95 ** epoch);
 */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, lrLambda: LrLambda | LrLambda[], lastEpoch = -1) {
    super(optimizer, lastEpoch);
    this.lrLambdas = lambdas('LambdaLR', this.groups.length, lrLambda);
    this.initialStep();
  }
  protected override transientKeys(): string[] {
    return ['optimizer', 'lrLambdas'];
  }
  protected computeLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }
}

/**
 * Multiplies each group's rate by `lrLambda(epoch)` at every step after the first, as
 * `MultiplicativeLR`.
 */
export class MultiplicativeLR extends LRScheduler {
  private readonly lrLambdas: LrLambda[];
  constructor(optimizer: AnyOptimizer, lrLambda: LrLambda | LrLambda[], lastEpoch = -1) {
    super(optimizer, lastEpoch);
    this.lrLambdas = lambdas('MultiplicativeLR', this.groups.length, lrLambda);
    this.initialStep();
  }
  protected override transientKeys(): string[] {
    return ['optimizer', 'lrLambdas'];
  }
  protected computeLr(): number[] {
    if (this.lastEpoch > 0)
      return this.groups.map((g, i) => g.lr * this.lrLambdas[i](this.lastEpoch));
    return this.groups.map((g) => g.lr);
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Decay factor (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/**
 * Multiplies the rate by `gamma` every `stepSize` epochs, as `StepLR`:
 * `lr = base·γ^⌊epoch/stepSize⌋`.
 *
 * @example
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  constructor(optimizer: AnyOptimizer, { stepSize, gamma = 0.1, lastEpoch = -1 }: StepLROptions) {
    super(optimizer, lastEpoch);
    if (!(Number.isInteger(stepSize) && stepSize > 0)) {
      throw new ValueError(
        `StepLR: stepSize must be a positive integer, got ${formatValue(stepSize)}`,
      );
    }
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0)
      return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Epoch indices at which to decay (a repeated milestone decays twice). */
  milestones: number[];
  /** Decay factor (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/** Multiplies the rate by `gamma` at each milestone, as `MultiStepLR`. */
export class MultiStepLR extends LRScheduler {
  milestones: number[];
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    { milestones, gamma = 0.1, lastEpoch = -1 }: MultiStepLROptions,
  ) {
    super(optimizer, lastEpoch);
    if (!Array.isArray(milestones)) {
      throw new ValueError(
        `MultiStepLR: milestones must be an array, got ${formatValue(milestones)}`,
      );
    }
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.gamma = gamma;
    this.initialStep();
  }
  protected computeLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (hits === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** hits);
  }
  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** Options of {@link ConstantLR}. */
export interface ConstantLROptions {
  /** The factor applied until `totalIters` (default 1/3). */
  factor?: number;
  /** Steps with the reduced rate (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/** Multiplies the rate by `factor` for the first `totalIters` epochs, as `ConstantLR`. */
export class ConstantLR extends LRScheduler {
  factor: number;
  totalIters: number;
  constructor(
    optimizer: AnyOptimizer,
    { factor = 1 / 3, totalIters = 5, lastEpoch = -1 }: ConstantLROptions = {},
  ) {
    super(optimizer, lastEpoch);
    if (!(factor >= 0 && factor <= 1)) {
      throw new ValueError(`ConstantLR: factor must be in [0, 1], got ${formatValue(factor)}`);
    }
    this.factor = factor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 / this.factor));
  }
  protected override closedFormLr(): number[] {
    const done = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((b) => b * (this.factor + done * (1 - this.factor)));
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor at epoch 0 (default 1/3). */
  startFactor?: number;
  /** Factor from `totalIters` on (default 1). */
  endFactor?: number;
  /** Steps of the ramp (default 5). */
  totalIters?: number;
  lastEpoch?: number;
}

/**
 * Ramps the factor linearly from `startFactor` to `endFactor` over `totalIters` epochs, as
 * `LinearLR` (a common warm-up).
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  constructor(
    optimizer: AnyOptimizer,
    { startFactor = 1 / 3, endFactor = 1, totalIters = 5, lastEpoch = -1 }: LinearLROptions = {},
  ) {
    super(optimizer, lastEpoch);
    if (!(startFactor > 0 && startFactor <= 1)) {
      throw new ValueError(
        `LinearLR: startFactor must be in (0, 1], got ${formatValue(startFactor)}`,
      );
    }
    if (!(endFactor >= 0 && endFactor <= 1)) {
      throw new ValueError(`LinearLR: endFactor must be in [0, 1], got ${formatValue(endFactor)}`);
    }
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return this.groups.map((g) => g.lr);
    const d = this.endFactor - this.startFactor;
    const f = 1 + d / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * d);
    return this.groups.map((g) => g.lr * f);
  }
  protected override closedFormLr(): number[] {
    const t = Math.min(this.totalIters, this.lastEpoch);
    return this.baseLrs.map(
      (b) => b * (this.startFactor + ((this.endFactor - this.startFactor) * t) / this.totalIters),
    );
  }
}

/** Multiplies the rate by `gamma` every epoch, as `ExponentialLR`. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  constructor(
    optimizer: AnyOptimizer,
    { gamma, lastEpoch = -1 }: { gamma: number; lastEpoch?: number },
  ) {
    super(optimizer, lastEpoch);
    this.gamma = gamma;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** Options of {@link PolynomialLR}. */
export interface PolynomialLROptions {
  /** Steps until the rate reaches 0 (default 5). */
  totalIters?: number;
  /** The polynomial's power (default 1). */
  power?: number;
  lastEpoch?: number;
}

/**
 * Decays the rate to 0 over `totalIters` epochs as `(1 - t/T)^power`, as `PolynomialLR`
 * (new in PyTorch 1.13).
 */
export class PolynomialLR extends LRScheduler {
  totalIters: number;
  power: number;
  constructor(
    optimizer: AnyOptimizer,
    { totalIters = 5, power = 1, lastEpoch = -1 }: PolynomialLROptions = {},
  ) {
    super(optimizer, lastEpoch);
    this.totalIters = totalIters;
    this.power = power;
    this.initialStep();
  }
  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters)
      return this.groups.map((g) => g.lr);
    const f =
      ((1 - this.lastEpoch / this.totalIters) / (1 - (this.lastEpoch - 1) / this.totalIters)) **
      this.power;
    return this.groups.map((g) => g.lr * f);
  }
  protected override closedFormLr(): number[] {
    const t = Math.min(this.totalIters, this.lastEpoch);
    return this.baseLrs.map((b) => b * (1 - t / this.totalIters) ** this.power);
  }
}

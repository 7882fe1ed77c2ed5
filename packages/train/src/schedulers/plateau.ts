import { formatValue, ValueError } from '@resnet-ts/core';
import { type AnyOptimizer, SchedulerBase } from './scheduler.js';

/** Options of {@link ReduceLROnPlateau}, as PyTorch's keyword arguments. */
export interface ReduceLROnPlateauOptions {
  /** Whether the metric should fall ('min', default) or rise ('max'). */
  mode?: 'min' | 'max';
  /** The rate is multiplied by this on a plateau (default 0.1, must be < 1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4). */
  threshold?: number;
  /** `threshold` relative to the best value ('rel', default) or absolute ('abs'). */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lower bound of the rate, per group or for all (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/**
 * Reduces the rate by `factor` when a metric has stopped improving for `patience` epochs,
 * as `ReduceLROnPlateau`. `step(metric)` takes the metric (fit passes the validation loss,
 * or the training loss without a validation set).
 *
 * @example
 * const sched = new ReduceLROnPlateau(opt, { patience: 3 });
 * sched.step(valLoss);
 */
export class ReduceLROnPlateau extends SchedulerBase {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  eps: number;
  lastEpoch = 0;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;

  constructor(
    optimizer: AnyOptimizer,
    {
      mode = 'min',
      factor = 0.1,
      patience = 10,
      threshold = 1e-4,
      thresholdMode = 'rel',
      cooldown = 0,
      minLr = 0,
      eps = 1e-8,
    }: ReduceLROnPlateauOptions = {},
  ) {
    super(optimizer);
    if (!(factor < 1))
      throw new ValueError(`ReduceLROnPlateau: factor must be < 1, got ${formatValue(factor)}`);
    if (mode !== 'min' && mode !== 'max') {
      throw new ValueError(
        `ReduceLROnPlateau: mode must be 'min' or 'max', got ${formatValue(mode)}`,
      );
    }
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new ValueError(
        `ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got ${formatValue(thresholdMode)}`,
      );
    }
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = this.perGroup('minLr', minLr);
    this.eps = eps;
    this.best = mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    this.lastLr = this.groups.map((g) => g.lr);
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') {
      return this.thresholdMode === 'rel'
        ? a < best * (1 - this.threshold)
        : a < best - this.threshold;
    }
    return this.thresholdMode === 'rel'
      ? a > best * (this.threshold + 1)
      : a > best + this.threshold;
  }

  /** Records one epoch's metric and reduces the rates if it has plateaued. */
  step(metric?: number): void {
    if (typeof metric !== 'number') {
      throw new ValueError(`ReduceLROnPlateau.step needs the metric, got ${formatValue(metric)}`);
    }
    this.lastEpoch += 1;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.groups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.groups.map((g) => g.lr);
  }
}

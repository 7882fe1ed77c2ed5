import { formatValue, ValueError } from '@resnet-ts/core';
import { type AnyOptimizer, LRScheduler, type SchedulerInterval } from './scheduler.js';

function withRates(
  optimizer: AnyOptimizer,
  baseLr: number | number[],
  lastEpoch: number,
): AnyOptimizer {
  if (lastEpoch === -1) {
    const groups = optimizer.paramGroups;
    if (Array.isArray(baseLr) && baseLr.length !== groups.length) {
      throw new ValueError(
        `CyclicLR: expected ${groups.length} values for baseLr, got ${baseLr.length}`,
      );
    }
    groups.forEach((g, i) => {
      g.lr = Array.isArray(baseLr) ? baseLr[i] : baseLr;
    });
  }
  return optimizer;
}

/** Options of {@link CyclicLR}, as `torch.optim.lr_scheduler.CyclicLR`'s arguments. */
export interface CyclicLROptions {
  /** Lower rate of the cycle, per group or for all. */
  baseLr: number | number[];
  /** Upper rate of the cycle, per group or for all. */
  maxLr: number | number[];
  /** Steps from base to max (default 2000). */
  stepSizeUp?: number;
  /** Steps from max back to base (default `stepSizeUp`). */
  stepSizeDown?: number;
  /** Amplitude policy (default 'triangular'); ignored when `scaleFn` is given. */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** `exp_range`'s decay per step (default 1). */
  gamma?: number;
  /** A custom amplitude scale; not saved in the state dict. */
  scaleFn?: (x: number) => number;
  /** What `scaleFn` is given: the cycle number or the step (default 'cycle'). */
  scaleMode?: 'cycle' | 'iterations';
  /** Cycle momentum inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** Lower momentum, per group or for all (default 0.8). */
  baseMomentum?: number | number[];
  /** Upper momentum, per group or for all (default 0.9). */
  maxMomentum?: number | number[];
  lastEpoch?: number;
}

/**
 * Cyclical learning rates (Smith, 2017), as `CyclicLR`, stepped after every batch. The rate
 * moves between `baseLr` and `maxLr` along a triangle whose height is scaled per cycle
 * (`triangular2` halves it; `exp_range` multiplies by `gamma^step`); momentum, when cycled,
 * moves the opposite way between `maxMomentum` and `baseMomentum`.
 *
 * PyTorch 1.13 cycles only a `momentum` hyper-parameter (SGD, RMSprop) and throws for
 * Adam-like optimizers; like PyTorch 2.x, this port cycles `betas[0]` for them instead.
 */
export class CyclicLR extends LRScheduler {
  maxLrs: number[];
  totalSize: number;
  stepRatio: number;
  mode: string;
  gamma: number;
  scaleMode: 'cycle' | 'iterations';
  cycleMomentum: boolean;
  useBeta1: boolean;
  baseMomentums: number[] = [];
  maxMomentums: number[] = [];
  private readonly customScaleFn?: (x: number) => number;

  constructor(optimizer: AnyOptimizer, options: CyclicLROptions) {
    const {
      baseLr,
      maxLr,
      stepSizeUp = 2000,
      stepSizeDown,
      mode = 'triangular',
      gamma = 1,
      scaleFn,
      scaleMode = 'cycle',
      cycleMomentum = true,
      baseMomentum = 0.8,
      maxMomentum = 0.9,
      lastEpoch = -1,
    } = options;
    // PyTorch sets the rates to baseLr before its base constructor records `initial_lr`.
    super(withRates(optimizer, baseLr, lastEpoch), lastEpoch);
    const baseLrs = this.perGroup('baseLr', baseLr);
    this.maxLrs = this.perGroup('maxLr', maxLr);
    const up = Number(stepSizeUp);
    const down = stepSizeDown === undefined ? up : Number(stepSizeDown);
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    if (!['triangular', 'triangular2', 'exp_range'].includes(mode) && !scaleFn) {
      throw new ValueError(
        `CyclicLR: mode must be triangular, triangular2 or exp_range, got ${formatValue(mode)}`,
      );
    }
    this.mode = mode;
    this.gamma = gamma;
    this.customScaleFn = scaleFn;
    this.scaleMode = scaleFn ? scaleMode : mode === 'exp_range' ? 'iterations' : 'cycle';
    this.cycleMomentum = cycleMomentum;
    const defaults = optimizer.defaults as Record<string, unknown>;
    this.useBeta1 = 'betas' in defaults && !('momentum' in defaults);
    if (cycleMomentum) {
      if (!('momentum' in defaults) && !('betas' in defaults)) {
        throw new ValueError(
          `CyclicLR: cycleMomentum needs an optimizer with momentum or betas, got ${optimizer.constructor.name}`,
        );
      }
      const bases = this.perGroup('baseMomentum', baseMomentum);
      if (lastEpoch === -1) {
        for (const [i, g] of this.groups.entries()) this.setMomentum(g, bases[i]);
      }
      this.baseMomentums = this.groups.map((g) =>
        this.useBeta1 ? (g.betas as number[])[0] : (g.momentum as number),
      );
      this.maxMomentums = this.perGroup('maxMomentum', maxMomentum);
    }
    this.initialStep();
    this.baseLrs = baseLrs;
  }

  override get interval(): SchedulerInterval {
    return 'batch';
  }

  protected override transientKeys(): string[] {
    return ['optimizer', 'customScaleFn'];
  }

  private setMomentum(g: Record<string, unknown>, m: number): void {
    if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private scale(x: number): number {
    if (this.customScaleFn) return this.customScaleFn(x);
    if (this.mode === 'triangular2') return 1 / 2 ** (x - 1);
    if (this.mode === 'exp_range') return this.gamma ** x;
    return 1;
  }

  protected computeLr(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1 + this.lastEpoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const s = this.scale(this.scaleMode === 'cycle' ? cycle : this.lastEpoch);
    const lrs = this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * s);
    if (this.cycleMomentum) {
      this.groups.forEach((g, i) => {
        const height = (this.maxMomentums[i] - this.baseMomentums[i]) * scaleFactor;
        this.setMomentum(g, this.maxMomentums[i] - height * s);
      });
    }
    return lrs;
  }
}

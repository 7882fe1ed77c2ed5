import { formatValue, ValueError } from '@resnet-ts/core';
import { type AnyOptimizer, LRScheduler } from './scheduler.js';

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Half-period of the cosine, in steps. */
  tMax: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * Cosine annealing from the initial rate to `etaMin` over `tMax` steps, as
 * `CosineAnnealingLR`. Like PyTorch 1.13 (and 2.x) it uses the recursive form
 * `lr_t = η_min + (lr_{t-1} - η_min)·(1 + cos(πt/T)) / (1 + cos(π(t-1)/T))`, so it composes
 * with other changes to the rate; alone it equals the closed form
 * `η_min + (base - η_min)·(1 + cos(πt/T))/2`. Past `tMax` the rate climbs back up (a
 * cosine, not a restart). PyTorch 2.x keeps this recursion.
 *
 * @example
 * const sched = new CosineAnnealingLR(opt, { tMax: epochs });
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  constructor(
    optimizer: AnyOptimizer,
    { tMax, etaMin = 0, lastEpoch = -1 }: CosineAnnealingLROptions,
  ) {
    super(optimizer, lastEpoch);
    if (!(tMax > 0))
      throw new ValueError(`CosineAnnealingLR: tMax must be > 0, got ${formatValue(tMax)}`);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }
  protected computeLr(): number[] {
    const { lastEpoch: t, tMax: T, etaMin } = this;
    if (t === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map(
        (b) => etaMin + ((b - etaMin) * (1 + Math.cos((t * Math.PI) / T))) / 2,
      );
    }
    if ((t - 1 - T) % (2 * T) === 0) {
      return this.groups.map(
        (g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2,
      );
    }
    return this.groups.map(
      (g) =>
        ((1 + Math.cos((Math.PI * t) / T)) / (1 + Math.cos((Math.PI * (t - 1)) / T))) *
          (g.lr - etaMin) +
        etaMin,
    );
  }
  protected override closedFormLr(): number[] {
    const { lastEpoch: t, tMax: T, etaMin } = this;
    return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((Math.PI * t) / T))) / 2);
  }
}

/** Options of {@link CosineAnnealingWarmRestarts}. */
export interface CosineAnnealingWarmRestartsOptions {
  /** Length of the first period, in steps (a positive integer). */
  t0: number;
  /** Each period is this many times longer than the last (integer >= 1, default 1). */
  tMult?: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * SGDR: cosine annealing that restarts at the initial rate after `t0`, then `t0·tMult`, ...
 * steps, as `CosineAnnealingWarmRestarts`. Stepped per epoch by default; PyTorch also allows
 * fractional epochs (`step(epoch + i/iters)`), which this port does not.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  t0: number;
  tI: number;
  tMult: number;
  etaMin: number;
  tCur: number;
  constructor(
    optimizer: AnyOptimizer,
    { t0, tMult = 1, etaMin = 0, lastEpoch = -1 }: CosineAnnealingWarmRestartsOptions,
  ) {
    super(optimizer, lastEpoch);
    if (!(Number.isInteger(t0) && t0 > 0)) {
      throw new ValueError(
        `CosineAnnealingWarmRestarts: t0 must be a positive integer, got ${formatValue(t0)}`,
      );
    }
    if (!(Number.isInteger(tMult) && tMult >= 1)) {
      throw new ValueError(
        `CosineAnnealingWarmRestarts: tMult must be an integer >= 1, got ${formatValue(tMult)}`,
      );
    }
    this.t0 = t0;
    this.tI = t0;
    this.tMult = tMult;
    this.etaMin = etaMin;
    this.tCur = lastEpoch;
    this.initialStep();
  }
  protected computeLr(): number[] {
    return this.baseLrs.map(
      (b) =>
        this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.tCur) / this.tI))) / 2,
    );
  }
  override step(): void {
    if (this.lastEpoch < 0) {
      this.stepTo(0);
      return;
    }
    // PyTorch 1.13's override never counts its steps: `_step_count` stays 0, and so does ours,
    // so that state dicts agree field for field.
    this.lastEpoch += 1;
    this.tCur += 1;
    if (this.tCur >= this.tI) {
      this.tCur -= this.tI;
      this.tI *= this.tMult;
    }
    this.apply(this.computeLr());
  }
  override stepTo(epoch: number): void {
    if (epoch < 0)
      throw new ValueError(`CosineAnnealingWarmRestarts: epoch must be >= 0, got ${epoch}`);
    if (epoch >= this.t0) {
      if (this.tMult === 1) {
        this.tCur = epoch % this.t0;
      } else {
        const n = Math.floor(
          Math.log((epoch / this.t0) * (this.tMult - 1) + 1) / Math.log(this.tMult),
        );
        this.tCur = epoch - (this.t0 * (this.tMult ** n - 1)) / (this.tMult - 1);
        this.tI = this.t0 * this.tMult ** n;
      }
    } else {
      this.tI = this.t0;
      this.tCur = epoch;
    }
    this.lastEpoch = Math.floor(epoch);
    this.apply(this.computeLr());
  }
}

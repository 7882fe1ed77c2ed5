import { formatValue, ValueError } from '@resnet-ts/core';
import { type AnyOptimizer, LRScheduler, type SchedulerInterval } from './scheduler.js';

/** Options of {@link OneCycleLR}, as `torch.optim.lr_scheduler.OneCycleLR`'s arguments. */
export interface OneCycleLROptions {
  /** Peak rate, per group or for all. */
  maxLr: number | number[];
  /** Total number of steps; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent rising (default 0.3). */
  pctStart?: number;
  /** Shape of each phase (default 'cos'). */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (or Adam's beta1) inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** Momentum at the peak rate (default 0.85). */
  baseMomentum?: number | number[];
  /** Momentum at the start and end (default 0.95). */
  maxMomentum?: number | number[];
  /** The initial rate is `maxLr / divFactor` (default 25). */
  divFactor?: number;
  /** The final rate is the initial rate / `finalDivFactor` (default 1e4). */
  finalDivFactor?: number;
  /** Use fast.ai's three phases: up, back down to the initial rate, then annihilate (default false). */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin, 2018), as `OneCycleLR`, stepped after every batch: the
 * rate rises from `maxLr/divFactor` to `maxLr` over `pctStart` of the steps, then anneals to
 * `initial/finalDivFactor`; momentum (or `betas[0]` for Adam-like optimizers) moves the
 * opposite way. Stepping more than `totalSteps` times throws, as in PyTorch. The phase
 * boundaries are PyTorch 1.13's (`pctStart·total - 1`, ...); 2.x computes the same.
 *
 * @example
 * const sched = new OneCycleLR(opt, { maxLr: 0.1, epochs: 10, stepsPerEpoch: loader.length });
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  phases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1 = false;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    super(optimizer, options.lastEpoch ?? -1);
    const {
      maxLr,
      totalSteps,
      epochs,
      stepsPerEpoch,
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      lastEpoch = -1,
    } = options;
    if (totalSteps !== undefined) {
      if (!(Number.isInteger(totalSteps) && totalSteps > 0)) {
        throw new ValueError(
          `OneCycleLR: totalSteps must be a positive integer, got ${formatValue(totalSteps)}`,
        );
      }
      this.totalSteps = totalSteps;
    } else {
      if (!(Number.isInteger(epochs) && (epochs as number) > 0)) {
        throw new ValueError(
          `OneCycleLR: give totalSteps, or epochs and stepsPerEpoch as positive integers; got epochs ${formatValue(epochs)}`,
        );
      }
      if (!(Number.isInteger(stepsPerEpoch) && (stepsPerEpoch as number) > 0)) {
        throw new ValueError(
          `OneCycleLR: stepsPerEpoch must be a positive integer, got ${formatValue(stepsPerEpoch)}`,
        );
      }
      this.totalSteps = (epochs as number) * (stepsPerEpoch as number);
    }
    if (!(pctStart >= 0 && pctStart <= 1)) {
      throw new ValueError(`OneCycleLR: pctStart must be in [0, 1], got ${formatValue(pctStart)}`);
    }
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new ValueError(
        `OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${formatValue(annealStrategy)}`,
      );
    }
    this.annealStrategy = annealStrategy;
    const total = this.totalSteps;
    this.phases = threePhase
      ? [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pctStart * total - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'initialLr',
            endLr: 'minLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'maxMomentum',
          },
        ]
      : [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'maxLr',
            endLr: 'minLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
        ];
    const maxLrs = this.perGroup('maxLr', maxLr);
    if (lastEpoch === -1) {
      this.groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
      this.baseLrs = this.groups.map((g) => g.initialLr as number);
    }
    this.cycleMomentum = cycleMomentum;
    if (cycleMomentum) {
      const defaults = optimizer.defaults as Record<string, unknown>;
      if (!('momentum' in defaults) && !('betas' in defaults)) {
        throw new ValueError(
          `OneCycleLR: cycleMomentum needs an optimizer with momentum or betas, got ${optimizer.constructor.name}`,
        );
      }
      this.useBeta1 = 'betas' in defaults;
      const maxMs = this.perGroup('maxMomentum', maxMomentum);
      const baseMs = this.perGroup('baseMomentum', baseMomentum);
      if (lastEpoch === -1) {
        this.groups.forEach((g, i) => {
          this.setMomentum(g, maxMs[i]);
          g.maxMomentum = maxMs[i];
          g.baseMomentum = baseMs[i];
        });
      }
    }
    this.initialStep();
  }

  override get interval(): SchedulerInterval {
    return 'batch';
  }

  private setMomentum(g: Record<string, unknown>, m: number): void {
    if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
  }

  protected computeLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new ValueError(
        `OneCycleLR: tried to step ${stepNum + 1} times; the schedule has ${this.totalSteps} steps`,
      );
    }
    return this.groups.map((g) => {
      let start = 0;
      for (const [i, phase] of this.phases.entries()) {
        if (stepNum <= phase.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - start) / (phase.endStep - start);
          if (this.cycleMomentum) {
            this.setMomentum(
              g,
              this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct),
            );
          }
          return this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
        }
        start = phase.endStep;
      }
      throw new Error('unreachable: the last phase always matches');
    });
  }
}

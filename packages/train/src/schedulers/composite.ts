import { formatValue, ValueError } from '@resnet-ts/core';
import {
  LRScheduler,
  SchedulerBase,
  type SchedulerInterval,
  type SchedulerStateDict,
} from './scheduler.js';

function sameOptimizer(owner: string, schedulers: LRScheduler[]): void {
  if (!Array.isArray(schedulers) || schedulers.length === 0) {
    throw new ValueError(
      `${owner}: expected a non-empty list of schedulers, got ${formatValue(schedulers)}`,
    );
  }
  schedulers.forEach((s, i) => {
    if (!(s instanceof LRScheduler)) {
      throw new ValueError(`${owner}: scheduler ${i} is not an LRScheduler`);
    }
    if (s.optimizer !== schedulers[0].optimizer) {
      throw new ValueError(`${owner}: schedulers 0 and ${i} belong to different optimizers`);
    }
  });
}

/** Per batch if any wrapped scheduler is. */
function intervalOf(schedulers: LRScheduler[]): SchedulerInterval {
  return schedulers.some((s) => s.interval === 'batch') ? 'batch' : 'epoch';
}

/**
 * What {@link SequentialLR} and {@link ChainedScheduler} share: the wrapped schedulers, an
 * interval derived from theirs, and a state dict that nests each one's.
 */
abstract class CompositeScheduler extends SchedulerBase {
  protected readonly schedulers: LRScheduler[];

  constructor(owner: string, schedulers: LRScheduler[]) {
    sameOptimizer(owner, schedulers);
    super(schedulers[0].optimizer);
    this.schedulers = [...schedulers];
  }

  override get interval(): SchedulerInterval {
    return intervalOf(this.schedulers);
  }

  protected override transientKeys(): string[] {
    return ['optimizer', 'schedulers'];
  }

  override stateDict(): SchedulerStateDict {
    return { ...super.stateDict(), schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  override loadStateDict(state: SchedulerStateDict): void {
    super.loadStateDict(state);
    const inner = state.schedulers as SchedulerStateDict[] | undefined;
    if (!Array.isArray(inner) || inner.length !== this.schedulers.length) {
      throw new ValueError(
        `${this.constructor.name}.loadStateDict: expected ${this.schedulers.length} scheduler states`,
      );
    }
    for (const [i, st] of inner.entries()) this.schedulers[i].loadStateDict(st);
  }
}

/**
 * Runs schedulers one after another, switching at the milestones, as `SequentialLR` in
 * PyTorch 1.13: at a milestone the next scheduler jumps to its epoch 0 (using its closed
 * form where it has one). Only {@link LRScheduler}s can be sequenced ({@link ReduceLROnPlateau}
 * needs a metric), as recent PyTorch enforces too; those releases also undo the initial step
 * of schedulers nested inside a wrapped composite, which 1.13 and this port do not.
 *
 * @example
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 5 });
 * const decay = new CosineAnnealingLR(opt, { tMax: 95 });
 * const sched = new SequentialLR(opt, { schedulers: [warmup, decay], milestones: [5] });
 */
export class SequentialLR extends CompositeScheduler {
  lastEpoch: number;
  milestones: number[];

  constructor(
    optimizer: LRScheduler['optimizer'],
    {
      schedulers,
      milestones,
      lastEpoch = -1,
    }: { schedulers: LRScheduler[]; milestones: number[]; lastEpoch?: number },
  ) {
    super('SequentialLR', schedulers);
    if (schedulers[0].optimizer !== optimizer) {
      throw new ValueError('SequentialLR: the schedulers belong to a different optimizer');
    }
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new ValueError(
        `SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${formatValue(milestones)}`,
      );
    }
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    for (const g of this.groups) g.lr = g.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    (this.schedulers[0] as unknown as { initialStep(): void }).initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }

  step(): void {
    this.lastEpoch += 1;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.stepTo(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }
}

/**
 * Steps several schedulers together, each multiplying into the rate the previous one set,
 * as `ChainedScheduler` (e.g. a constant warm-up factor over an exponential decay).
 */
export class ChainedScheduler extends CompositeScheduler {
  constructor(schedulers: LRScheduler[]) {
    super('ChainedScheduler', schedulers);
    this.lastLr = this.groups.map((g) => g.lr);
  }

  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.groups.map((g) => g.lr);
  }
}

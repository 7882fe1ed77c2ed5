import { formatValue, ValueError } from '@resnet-ts/core';
import { CosineAnnealingLR } from './cosine.js';
import { MultiStepLR, StepLR } from './factor-schedules.js';
import { OneCycleLR } from './one-cycle.js';
import { ReduceLROnPlateau } from './plateau.js';
import type { AnyOptimizer, Scheduler } from './scheduler.js';

/** The schedules {@link createScheduler} builds by name, as the CLI's `--scheduler` takes them. */
export const SCHEDULER_NAMES = [
  'onecycle',
  'cosine',
  'step',
  'multistep',
  'plateau',
  'none',
] as const;

/** A name {@link createScheduler} accepts. */
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** What {@link createScheduler} needs to know about the run, and the few knobs it offers. */
export interface SchedulerSettings {
  /** Epochs of the whole run (resumed ones included). */
  epochs: number;
  /**
   * Scheduler steps per epoch when stepping per batch: optimizer steps, so
   * `Math.ceil(batches / accumulate)` under gradient accumulation. Read by `onecycle` only.
   */
  stepsPerEpoch: number;
  /** The rate the run was given: `onecycle`'s peak. */
  lr: number;
  /** `multistep`: epochs at which the rate decays (default `[round(epochs/2), round(3·epochs/4)]`). */
  milestones?: number[];
  /** `step`: epochs between decays (default `max(1, round(epochs/3))`). */
  stepSize?: number;
  /** `step`, `multistep` and `plateau`: the factor of each decay (default 0.1). */
  gamma?: number;
}

/** Whether `name` is one of {@link SCHEDULER_NAMES}. */
export function isSchedulerName(name: unknown): name is SchedulerName {
  return (SCHEDULER_NAMES as readonly unknown[]).includes(name);
}

/** Which of the optional settings each name reads; giving another one is an error. */
const READS: Record<SchedulerName, ReadonlyArray<'milestones' | 'stepSize' | 'gamma'>> = {
  onecycle: [],
  cosine: [],
  step: ['stepSize', 'gamma'],
  multistep: ['milestones', 'gamma'],
  plateau: ['gamma'],
  none: [],
};

function checkPositiveInteger(what: string, value: unknown): asserts value is number {
  if (!(Number.isInteger(value) && (value as number) >= 1)) {
    throw new ValueError(
      `createScheduler: ${what} must be a positive integer, got ${formatValue(value)}`,
    );
  }
}

/**
 * The learning-rate schedule `name` stands for, with one meaning per name whatever the
 * caller:
 * - `onecycle`: {@link OneCycleLR} peaking at `lr`, over `epochs × stepsPerEpoch` steps,
 *   stepped per batch, with PyTorch's other defaults;
 * - `cosine`: {@link CosineAnnealingLR} from the optimizer's rate to 0 over `epochs`;
 * - `step`: {@link StepLR}, ×`gamma` (0.1) every `stepSize` (max(1, round(epochs/3))) epochs;
 * - `multistep`: {@link MultiStepLR}, ×`gamma` (0.1) at `milestones`
 *   ([round(epochs/2), round(3·epochs/4)]);
 * - `plateau`: {@link ReduceLROnPlateau}, ×`gamma` (0.1) after 2 epochs without improvement;
 * - `none`: `undefined`, the rate stays.
 * Every scheduler but `onecycle` steps per epoch; `fit` reads that from its `interval`.
 * A setting the named schedule does not read is an error, not silently ignored.
 *
 * @example
 * const sched = createScheduler('onecycle', opt, { epochs: 10, stepsPerEpoch: loader.length, lr: 0.1 });
 */
export function createScheduler(
  name: SchedulerName,
  optimizer: AnyOptimizer,
  settings: SchedulerSettings,
): Scheduler | undefined {
  if (!isSchedulerName(name)) {
    throw new ValueError(
      `createScheduler: unknown scheduler ${formatValue(name)}; expected one of ${SCHEDULER_NAMES.join(', ')}`,
    );
  }
  const given = settings ?? ({} as Partial<SchedulerSettings>);
  const { epochs, stepsPerEpoch, lr, milestones, stepSize, gamma } = given;
  checkPositiveInteger('epochs', epochs);
  for (const key of ['milestones', 'stepSize', 'gamma'] as const) {
    if (given[key] !== undefined && !READS[name].includes(key)) {
      const readers = SCHEDULER_NAMES.filter((n) => READS[n].includes(key));
      throw new ValueError(
        `createScheduler: ${name} has no ${key} (got ${formatValue(given[key])}); only ${readers.join(', ')} read it`,
      );
    }
  }
  if (gamma !== undefined && !(typeof gamma === 'number' && gamma > 0 && gamma <= 1)) {
    throw new ValueError(`createScheduler: gamma must be in (0, 1], got ${formatValue(gamma)}`);
  }
  const factor = gamma ?? 0.1;
  switch (name) {
    case 'onecycle':
      checkPositiveInteger('stepsPerEpoch', stepsPerEpoch);
      if (!(typeof lr === 'number' && Number.isFinite(lr) && lr > 0)) {
        throw new ValueError(
          `createScheduler: lr must be a positive number, got ${formatValue(lr)}`,
        );
      }
      return new OneCycleLR(optimizer, { maxLr: lr, epochs, stepsPerEpoch });
    case 'cosine':
      return new CosineAnnealingLR(optimizer, { tMax: epochs });
    case 'step':
      if (stepSize !== undefined) checkPositiveInteger('stepSize', stepSize);
      return new StepLR(optimizer, {
        stepSize: stepSize ?? Math.max(1, Math.round(epochs / 3)),
        gamma: factor,
      });
    case 'multistep':
      if (milestones !== undefined) checkMilestones(milestones);
      return new MultiStepLR(optimizer, {
        milestones: milestones ?? [Math.round(epochs / 2), Math.round((epochs * 3) / 4)],
        gamma: factor,
      });
    case 'plateau':
      return new ReduceLROnPlateau(optimizer, { patience: 2, factor });
    case 'none':
      return undefined;
  }
}

function checkMilestones(milestones: unknown): void {
  if (
    !Array.isArray(milestones) ||
    milestones.length === 0 ||
    !milestones.every(
      (m, i) => Number.isInteger(m) && m >= 1 && (i === 0 || m >= milestones[i - 1]),
    )
  ) {
    throw new ValueError(
      `createScheduler: milestones must be a non-empty list of increasing positive integers, got ${formatValue(milestones)}`,
    );
  }
}

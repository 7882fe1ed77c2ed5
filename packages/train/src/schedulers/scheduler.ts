import { formatValue, ValueError } from '@resnet-ts/core';
import type { Optimizer, OptimizerOptions, ParamGroup } from '../optim/optimizer.js';

/** When `fit` steps a scheduler: after every optimizer step, or once per epoch. */
export type SchedulerInterval = 'batch' | 'epoch';

/** A scheduler's serialisable state: plain JSON-like values (numbers may be ±Infinity). */
export type SchedulerStateDict = Record<string, unknown>;

/** Any optimizer, whatever its hyper-parameters. */
export type AnyOptimizer = Optimizer<any>;

/**
 * What every scheduler offers, the {@link ReduceLROnPlateau} included: `fit` drives them
 * through this interface.
 */
export interface Scheduler {
  /** The optimizer whose rates it sets. */
  readonly optimizer: AnyOptimizer;
  /** Whether it expects a step per batch or per epoch. */
  readonly interval: SchedulerInterval;
  /** Advances one batch or epoch; `metric` is read by {@link ReduceLROnPlateau} only. */
  step(metric?: number): void;
  /** The rate of each parameter group after the last step, as `get_last_lr()`. */
  getLastLr(): number[];
  /** The state to save, as `state_dict()`. */
  stateDict(): SchedulerStateDict;
  /** Restores a state from {@link Scheduler.stateDict}; the sequence then continues. */
  loadStateDict(state: SchedulerStateDict): void;
}

/**
 * Bookkeeping shared by all schedulers: the optimizer, the last rates and a state dict made
 * of the scheduler's own fields (minus the optimizer, functions and wrapped schedulers,
 * which {@link SchedulerBase.transientKeys} lists), as PyTorch's `state_dict()` is.
 */
export abstract class SchedulerBase implements Scheduler {
  /** The optimizer whose rates it sets. */
  readonly optimizer: AnyOptimizer;
  protected lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) {
      throw new ValueError(
        `${this.constructor.name}: expected an Optimizer, got ${formatValue(optimizer)}`,
      );
    }
    this.optimizer = optimizer;
  }

  /** Per epoch unless a subclass says otherwise. */
  get interval(): SchedulerInterval {
    return 'epoch';
  }

  abstract step(metric?: number): void;

  /** The rate of each parameter group after the last step, as `get_last_lr()`. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The parameter groups, typed for reading and writing scheduler entries. */
  protected get groups(): ParamGroup<OptimizerOptions>[] {
    return this.optimizer.paramGroups;
  }

  /** A per-group value: a list must have one entry per group; a number applies to all. */
  protected perGroup(name: string, value: number | number[]): number[] {
    const n = this.groups.length;
    if (Array.isArray(value)) {
      if (value.length !== n) {
        throw new ValueError(
          `${this.constructor.name}: expected ${n} values for ${name}, got ${value.length}`,
        );
      }
      return [...value];
    }
    return new Array(n).fill(value);
  }

  /** Fields left out of the state dict. */
  protected transientKeys(): string[] {
    return ['optimizer'];
  }

  /** The scheduler's fields, deep-copied. */
  stateDict(): SchedulerStateDict {
    const skip = new Set(this.transientKeys());
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) {
      if (!skip.has(k) && typeof v !== 'function') out[k] = structuredClone(v);
    }
    return out;
  }

  /** Overwrites the scheduler's fields with a saved state. */
  loadStateDict(state: SchedulerStateDict): void {
    if (!state || typeof state !== 'object') {
      throw new ValueError(
        `${this.constructor.name}.loadStateDict: expected an object, got ${formatValue(state)}`,
      );
    }
    const skip = new Set(this.transientKeys());
    for (const [k, v] of Object.entries(state))
      if (!skip.has(k)) (this as any)[k] = structuredClone(v);
  }
}

/**
 * The base of epoch-indexed schedulers, as PyTorch 1.13's `_LRScheduler`: it owns
 * `lastEpoch`, the groups' initial rates (`initialLr` on each group, `baseLrs` here) and
 * `step()`; a subclass only computes the next rates ({@link LRScheduler.computeLr}, and
 * where PyTorch has one, the closed form used when stepping to an explicit epoch).
 *
 * Construction performs the first step, so the optimizer starts at the epoch-0 rate. Pass
 * `lastEpoch` to construct a scheduler for a run already under way (the groups must then
 * carry `initialLr`), or better, load a state dict. With `lastEpoch >= 0`, PyTorch 1.13 (and
 * this port) applies one chainable step at construction; recent 2.x releases leave the rate
 * as it is there (their `_is_initial` flag). Stepping from `lastEpoch = -1` agrees in both.
 */
export abstract class LRScheduler extends SchedulerBase {
  /** The index of the last step taken (-1 before any). */
  lastEpoch: number;
  /** Each group's rate at the start of the schedule. */
  baseLrs: number[];
  protected stepCount = 0;

  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    super(optimizer);
    if (lastEpoch === -1) {
      for (const g of this.groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      this.groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new ValueError(
            `${this.constructor.name}: lastEpoch is ${lastEpoch} but parameter group ${i} has no initialLr (resume from a state dict instead)`,
          );
        }
      });
    }
    this.baseLrs = this.groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** Takes the first step; subclasses call it at the end of their constructor. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates for `lastEpoch`, given the groups' current rates (PyTorch's chainable form). */
  protected abstract computeLr(): number[];

  /** The rates for `lastEpoch` from the base rates alone, where PyTorch has such a form. */
  protected closedFormLr(): number[] | undefined {
    return undefined;
  }

  /** Advances one step and writes the new rates into the parameter groups. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    this.apply(this.computeLr());
  }

  /**
   * Jumps to `epoch`, using the closed form where there is one (PyTorch's deprecated
   * `step(epoch)`, which `SequentialLR` still uses at its milestones).
   */
  stepTo(epoch: number): void {
    this.stepCount += 1;
    this.lastEpoch = epoch;
    this.apply(this.closedFormLr() ?? this.computeLr());
  }

  protected apply(lrs: number[]): void {
    this.groups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this.lastLr = this.groups.map((g) => g.lr);
  }
}

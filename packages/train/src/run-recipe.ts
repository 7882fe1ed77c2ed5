import type { Module } from '@resnet-ts/core';
import * as v from 'valibot';
import { createOptimizer, OPTIMIZER_NAMES, type OptimizerName } from './optim/create-optimizer.js';
import type { Optimizer } from './optim/optimizer.js';
import { createScheduler, SCHEDULER_NAMES } from './schedulers/create-scheduler.js';
import type { Scheduler } from './schedulers/scheduler.js';

/** The optimizers with a momentum (PyTorch's SGD and RMSprop); Adam's betas play that part. */
export const MOMENTUM_OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'rmsprop'];

const wholeFrom = (min: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(Number.MAX_SAFE_INTEGER));
const nonNegative = v.pipe(v.number(), v.minValue(0), v.finite());

/**
 * The schema of a run's hyper-parameters as run.json records them (key order is the order
 * they are written in). `seed` stops two short of 2³² because the run seeds generators with
 * `seed`, `seed + 1` and `seed + 2`.
 */
export const runRecipeSchema = v.object({
  epochs: wholeFrom(1),
  batchSize: wholeFrom(1),
  optimizer: v.picklist(OPTIMIZER_NAMES),
  lr: v.pipe(v.number(), v.gtValue(0), v.finite()),
  scheduler: v.picklist(SCHEDULER_NAMES),
  weightDecay: nonNegative,
  seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 32 - 3)),
  momentum: nonNegative,
  milestones: v.pipe(v.array(wholeFrom(0)), v.maxLength(10_000)),
  valSplit: v.pipe(v.number(), v.minValue(0), v.ltValue(1)),
});

/** Every hyper-parameter of a run, defaults filled in; saved in run.json to resume the run. */
export type RunRecipe = v.InferOutput<typeof runRecipeSchema>;

/**
 * The optimizer a recipe names, over the model's trainable parameters (frozen ones are left
 * out); momentum is passed only to the optimizers that have one.
 */
export function recipeOptimizer(model: Module, r: RunRecipe): Optimizer {
  const params = model.parameters().filter((p) => p.trainable);
  return createOptimizer(r.optimizer, params, {
    lr: r.lr,
    weightDecay: r.weightDecay,
    ...(MOMENTUM_OPTIMIZERS.includes(r.optimizer) ? { momentum: r.momentum } : {}),
  });
}

/** The schedule a recipe names (one meaning per name, see `createScheduler`); OneCycle peaks at `lr`. */
export function recipeScheduler(
  optimizer: Optimizer,
  r: RunRecipe,
  stepsPerEpoch: number,
): Scheduler | undefined {
  return createScheduler(r.scheduler, optimizer, {
    epochs: r.epochs,
    stepsPerEpoch,
    lr: r.lr,
    ...(r.scheduler === 'multistep' ? { milestones: r.milestones } : {}),
  });
}

import type { Module } from '@resnet-ts/core';
import { createOptimizer, createScheduler, type Optimizer, type Scheduler } from '@resnet-ts/train';
import { MOMENTUM_OPTIMIZERS, type Recipe } from './recipe.js';

/** The optimizer a recipe names, over the model's trainable parameters. */
export function buildOptimizer(model: Module, r: Recipe): Optimizer {
  const params = model.parameters().filter((p) => p.trainable);
  return createOptimizer(r.optimizer, params, {
    lr: r.lr,
    weightDecay: r.weightDecay,
    ...(MOMENTUM_OPTIMIZERS.includes(r.optimizer) ? { momentum: r.momentum } : {}),
  });
}

/** The schedule a recipe names (train's meaning of each name); OneCycle peaks at `lr`. */
export function buildScheduler(
  optimizer: Optimizer,
  r: Recipe,
  stepsPerEpoch: number,
): Scheduler | undefined {
  return createScheduler(r.scheduler, optimizer, {
    epochs: r.epochs,
    stepsPerEpoch,
    lr: r.lr,
    ...(r.scheduler === 'multistep' ? { milestones: r.milestones } : {}),
  });
}

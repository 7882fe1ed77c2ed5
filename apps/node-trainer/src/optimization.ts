import type { Module } from '@resnet-ts/core';
import {
  Adam,
  AdamW,
  CosineAnnealingLR,
  MultiStepLR,
  OneCycleLR,
  type Optimizer,
  ReduceLROnPlateau,
  RMSprop,
  type Scheduler,
  SGD,
  StepLR,
} from '@resnet-ts/train';
import type { Recipe } from './recipe.js';

/** The optimizer a recipe names, over the model's trainable parameters. */
export function buildOptimizer(model: Module, r: Recipe): Optimizer {
  const params = model.parameters().filter((p) => p.trainable);
  switch (r.optimizer) {
    case 'sgd':
      return new SGD(params, { lr: r.lr, momentum: r.momentum, weightDecay: r.weightDecay });
    case 'adam':
      return new Adam(params, { lr: r.lr, weightDecay: r.weightDecay });
    case 'adamw':
      return new AdamW(params, { lr: r.lr, weightDecay: r.weightDecay });
    case 'rmsprop':
      return new RMSprop(params, { lr: r.lr, momentum: r.momentum, weightDecay: r.weightDecay });
  }
}

/**
 * The schedule a recipe names. OneCycle steps per batch with `lr` as its peak; the others step
 * per epoch: cosine anneals to 0 over the run, step divides by 10 every third of it,
 * multistep at the milestones, plateau when validation loss stalls for 2 epochs.
 */
export function buildScheduler(
  optimizer: Optimizer,
  r: Recipe,
  stepsPerEpoch: number,
): Scheduler | undefined {
  switch (r.scheduler) {
    case 'onecycle':
      return new OneCycleLR(optimizer, { maxLr: r.lr, epochs: r.epochs, stepsPerEpoch });
    case 'cosine':
      return new CosineAnnealingLR(optimizer, { tMax: r.epochs });
    case 'step':
      return new StepLR(optimizer, { stepSize: Math.max(1, Math.round(r.epochs / 3)), gamma: 0.1 });
    case 'multistep':
      return new MultiStepLR(optimizer, { milestones: r.milestones, gamma: 0.1 });
    case 'plateau':
      return new ReduceLROnPlateau(optimizer, { patience: 2, factor: 0.1 });
    case 'none':
      return undefined;
  }
}

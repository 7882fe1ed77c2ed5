import { describe, expect, it } from 'vitest';
import { metricsCsv } from './metrics-files.js';
import { resolveRecipe } from './recipe.js';

describe('resolveRecipe', () => {
  it('fills in the dataset recipe under what was given', () => {
    const r = resolveRecipe('mnist', { epochs: 5, seed: 3 });
    expect(r).toMatchObject({
      epochs: 5,
      seed: 3,
      optimizer: 'adam',
      scheduler: 'onecycle',
      momentum: 0,
    });
    expect(resolveRecipe('cifar10', {})).toMatchObject({
      optimizer: 'sgd',
      momentum: 0.9,
      weightDecay: 5e-4,
    });
  });

  it('switches to a rate the chosen optimizer tolerates when no rate is given', () => {
    expect(resolveRecipe('mnist', { optimizer: 'sgd' })).toMatchObject({ lr: 0.05, momentum: 0.9 });
    expect(resolveRecipe('cifar10', { optimizer: 'adamw' }).lr).toBe(0.001);
    expect(resolveRecipe('mnist', { optimizer: 'sgd', lr: 0.2 }).lr).toBe(0.2);
  });

  it('puts multistep milestones at half and three quarters of the run by default', () => {
    expect(resolveRecipe('mnist', { scheduler: 'multistep', epochs: 8 }).milestones).toEqual([
      4, 6,
    ]);
    expect(resolveRecipe('mnist', { scheduler: 'multistep', milestones: [2] }).milestones).toEqual([
      2,
    ]);
  });
});

describe('metricsCsv', () => {
  it('writes one row per epoch with empty cells where there was no validation', () => {
    const csv = metricsCsv([
      {
        epoch: 1,
        trainLoss: 0.5,
        trainAccuracy: 0.9,
        valLoss: null,
        valAccuracy: null,
        lr: 0.01,
        imagesPerSec: 100,
        seconds: 2,
      },
    ]);
    expect(csv).toBe(
      'epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,images_per_sec,seconds\n1,0.5,0.9,,,0.01,100,2\n',
    );
  });
});

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, OneCycleLR, SGD } from './index.js';
import { type RunRecipe, recipeOptimizer, recipeScheduler, runRecipeSchema } from './node.js';
import { tinyConvNet } from './testing/fixtures.js';

beforeAll(() => tf.setBackend('cpu'));

const recipe: RunRecipe = {
  epochs: 4,
  batchSize: 32,
  optimizer: 'sgd',
  lr: 0.1,
  scheduler: 'multistep',
  weightDecay: 5e-4,
  seed: 3,
  momentum: 0.8,
  milestones: [1, 3],
  valSplit: 0.1,
};

describe('runRecipeSchema', () => {
  it('accepts a recipe and names the field at fault', () => {
    expect(v.parse(runRecipeSchema, recipe)).toEqual(recipe);
    const bad = v.safeParse(runRecipeSchema, { ...recipe, lr: -1 });
    expect(bad.success).toBe(false);
    expect(bad.issues?.[0].path?.map((p) => p.key)).toEqual(['lr']);
    expect(v.safeParse(runRecipeSchema, { ...recipe, optimizer: 'lbfgs' }).success).toBe(false);
    expect(v.safeParse(runRecipeSchema, { ...recipe, seed: 2 ** 32 - 2 }).success).toBe(false);
    expect(v.safeParse(runRecipeSchema, { ...recipe, valSplit: 1 }).success).toBe(false);
    expect(v.safeParse(runRecipeSchema, null).success).toBe(false);
  });
});

describe('recipeOptimizer and recipeScheduler', () => {
  it('build what the recipe names over the trainable parameters only', () => {
    const model = tinyConvNet(0);
    const frozen = model.parameters()[0];
    frozen.trainable = false;
    const sgd = recipeOptimizer(model, recipe) as SGD;
    expect(sgd).toBeInstanceOf(SGD);
    const group = sgd.stateDict().paramGroups[0] as Record<string, unknown>;
    expect(group).toMatchObject({ lr: 0.1, momentum: 0.8, weightDecay: 5e-4 });
    expect(sgd.params).not.toContain(frozen);
    expect(sgd.params.length).toBe(model.parameters().length - 1);
    // multistep with the recipe's milestones: ×0.1 after epochs 1 and 3.
    const multistep = recipeScheduler(sgd, recipe, 10)!;
    const rates = [0, 1, 2, 3].map(() => {
      const lr = sgd.paramGroups[0].lr;
      multistep.step();
      return lr;
    });
    expect(rates.map((r) => Number(r.toPrecision(6)))).toEqual([0.1, 0.01, 0.01, 0.001]);
    // Adam has no momentum: the recipe's is not passed on (createOptimizer would refuse it).
    const adam = recipeOptimizer(model, { ...recipe, optimizer: 'adam', scheduler: 'onecycle' });
    expect(adam).toBeInstanceOf(Adam);
    expect(recipeScheduler(adam, { ...recipe, scheduler: 'onecycle' }, 10)).toBeInstanceOf(
      OneCycleLR,
    );
    expect(recipeScheduler(adam, { ...recipe, scheduler: 'none' }, 10)).toBeUndefined();
    model.dispose();
  });
});

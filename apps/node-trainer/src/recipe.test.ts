import { runRecipeSchema } from '@resnet-ts/train/node';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { RECIPE_OPTIONS, resolveRecipe, unusedOptions } from './recipe.js';

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

describe('the options table', () => {
  it('never changes a value the user gave, whatever the optimizer', () => {
    const given = { optimizer: 'rmsprop', lr: 0.3, momentum: 0.7, milestones: [1] } as const;
    expect(resolveRecipe('cifar10', { ...given, milestones: [1] })).toMatchObject({
      ...given,
      milestones: [1],
    });
    expect(resolveRecipe('mnist', { optimizer: 'rmsprop' }).momentum).toBe(0);
  });

  it('says which given flags the chosen optimizer or schedule does not use', () => {
    const given = { optimizer: 'adam', momentum: 0.5, milestones: [2] } as const;
    const recipe = resolveRecipe('mnist', { ...given, milestones: [2] });
    expect(unusedOptions(recipe, { ...given, milestones: [2] })).toEqual([
      '--momentum has no effect with --optimizer adam',
      '--milestones has no effect with --scheduler onecycle',
    ]);
    expect(unusedOptions(resolveRecipe('cifar10', { momentum: 0.5 }), { momentum: 0.5 })).toEqual(
      [],
    );
  });

  it("has one option per field of train's run.json recipe, in its order", () => {
    expect(RECIPE_OPTIONS.map((o) => o.key)).toEqual(Object.keys(runRecipeSchema.entries));
    const recipe = resolveRecipe('cifar10', {});
    expect(Object.keys(recipe)).toEqual(Object.keys(runRecipeSchema.entries));
    expect(v.parse(runRecipeSchema, recipe)).toEqual(recipe);
  });

  it('documents each default in the flag help, per dataset', () => {
    const lr = RECIPE_OPTIONS.find((o) => o.key === 'lr')!;
    expect(lr.defaultHelp).toMatch(/mnist 0\.005, mnist-idx 0\.005, cifar10 0\.1/);
  });
});

import { ValueError } from '@resnet-ts/core';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  DATASET_RECIPES,
  integerParser,
  numberParser,
  parseFraction,
  parseIntegerList,
  RECIPE_SETTINGS,
  resolveRecipe,
  runRecipeSchema,
  unusedSettings,
} from './node.js';

const { mnist, cifar10 } = DATASET_RECIPES;

describe('resolveRecipe', () => {
  it('fills in the dataset recipe under what was given', () => {
    const r = resolveRecipe(mnist, { epochs: 5, seed: 3 });
    expect(r).toMatchObject({
      epochs: 5,
      seed: 3,
      optimizer: 'adam',
      scheduler: 'onecycle',
      momentum: 0,
    });
    expect(resolveRecipe(cifar10, {})).toMatchObject({
      optimizer: 'sgd',
      momentum: 0.9,
      weightDecay: 5e-4,
    });
  });

  it('switches to a rate the chosen optimizer tolerates when no rate is given', () => {
    expect(resolveRecipe(mnist, { optimizer: 'sgd' })).toMatchObject({ lr: 0.05, momentum: 0.9 });
    expect(resolveRecipe(cifar10, { optimizer: 'adamw' }).lr).toBe(0.001);
    expect(resolveRecipe(mnist, { optimizer: 'sgd', lr: 0.2 }).lr).toBe(0.2);
  });

  it('puts multistep milestones at half and three quarters of the run by default', () => {
    expect(resolveRecipe(mnist, { scheduler: 'multistep', epochs: 8 }).milestones).toEqual([4, 6]);
    expect(resolveRecipe(mnist, { scheduler: 'multistep', milestones: [2] }).milestones).toEqual([
      2,
    ]);
  });
});

describe('the settings table', () => {
  it('never changes a value the user gave, whatever the optimizer', () => {
    const given = { optimizer: 'rmsprop', lr: 0.3, momentum: 0.7, milestones: [1] } as const;
    expect(resolveRecipe(cifar10, { ...given, milestones: [1] })).toMatchObject({
      ...given,
      milestones: [1],
    });
    expect(resolveRecipe(mnist, { optimizer: 'rmsprop' }).momentum).toBe(0);
  });

  it('says which given settings the chosen optimizer or schedule does not use', () => {
    const given = { optimizer: 'adam', momentum: 0.5, milestones: [2] } as const;
    const recipe = resolveRecipe(mnist, { ...given, milestones: [2] });
    expect(unusedSettings(recipe, { ...given, milestones: [2] })).toEqual([
      { key: 'momentum', because: 'optimizer' },
      { key: 'milestones', because: 'scheduler' },
    ]);
    expect(unusedSettings(resolveRecipe(cifar10, { momentum: 0.5 }), { momentum: 0.5 })).toEqual(
      [],
    );
  });

  it("has one setting per field of run.json's recipe, in its order", () => {
    expect(RECIPE_SETTINGS.map((s) => s.key)).toEqual(Object.keys(runRecipeSchema.entries));
    const recipe = resolveRecipe(cifar10, {});
    expect(Object.keys(recipe)).toEqual(Object.keys(runRecipeSchema.entries));
    expect(v.parse(runRecipeSchema, recipe)).toEqual(recipe);
  });

  it('documents each default in the help, per dataset', () => {
    const lr = RECIPE_SETTINGS.find((s) => s.key === 'lr')!;
    expect(lr.defaultHelp).toMatch(/mnist 0\.005, mnist-idx 0\.005, cifar10 0\.1, folder 0\.01/);
  });
});

describe('the text parsers', () => {
  it('read valid text and refuse the rest with the value and what was expected', () => {
    expect(integerParser(1)('12')).toBe(12);
    expect(() => integerParser(1)('0')).toThrow(
      new ValueError("expected a whole number >= 1, got '0'."),
    );
    expect(() => integerParser(0)('1.5')).toThrow(ValueError);
    expect(numberParser(0)('0.01')).toBe(0.01);
    expect(() => numberParser(0)('0')).toThrow("expected a number > 0, got '0'.");
    expect(numberParser(0, { inclusive: true })('0')).toBe(0);
    expect(() => numberParser(0)('Infinity')).toThrow(ValueError);
    expect(parseFraction('0.25')).toBe(0.25);
    expect(() => parseFraction('1')).toThrow("expected a fraction in [0, 1), got '1'.");
    expect(parseIntegerList('30, 60,80')).toEqual([30, 60, 80]);
    expect(() => parseIntegerList('3,x')).toThrow(/comma-separated whole numbers/);
  });
});

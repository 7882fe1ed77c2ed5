import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonFiniteLossError } from './index.js';
import {
  DATASET_RECIPES,
  type EpochMetrics,
  RecipeTraining,
  readMetrics,
  recipeRunSchema,
  resolveRecipe,
  restoreRecipeState,
  seedRecipe,
  TrainingRun,
} from './node.js';
import { asLoader, makeDataset, ShuffledLoader, tinyConvNet } from './testing/fixtures.js';

let parent: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  parent = await mkdtemp(join(tmpdir(), 'resnet-ts-recipe-'));
});
afterAll(() => rm(parent, { recursive: true, force: true }));

const recipe = resolveRecipe(DATASET_RECIPES.mnist, { epochs: 2, batchSize: 16, seed: 5 });

function training() {
  const generators = seedRecipe(recipe.seed);
  const data = makeDataset(48, 1);
  const parts = {
    model: tinyConvNet(generators.init.randint(1000)),
    generators,
    trainLoader: asLoader(new ShuffledLoader(data, 16, generators.loader)),
    testLoader: asLoader(new ShuffledLoader(makeDataset(20, 2), 20, null)),
  };
  return { training: new RecipeTraining(recipe, parts), parts };
}

describe('seedRecipe', () => {
  it('gives the same streams for the same seed, and three different ones', () => {
    const a = seedRecipe(3);
    const b = seedRecipe(3);
    const draw = (g: typeof a) => [
      g.init.randint(1e9),
      g.loader.randint(1e9),
      g.augment.randint(1e9),
    ];
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });
});

describe('RecipeTraining', () => {
  it('trains the recipe into the run, then records the test figures', async () => {
    const { training: t, parts } = training();
    expect(t.optimizer.constructor.name).toBe('Adam');
    const run = await TrainingRun.create(parent, { recipe });
    const rows: EpochMetrics[] = [];
    const outcome = await t.run(run, { onEpoch: (m) => rows.push(m) });
    expect(rows.map((m) => m.epoch)).toEqual([1, 2]);
    expect(outcome.status).toBe('completed');
    const metrics = (await readMetrics(run.runDir))!;
    expect(metrics.status).toBe('completed');
    expect(outcome.status === 'completed' && outcome.test).toEqual(metrics.test);
    expect(metrics.test!.total).toBe(20);
    expect(run.lastCheckpoint?.epoch).toBe(2);
    const state = JSON.parse(readFileSync(join(run.lastCheckpoint!.dir, 'state.json'), 'utf8')) as {
      generators: Record<string, unknown>;
    };
    expect(Object.keys(state.generators).sort()).toEqual(['augment', 'loader']);

    // The checkpoint gives back the recipe's optimizer with its state.
    const restored = await restoreRecipeState(tinyConvNet(0), run.runDir, run.lastCheckpoint!.dir);
    expect(restored.recipe).toEqual(recipe);
    expect(restored.optimizer.stateDict().state).toHaveProperty('0');
    parts.model.dispose();
  });

  it('records an interrupted run, and a failed one before rethrowing', async () => {
    const { training: t, parts } = training();
    const stopped = await TrainingRun.create(parent, { recipe });
    const controller = new AbortController();
    controller.abort();
    expect(await t.run(stopped, { signal: controller.signal })).toEqual({ status: 'interrupted' });
    expect((await readMetrics(stopped.runDir))?.status).toBe('interrupted');

    const failed = await TrainingRun.create(parent, { recipe });
    const nan = () => tf.scalar(Number.NaN);
    await expect(t.run(failed, { loss: nan })).rejects.toThrow(NonFiniteLossError);
    expect((await readMetrics(failed.runDir))?.status).toBe('failed');
    parts.model.dispose();
  });
});

describe('recipeRunSchema', () => {
  it("validates run.json's common fields around the caller's own", () => {
    const schema = recipeRunSchema({ model: v.object({ name: v.string() }) });
    const run = { createdAt: 'now', argv: ['--epochs', '2'], model: { name: 'm' }, recipe };
    expect(v.parse(schema, run)).toEqual(run);
    expect(v.parse(schema, { ...run, threads: 4 }).threads).toBe(4);
    expect(() => v.parse(schema, { ...run, model: {} })).toThrow();
    expect(() => v.parse(schema, { ...run, recipe: { ...recipe, epochs: 0 } })).toThrow();
  });
});

import { Generator, type Module, manualSeed } from '@resnet-ts/core';
import * as v from 'valibot';
import { evaluate, type LossFn } from './evaluate.js';
import { type Callback, fit } from './fit.js';
import type { Loader } from './loader.js';
import type { Optimizer } from './optim/optimizer.js';
import {
  type EpochMetrics,
  loadCheckpoint,
  type RunMetrics,
  readRunFile,
} from './run-directory.js';
import { type RunRecipe, recipeOptimizer, recipeScheduler, runRecipeSchema } from './run-recipe.js';
import type { Scheduler } from './schedulers/scheduler.js';
import type { RunCheckpointOptions, TrainingRun } from './training-run.js';

/**
 * The random streams of a recipe run: `init` builds the model, `loader` shuffles and
 * `augment` draws the data augmentation; the last two are checkpointed, so a resumed run
 * shuffles and augments as one that never stopped.
 */
export interface RecipeGenerators {
  init: Generator;
  loader: Generator;
  augment: Generator;
}

/**
 * Seeds a run from its recipe's `seed`: the global generator (`manualSeed(seed)`) and the
 * run's own streams, `init` with `seed`, `loader` with `seed + 1`, `augment` with `seed + 2`.
 * The same recipe gives the same run on the same backend.
 */
export function seedRecipe(seed: number): RecipeGenerators {
  manualSeed(seed);
  return {
    init: new Generator(seed),
    loader: new Generator(seed + 1),
    augment: new Generator(seed + 2),
  };
}

/** What a recipe trains, built by the caller with the {@link RecipeGenerators}. */
export interface RecipeParts {
  model: Module;
  trainLoader: Loader;
  valLoader?: Loader;
  testLoader: Loader;
  generators: RecipeGenerators;
}

/** Options of {@link RecipeTraining.run}. */
export interface RecipeRunOptions {
  /** More `fit` callbacks (progress, early stopping of one's own, ...). */
  callbacks?: Callback[];
  /** The training loss (default cross entropy). */
  loss?: LossFn;
  /** Aborting stops training at the end of the current batch; the run is `interrupted`. */
  signal?: AbortSignal;
  /** What each epoch's checkpoint holds besides the training state and the generators. */
  checkpoint?: Omit<RunCheckpointOptions, 'generators'>;
  /** Sees each epoch's row of metrics.json once it is written. */
  onEpoch?: (m: EpochMetrics) => void;
}

/** How {@link RecipeTraining.run} ended: interrupted, or completed with the test figures. */
export type RecipeOutcome =
  | { status: 'interrupted' }
  | { status: 'completed'; test: NonNullable<RunMetrics['test']> };

/**
 * A recipe's training of a model, as PyTorch Lightning's Trainer does it for a LightningModule:
 * the optimizer and schedule the recipe names, `fit` from the run's latest epoch with a
 * checkpoint and a metrics row after each, then the test split, all recorded in the
 * {@link TrainingRun}. The caller builds the model and the loaders (so this package needs
 * neither the models nor the datasets) and words what it reports.
 *
 * @example
 * const generators = seedRecipe(recipe.seed);
 * const training = new RecipeTraining(recipe, { model, trainLoader, testLoader, generators });
 * const run = await TrainingRun.create('runs', { recipe });
 * const outcome = await training.run(run);
 */
export class RecipeTraining {
  readonly optimizer: Optimizer;
  readonly scheduler: Scheduler | undefined;

  constructor(
    readonly recipe: RunRecipe,
    readonly parts: RecipeParts,
  ) {
    this.optimizer = recipeOptimizer(parts.model, recipe);
    this.scheduler = recipeScheduler(this.optimizer, recipe, parts.trainLoader.length);
  }

  /** What a checkpoint restores (`TrainingRun.resume`'s target). */
  get state() {
    const { model, generators } = this.parts;
    return {
      model,
      optimizer: this.optimizer,
      scheduler: this.scheduler,
      generators: { loader: generators.loader, augment: generators.augment },
    };
  }

  /**
   * Trains from `run.startEpoch` to the recipe's epochs, then evaluates on the test split.
   * The outcome is recorded in metrics.json: `interrupted` when `signal` aborted, `failed`
   * (and the error rethrown, e.g. a `NonFiniteLossError`) when training threw, `completed`
   * with the test figures otherwise.
   */
  async run(run: TrainingRun, options: RecipeRunOptions = {}): Promise<RecipeOutcome> {
    const { model, trainLoader, valLoader, testLoader } = this.parts;
    const { epochs } = this.recipe;
    if (run.startEpoch < epochs) {
      let stopReason: string;
      try {
        ({ stopReason } = await fit({
          model,
          optimizer: this.optimizer,
          scheduler: this.scheduler,
          loss: options.loss,
          trainLoader,
          valLoader,
          epochs,
          startEpoch: run.startEpoch,
          history: run.history,
          callbacks: [...(options.callbacks ?? []), run.recorder(options.onEpoch)],
          signal: options.signal,
          checkpoint: run.checkpoint({ ...options.checkpoint, generators: this.state.generators }),
        }));
      } catch (e) {
        await run.finish('failed');
        throw e;
      }
      if (stopReason === 'aborted') {
        await run.finish('interrupted');
        return { status: 'interrupted' };
      }
    }
    const { accuracy, loss, count } = await evaluate(model, testLoader);
    const test = { accuracy, loss, correct: Math.round(accuracy * count), total: count };
    await run.finish('completed', test);
    return { status: 'completed', test };
  }
}

/**
 * The schema of a recipe run's run.json: when and how the run was started (`createdAt`,
 * `argv`), the caller's own `entries` (its model, its data, ...), the `recipe`, and the
 * wasm `threads` it trained on (older runs lack them).
 */
export function recipeRunSchema<const E extends v.ObjectEntries>(entries: E) {
  return v.object({
    createdAt: v.pipe(v.string(), v.maxLength(100)),
    argv: v.pipe(v.array(v.pipe(v.string(), v.maxLength(10_000))), v.maxLength(1000)),
    ...entries,
    recipe: runRecipeSchema,
    threads: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024))),
  });
}

/**
 * The optimizer and schedule of a recipe run's checkpoint, restored over `model` (already
 * holding that checkpoint's weights): the run's run.json names them by its recipe, the
 * checkpoint directory `checkpointDir` holds their state. For handing a run to another
 * framework (e.g. a PyTorch training checkpoint); to continue training use `TrainingRun.resume`.
 */
export async function restoreRecipeState(
  model: Module,
  runDir: string,
  checkpointDir: string,
): Promise<{ recipe: RunRecipe; optimizer: Optimizer; scheduler: Scheduler | undefined }> {
  const { recipe } = await readRunFile(runDir, v.object({ recipe: runRecipeSchema }));
  const optimizer = recipeOptimizer(model, recipe);
  // Steps per epoch only shape a fresh OneCycle schedule; the saved state replaces them.
  const scheduler = recipeScheduler(optimizer, recipe, 1);
  const generators = { loader: new Generator(0), augment: new Generator(0) };
  await loadCheckpoint(checkpointDir, { model, optimizer, scheduler, generators });
  return { recipe, optimizer, scheduler };
}

/**
 * @resnet-ts/train/node: training runs and their checkpoints on disk. Kept out of the main
 * entry so browser bundles never see a `node:` import; the packing itself
 * (`packCheckpoint`/`unpackCheckpoint`) is in the main entry for browser storage.
 */

export type { CheckpointSource, RestoredState } from './checkpoint-packing.js';
export {
  integerParser,
  numberParser,
  parseFraction,
  parseIntegerList,
  type TextParser,
} from './parse-text.js';
export {
  formatDuration,
  formatPercent,
  formatTable,
  ProgressPrinter,
  type ProgressPrinterOptions,
  type TextSink,
} from './progress-text.js';
export {
  DATASET_RECIPES,
  RECIPE_SETTINGS,
  type RecipeDefaults,
  type RecipeSetting,
  resolveRecipe,
  type UnusedSetting,
  unusedSettings,
} from './recipe-settings.js';
export {
  type RecipeGenerators,
  type RecipeOutcome,
  type RecipeParts,
  type RecipeRunOptions,
  RecipeTraining,
  recipeRunSchema,
  restoreRecipeState,
  seedRecipe,
} from './recipe-training.js';
export {
  CHECKPOINT_POINTER,
  CHECKPOINTS_DIR,
  type CheckpointLocation,
  type CheckpointPointer,
  checkpointTo,
  cleanRunDirectory,
  createRunDirectory,
  type EpochMetrics,
  epochMetrics,
  findCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  MAX_TENSOR_FILE_BYTES,
  metricsCsv,
  RUN_JSON,
  type RunMetrics,
  readMetrics,
  readPointer,
  readRunFile,
  resolveInside,
  type SaveCheckpointOptions,
  saveCheckpoint,
  WEIGHTS_FILE,
  writeMetrics,
  writeRunFile,
} from './run-directory.js';
export {
  MOMENTUM_OPTIMIZERS,
  type RunRecipe,
  recipeOptimizer,
  recipeScheduler,
  runRecipeSchema,
} from './run-recipe.js';
export {
  type OpenedRun,
  openRun,
  ResumeError,
  type ResumeProblem,
  type RunCheckpointOptions,
  scheduleFixesEpochs,
  TrainingRun,
} from './training-run.js';

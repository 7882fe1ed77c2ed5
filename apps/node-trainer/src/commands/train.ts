import { basename, resolve } from 'node:path';
import type { BackendSelection, Module } from '@resnet-ts/core';
import { readRegularFile } from '@resnet-ts/core/node';
import { DATASET_NAMES, DataLoader, type DatasetName, type ImageSample } from '@resnet-ts/data';
import { type LoadedDataset, loadDataset } from '@resnet-ts/data/node';
import {
  buildModel,
  encodeWeightsMeta,
  freezeBackbone,
  loadPretrainedWeights,
  type ModelName,
  type ModelSpec,
  modelSpec,
  modelSpecSchema,
  type PretrainedWeightsReport,
  sameModelSpec,
  type WeightsMeta,
} from '@resnet-ts/models';
import { type Callback, NonFiniteLossError, TrainingProgress } from '@resnet-ts/train';
import {
  DATASET_RECIPES,
  formatPercent,
  openRun,
  RECIPE_SETTINGS,
  type RecipeOutcome,
  RecipeTraining,
  ResumeError,
  RUN_JSON,
  type RunRecipe,
  recipeRunSchema,
  resolveRecipe,
  scheduleFixesEpochs,
  seedRecipe,
  TrainingRun,
  unusedSettings,
  writeRunFile,
} from '@resnet-ts/train/node';
import type { Command } from 'commander';
import * as v from 'valibot';
import { activateBackend, type BackendOptions } from '../backend.js';
import { displayPath } from '../checkpoint.js';
import { FREEZE_CHOICES } from '../choices.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { flagOf } from '../parse.js';
import type { Reporter } from '../reporter.js';

/** The options of `train`, as commander parses them. */
export interface TrainOptions extends Partial<RunRecipe>, BackendOptions {
  model: ModelName;
  dataset: DatasetName;
  dataDir?: string;
  download?: boolean;
  out: string;
  resume?: string;
  limitTrain?: number;
  limitTest?: number;
  valDir?: string;
  imageSize?: number;
  skipBadFiles?: boolean;
  workers?: number;
  weights?: string;
  freeze?: (typeof FREEZE_CHOICES)[number];
  logEvery?: number;
  json?: boolean;
  quiet?: boolean;
}

const limit = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER));
const path = v.pipe(v.string(), v.maxLength(4096));

/** The dataset a run trains on, as run.json records it: `loadDataset`'s options. */
const dataSchema = v.object({
  name: v.picklist(DATASET_NAMES),
  dataDir: v.optional(path),
  limitTrain: v.optional(limit),
  limitTest: v.optional(limit),
  valDir: v.optional(path),
  imageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(8), v.maxValue(4096))),
  skipBadFiles: v.optional(v.boolean()),
});

/** What run.json records: enough to resume the run and to know how it was made. */
const runFileSchema = recipeRunSchema({
  model: modelSpecSchema,
  data: dataSchema,
  /** The weights the run started from (--weights), and what of the model it trains. */
  weights: v.optional(path),
  freeze: v.optional(v.picklist(FREEZE_CHOICES)),
});

type RunFile = v.InferOutput<typeof runFileSchema>;

/** Options that shape the run besides the recipe; on --resume they come from the run itself. */
const DATA_SHAPING = [
  'model',
  'dataset',
  ...Object.keys(dataSchema.entries).filter((k) => k !== 'name'),
  'weights',
  'freeze',
];

/** Options that only a `--dataset folder` uses. */
const FOLDER_ONLY = ['valDir', 'imageSize', 'skipBadFiles', 'workers'] as const;

const EVAL_BATCH = 256;

/** What this invocation trains: a new run, or an existing one to continue. */
interface RunPlan {
  /** The run's settings; for a new run `model` is filled in once the data is known. */
  run: Omit<RunFile, 'model'> & { model?: ModelSpec };
  modelName: ModelName;
  /** The run directory to continue, with whether its run.json needs the new epoch count. */
  resume?: { runDir: string; epochsChanged: boolean };
}

/** What a run trains, built from its plan: train's recipe training, with its data and model spec. */
interface Training {
  ds: LoadedDataset<Sample>;
  spec: ModelSpec;
  training: RecipeTraining;
}

/** A folder's samples decode when read: a promise the DataLoader awaits. */
type Sample = ImageSample | Promise<ImageSample>;

/** A new run's plan: the recipe of the dataset under what the user gave. */
function planNewRun(opts: TrainOptions, given: (k: string) => boolean, report: Reporter): RunPlan {
  const overrides: Partial<RunRecipe> = {};
  for (const { key } of RECIPE_SETTINGS) {
    if (given(key)) (overrides as Record<string, unknown>)[key] = opts[key];
  }
  const recipe = resolveRecipe(DATASET_RECIPES[opts.dataset], overrides);
  for (const { key, because } of unusedSettings(recipe, overrides)) {
    report.warn(`${flagOf(key)} has no effect with ${flagOf(because)} ${recipe[because]}`);
  }
  const { dataset: name, dataDir, limitTrain, limitTest, valDir, imageSize, skipBadFiles } = opts;
  if (name === 'folder' && !dataDir) {
    throw new UsageError('--dataset folder needs --data-dir DIR: a folder of class subfolders');
  }
  const unused = FOLDER_ONLY.filter((k) => name !== 'folder' && given(k));
  if (unused.length > 0) {
    report.warn(`${unused.map(flagOf).join(', ')} only apply to --dataset folder; ignoring them`);
  }
  const folder = name === 'folder' ? { valDir, imageSize, skipBadFiles } : {};
  return {
    modelName: opts.model,
    run: {
      createdAt: new Date().toISOString(),
      argv: process.argv.slice(2),
      data: { name, dataDir, limitTrain, limitTest, ...folder },
      recipe,
      weights: opts.weights && resolve(opts.weights),
      freeze: opts.freeze,
    },
  };
}

/**
 * The plan of a run to continue, read from its run.json and pointer, both validated. Nothing
 * is written here: the checkpoint itself is checked before the run directory is touched.
 */
async function planResume(
  dir: string,
  opts: TrainOptions,
  given: (k: string) => boolean,
  report: Reporter,
): Promise<RunPlan> {
  const { runDir, run } = await openRun(dir, runFileSchema).catch((e) => {
    throw e instanceof ResumeError ? new CliError(e.message) : e;
  });
  const ignored = [
    ...DATA_SHAPING,
    ...RECIPE_SETTINGS.map((s) => s.key).filter((k) => k !== 'epochs'),
  ].filter(given);
  if (ignored.length > 0) {
    report.warn(
      `--resume continues the run as it was configured; ignoring ${ignored.map(flagOf).join(', ')}`,
    );
  }
  const epochs = given('epochs') ? opts.epochs! : run.recipe.epochs;
  if (epochs !== run.recipe.epochs && scheduleFixesEpochs(run.recipe.scheduler)) {
    throw new UsageError(
      `--epochs cannot change when resuming a run with the ${run.recipe.scheduler} schedule, whose every step depends on the total (${run.recipe.epochs} epochs)`,
    );
  }
  return {
    modelName: run.model.name,
    run: { ...run, recipe: { ...run.recipe, epochs } },
    resume: { runDir, epochsChanged: epochs !== run.recipe.epochs },
  };
}

/** Loads the data and builds model, optimizer, schedule and loaders, seeded by the recipe. */
async function buildTraining(
  plan: RunPlan,
  opts: TrainOptions,
  report: Reporter,
): Promise<Training> {
  const { recipe, data } = plan.run;
  const generators = seedRecipe(recipe.seed);
  // run.json's data are loadDataset's options (dataDir, limits, the folder's settings).
  const ds = await loadDataset(data.name, {
    ...data,
    download: opts.download,
    log: (message) => report.info(message),
    valSplit: recipe.valSplit,
    seed: recipe.seed,
    augmentGenerator: generators.augment,
    workers: opts.workers,
  });
  const spec = modelSpec(plan.modelName, {
    inChannels: ds.input.channels,
    inputSize: ds.input.size,
    numClasses: ds.classes.length,
  });
  // A resumed run's model must be the one its data implies, checked before anything is built.
  const saved = plan.run.model;
  if (saved && !sameModelSpec(saved, spec)) {
    throw new CliError(
      `cannot resume: ${RUN_JSON} describes the model ${JSON.stringify(saved)}, but its dataset ${data.name} needs ${JSON.stringify(spec)}`,
    );
  }
  const model = buildModel(spec, generators.init);
  // A resumed run's weights come from its checkpoint; its frozen part must be frozen again so
  // the optimizer holds the parameters its saved state belongs to.
  if (plan.run.weights && !plan.resume) await loadWeights(model, plan.run.weights, report);
  if (plan.run.freeze && !freezeBackbone(model)) {
    throw new UsageError(
      `--freeze backbone needs a model with a classifier head fc (the resnet family); ${spec.name} has none`,
    );
  }
  const evalBatch = data.name === 'folder' ? recipe.batchSize : EVAL_BATCH;
  const training = new RecipeTraining(recipe, {
    model,
    generators,
    trainLoader: new DataLoader(ds.train, {
      batchSize: recipe.batchSize,
      shuffle: true,
      generator: generators.loader,
    }),
    valLoader: ds.val ? new DataLoader(ds.val, { batchSize: evalBatch }) : undefined,
    testLoader: new DataLoader(ds.test, { batchSize: evalBatch }),
  });
  return { ds, spec, training };
}

/** Starts the model from pretrained weights, reporting what did not fit (a head of another size). */
async function loadWeights(model: Module, file: string, report: Reporter): Promise<void> {
  let r: PretrainedWeightsReport;
  try {
    const bytes = await readRegularFile(file, { maxBytes: 2 ** 31 - 1, what: 'weights file' });
    r = loadPretrainedWeights(model, bytes);
  } catch (e) {
    throw new CliError(`cannot load --weights ${displayPath(file)}: ${(e as Error).message}`);
  }
  if (r.loaded.length === 0) {
    throw new CliError(
      `--weights ${displayPath(file)} holds no tensor of this model (names or shapes differ everywhere)`,
    );
  }
  const fresh = [...r.shapeMismatched.map((m) => m.key), ...r.missing];
  report.info(
    `Weights: ${r.loaded.length} tensors from ${displayPath(file)}` +
      (fresh.length > 0 ? `; newly initialised: ${fresh.join(', ')}` : '') +
      (r.unexpected.length > 0 ? `; unused: ${r.unexpected.length} tensors of the file` : ''),
  );
}

/**
 * Restores the latest checkpoint into the freshly built objects, which validates all of it;
 * only then is the run directory cleaned of a crash's leftovers and run.json updated.
 */
async function continueRun(plan: RunPlan, t: Training, report: Reporter): Promise<TrainingRun> {
  const { runDir, epochsChanged } = plan.resume!;
  const { recipe } = plan.run;
  const where = displayPath(runDir);
  const { run, removed } = await TrainingRun.resume(runDir, t.training.state, {
    epochs: recipe.epochs,
    showPath: displayPath,
  }).catch((e) => {
    if (!(e instanceof ResumeError)) throw e;
    if (e.problem === 'fewer-epochs') {
      throw new UsageError(
        `--epochs ${recipe.epochs} is fewer than the ${e.epoch} epochs ${where} has already completed`,
      );
    }
    if (e.problem !== 'done') throw new CliError(e.message);
    const hint = scheduleFixesEpochs(recipe.scheduler)
      ? `its ${recipe.scheduler} schedule was planned for ${recipe.epochs} epochs and cannot be extended; start a new run with more --epochs`
      : `pass --epochs N (N > ${e.epoch}) to train further`;
    throw new CliError(`${where} already completed ${e.epoch} of ${recipe.epochs} epochs; ${hint}`);
  });
  if (removed.length > 0) {
    report.info(`Removed what an interrupted save left: ${removed.map(displayPath).join(', ')}`);
  }
  if (epochsChanged) await writeRunFile(runDir, { ...plan.run, model: t.spec });
  return run;
}

/**
 * `resnet-ts train`: picks the backend, loads the data, builds model, optimizer and schedule,
 * trains with a checkpoint per epoch, and finishes with the test accuracy. Ctrl-C stops at the
 * end of the current batch (exit 130, resumable); a non-finite loss stops with exit 1.
 */
export async function runTrain(opts: TrainOptions, report: Reporter, cmd: Command): Promise<void> {
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli';
  const plan = opts.resume
    ? await planResume(opts.resume, opts, given, report)
    : planNewRun(opts, given, report);
  const selection = await activateBackend(opts, report);
  const t = await buildTraining(plan, opts, report);
  const run = plan.resume
    ? await continueRun(plan, t, report)
    : await TrainingRun.create(opts.out, {
        ...plan.run,
        model: t.spec,
        threads: selection.threads,
      });
  announce(plan, t, run, report);
  try {
    const trains = run.startEpoch < plan.run.recipe.epochs;
    const outcome = await trainEpochs(plan.run.recipe, t, run, selection, report);
    if (trains) report.epochTable(run.metrics.epochs);
    if (outcome.status === 'interrupted') stopInterrupted(run, report);
    else reportResult(outcome.test, run, selection, report);
  } finally {
    t.training.parts.model.dispose();
    // A folder read by worker threads stops them.
    await t.ds.close?.();
  }
}

/** The start event and the lines that say what is about to be trained. */
function announce(plan: RunPlan, t: Training, run: TrainingRun, report: Reporter): void {
  const { recipe, data } = plan.run;
  const { ds, spec } = t;
  const { model } = t.training.parts;
  const sizes = `${ds.train.length} train / ${ds.val?.length ?? 0} validation / ${ds.test.length} test`;
  report.event('start', {
    runDir: run.runDir,
    model: spec,
    parameters: model.numParameters(),
    dataset: data.name,
    sizes: { train: ds.train.length, val: ds.val?.length ?? 0, test: ds.test.length },
    recipe,
    startEpoch: run.startEpoch,
  });
  report.info(
    `Model: ${spec.name} (${model.numParameters().toLocaleString('en-US')} parameters)  Data: ${data.name}, ${sizes}\n` +
      `Recipe: ${recipe.optimizer} lr ${recipe.lr} (${recipe.scheduler}), batch ${recipe.batchSize}, ${recipe.epochs} epoch${recipe.epochs === 1 ? '' : 's'}, weight decay ${recipe.weightDecay}, seed ${recipe.seed}\n` +
      `${plan.resume ? `Resuming ${displayPath(run.runDir)} after epoch ${run.startEpoch}` : `Run directory: ${displayPath(run.runDir)}`}`,
  );
}

/** Trains the recipe from the run's state, with a checkpoint and metrics after every epoch. */
async function trainEpochs(
  recipe: RunRecipe,
  t: Training,
  run: TrainingRun,
  selection: BackendSelection,
  report: Reporter,
): Promise<RecipeOutcome> {
  const progress = new TrainingProgress({
    epochs: recipe.epochs,
    batches: t.training.parts.trainLoader.length,
    onBatch: (p) => report.batch(p),
  });
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) {
      // A second Ctrl-C means "now": the checkpoint on disk is the last completed epoch's.
      process.exit(ExitCode.interrupted);
    }
    report.warn(
      'interrupted: stopping at the end of the current batch (Ctrl-C again to quit at once)',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const meta = (epoch: number): WeightsMeta => ({
    model: t.spec,
    dataset: { name: t.ds.name, input: t.ds.input, classes: t.ds.classes },
    epoch,
  });
  try {
    return await t.training.run(run, {
      callbacks: [yieldToSignals, progress],
      onEpoch: (m) => report.epoch(m, recipe.epochs),
      signal: controller.signal,
      checkpoint: {
        extra: { recipe, backend: selection.name },
        weightsMetadata: (epoch) => encodeWeightsMeta(meta(epoch)),
        onSaved: (dir, epoch) => report.event('checkpoint', { epoch, dir }),
      },
    });
  } catch (e) {
    report.clearBar();
    if (e instanceof NonFiniteLossError) {
      const last = run.lastCheckpoint;
      const kept = last
        ? `The last good checkpoint (epoch ${last.epoch}) is kept in ${displayPath(last.dir)}.`
        : 'No epoch had completed, so there is no checkpoint.';
      throw new CliError(
        `training diverged: the loss became ${e.loss} at epoch ${e.epoch + 1}, batch ${e.batch + 1}, so the run stopped. ` +
          `${kept} Try a lower --lr (this run used ${recipe.lr}) or another --optimizer.`,
      );
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * A macrotask turn per batch lets Node deliver Ctrl-C; on the CPU backends every other await of
 * a step resolves as a microtask, which would hold the signal until the epoch ends.
 */
const yieldToSignals: Callback = {
  onBatchEnd: () => new Promise((resolve) => setImmediate(resolve)),
};

/** Reports a run stopped by Ctrl-C, then ends with exit code 130. */
function stopInterrupted(run: TrainingRun, report: Reporter): never {
  const last = run.lastCheckpoint;
  const message = last
    ? `Interrupted. Checkpoint of epoch ${last.epoch} in ${displayPath(last.dir)}; continue with: ${invocation()} --resume ${displayPath(run.runDir)}`
    : 'Interrupted before the first epoch completed; nothing was saved.';
  report.result(
    message,
    { runDir: run.runDir, epoch: last?.epoch ?? 0, resumable: !!last },
    'interrupted',
  );
  throw new InterruptedExit();
}

/** The test accuracy of the trained model (recorded in metrics.json by the recipe training). */
function reportResult(
  test: { accuracy: number; loss: number; correct: number; total: number },
  run: TrainingRun,
  selection: BackendSelection,
  report: Reporter,
): void {
  const { accuracy, loss, correct, total } = test;
  const totalSeconds = run.metrics.epochs.reduce((s, m) => s + m.seconds, 0);
  report.result(
    `Test accuracy: ${formatPercent(accuracy)} (${correct}/${total}), loss ${loss.toFixed(4)}, ` +
      `${run.metrics.epochs.length} epochs in ${totalSeconds.toFixed(1)} s on ${selection.name}\nRun saved to ${displayPath(run.runDir)}`,
    {
      accuracy,
      loss,
      correct,
      total,
      backend: selection.name,
      trainSeconds: totalSeconds,
      runDir: run.runDir,
      checkpoint: run.lastCheckpoint?.dir,
    },
    'done',
  );
}

/** How the user started training, so the --resume hint can be pasted as it is. */
function invocation(): string {
  if (process.env.npm_lifecycle_event === 'train') return 'pnpm train';
  const script = process.argv[1] ?? '';
  return basename(script) === 'cli.js' ? `node ${displayPath(script)} train` : 'resnet-ts train';
}

/** Ends a run stopped by Ctrl-C with exit code 130 after its message was printed. */
export class InterruptedExit extends CliError {
  constructor() {
    super('', ExitCode.interrupted);
    this.name = 'InterruptedExit';
  }
}

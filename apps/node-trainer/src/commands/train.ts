import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Generator, manualSeed } from '@resnet-ts/core';
import { DataLoader } from '@resnet-ts/data';
import {
  type Callback,
  type EpochLogs,
  evaluate,
  fit,
  jsonFromText,
  jsonToText,
  NonFiniteLossError,
} from '@resnet-ts/train';
import type { Command } from 'commander';
import { activateBackend } from '../backend.js';
import {
  displayPath,
  type ModelMeta,
  resolveCheckpoint,
  restoreTraining,
  saveCheckpoint,
} from '../checkpoint.js';
import type { BackendChoice, DatasetName, ModelName } from '../choices.js';
import { loadDataset } from '../datasets.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { percent } from '../format.js';
import { type RunMetrics, writeMetrics } from '../metrics-files.js';
import { buildModel, type ModelSpec, modelSpec } from '../models.js';
import { buildOptimizer, buildScheduler } from '../optimization.js';
import { TrainingProgress } from '../progress.js';
import { type Recipe, type RecipeOverrides, resolveRecipe } from '../recipe.js';
import type { EpochMetrics, Reporter } from '../reporter.js';

/** The options of `train`, as commander parses them. */
export interface TrainOptions extends RecipeOverrides {
  model: ModelName;
  dataset: DatasetName;
  dataDir?: string;
  download?: boolean;
  backend: BackendChoice;
  out: string;
  resume?: string;
  limitTrain?: number;
  limitTest?: number;
  logEvery?: number;
  json?: boolean;
  quiet?: boolean;
}

/** What run.json records: enough to resume the run and to know how it was made. */
interface RunFile {
  createdAt: string;
  argv: string[];
  model: ModelSpec;
  data: { name: DatasetName; dataDir?: string; limitTrain?: number; limitTest?: number };
  recipe: Recipe;
}

const EVAL_BATCH = 256;

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}

async function newRunDir(out: string): Promise<string> {
  const base = resolve(out, timestamp());
  let dir = base;
  for (let i = 2; existsSync(dir); i++) dir = `${base}-${i}`;
  await mkdir(dir, { recursive: true });
  return dir;
}

function toEpochMetrics(l: EpochLogs): EpochMetrics {
  return {
    epoch: l.epoch + 1,
    trainLoss: l.trainLoss,
    trainAccuracy: l.trainAcc,
    valLoss: Number.isNaN(l.valLoss) ? null : l.valLoss,
    valAccuracy: Number.isNaN(l.valAcc) ? null : l.valAcc,
    lr: l.lr,
    imagesPerSec: l.imagesPerSec,
    seconds: l.seconds,
  };
}

/** Options that shape the run; on --resume they come from the run itself. */
const RUN_SHAPING = [
  'model',
  'dataset',
  'dataDir',
  'batchSize',
  'lr',
  'optimizer',
  'scheduler',
  'weightDecay',
  'momentum',
  'milestones',
  'valSplit',
  'seed',
  'limitTrain',
  'limitTest',
] as const;

/** Reads what a run directory needs for --resume, or says why it cannot be resumed. */
async function readResumable(dir: string): Promise<{ run: RunFile; checkpointDir: string }> {
  const runDir = resolve(dir);
  const runFile = join(runDir, 'run.json');
  if (!existsSync(runFile)) {
    throw new CliError(
      `cannot resume ${runDir}: no run.json there (expected a directory made by resnet-ts train)`,
    );
  }
  let run: RunFile;
  try {
    run = jsonFromText<RunFile>(await readFile(runFile, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot resume ${runDir}: corrupted run.json: ${(e as Error).message}`);
  }
  if (!existsSync(join(runDir, 'checkpoint.json'))) {
    throw new CliError(
      `cannot resume ${runDir}: no epoch was completed, so there is no checkpoint; start a new run`,
    );
  }
  const { dir: checkpointDir } = resolveCheckpoint(runDir);
  return { run, checkpointDir: checkpointDir! };
}

/**
 * `resnet-ts train`: picks the backend, loads the data, builds model, optimizer and schedule,
 * trains with a checkpoint per epoch, and finishes with the test accuracy. Ctrl-C stops at the
 * end of the current batch (exit 130, resumable); a non-finite loss stops with exit 1.
 */
export async function runTrain(opts: TrainOptions, report: Reporter, cmd: Command): Promise<void> {
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli';
  let resumed: { run: RunFile; checkpointDir: string } | undefined;
  if (opts.resume) {
    resumed = await readResumable(opts.resume);
    const ignored = RUN_SHAPING.filter(given);
    if (ignored.length > 0) {
      report.warn(
        `--resume continues the run as it was configured; ignoring ${ignored.map((k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`).join(', ')}`,
      );
    }
  }

  const selection = await activateBackend(opts.backend, report);

  if (resumed && given('epochs') && opts.epochs !== resumed.run.recipe.epochs) {
    const schedule = resumed.run.recipe.scheduler;
    if (schedule === 'onecycle' || schedule === 'cosine') {
      throw new UsageError(
        `--epochs cannot change when resuming a run with the ${schedule} schedule, whose every step depends on the total (${resumed.run.recipe.epochs} epochs)`,
      );
    }
  }
  const recipe: Recipe = resumed
    ? { ...resumed.run.recipe, ...(given('epochs') ? { epochs: opts.epochs! } : {}) }
    : resolveRecipe(opts.dataset, {
        epochs: opts.epochs,
        batchSize: opts.batchSize,
        lr: opts.lr,
        optimizer: opts.optimizer,
        scheduler: opts.scheduler,
        weightDecay: opts.weightDecay,
        momentum: opts.momentum,
        milestones: opts.milestones,
        valSplit: opts.valSplit,
        seed: opts.seed,
      });
  const data = resumed
    ? resumed.run.data
    : {
        name: opts.dataset,
        dataDir: opts.dataDir,
        limitTrain: opts.limitTrain,
        limitTest: opts.limitTest,
      };

  manualSeed(recipe.seed);
  const initGenerator = new Generator(recipe.seed);
  const loaderGenerator = new Generator(recipe.seed + 1);
  const augmentGenerator = new Generator(recipe.seed + 2);

  const ds = await loadDataset(data.name, {
    dataDir: data.dataDir,
    download: opts.download,
    log: (message) => report.info(message),
    valSplit: recipe.valSplit,
    seed: recipe.seed,
    augmentGenerator,
    limitTrain: data.limitTrain,
    limitTest: data.limitTest,
  });
  const spec = resumed
    ? resumed.run.model
    : modelSpec(opts.model, ds.input.channels, ds.input.size, ds.classes.length);
  const model = buildModel(spec, initGenerator);
  const optimizer = buildOptimizer(model, recipe);
  const trainLoader = new DataLoader(ds.train, {
    batchSize: recipe.batchSize,
    shuffle: true,
    generator: loaderGenerator,
  });
  const valLoader = ds.val ? new DataLoader(ds.val, { batchSize: EVAL_BATCH }) : undefined;
  const testLoader = new DataLoader(ds.test, { batchSize: EVAL_BATCH });
  const scheduler = buildScheduler(optimizer, recipe, trainLoader.length);

  let runDir: string;
  let startEpoch = 0;
  let history: EpochLogs[] = [];
  if (resumed) {
    runDir = resolve(opts.resume!);
    if (recipe.epochs !== resumed.run.recipe.epochs) {
      await writeFile(join(runDir, 'run.json'), `${jsonToText({ ...resumed.run, recipe }, 2)}\n`);
    }
    const state = await restoreTraining(resumed.checkpointDir, {
      model,
      optimizer,
      scheduler,
      generators: { loader: loaderGenerator, augment: augmentGenerator },
    });
    startEpoch = state.epoch;
    history = state.history;
    if (startEpoch >= recipe.epochs) {
      throw new CliError(
        `${displayPath(runDir)} already completed ${startEpoch} of ${recipe.epochs} epochs; pass --epochs N (N > ${startEpoch}) to train further`,
      );
    }
  } else {
    runDir = await newRunDir(opts.out);
    const run: RunFile = {
      createdAt: new Date().toISOString(),
      argv: process.argv.slice(2),
      model: spec,
      data,
      recipe,
    };
    await writeFile(join(runDir, 'run.json'), `${jsonToText(run, 2)}\n`);
  }

  const sizes = `${ds.train.length} train / ${ds.val?.length ?? 0} validation / ${ds.test.length} test`;
  report.event('start', {
    runDir,
    model: spec,
    parameters: model.numParameters(),
    dataset: data.name,
    sizes: { train: ds.train.length, val: ds.val?.length ?? 0, test: ds.test.length },
    recipe,
    startEpoch,
  });
  report.info(
    `Model: ${spec.name} (${model.numParameters().toLocaleString('en-US')} parameters)  Data: ${data.name}, ${sizes}\n` +
      `Recipe: ${recipe.optimizer} lr ${recipe.lr} (${recipe.scheduler}), batch ${recipe.batchSize}, ${recipe.epochs} epochs, weight decay ${recipe.weightDecay}, seed ${recipe.seed}\n` +
      `${resumed ? `Resuming ${displayPath(runDir)} after epoch ${startEpoch}` : `Run directory: ${displayPath(runDir)}`}`,
  );

  const metrics: RunMetrics = { epochs: history.map(toEpochMetrics), status: 'running' };

  const progress = new TrainingProgress(
    report,
    () => model.training,
    recipe.epochs,
    trainLoader.length,
  );
  const recorder: Callback = {
    async onEpochEnd(_epoch, logs) {
      const m = toEpochMetrics(logs);
      metrics.epochs.push(m);
      report.epoch(m, recipe.epochs);
      await writeMetrics(runDir, metrics);
    },
  };

  const meta = (epoch: number): ModelMeta => ({
    model: spec,
    dataset: { name: ds.name, input: ds.input, classes: ds.classes },
    epoch,
  });
  let lastCheckpoint: { dir: string; epoch: number } | undefined = resumed
    ? { dir: resumed.checkpointDir, epoch: startEpoch }
    : undefined;

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

  let stopReason: string;
  try {
    const result = await fit({
      model,
      optimizer,
      scheduler,
      loss: progress.loss,
      trainLoader,
      valLoader,
      epochs: recipe.epochs,
      startEpoch,
      history,
      callbacks: [progress, recorder],
      signal: controller.signal,
      checkpoint: {
        save: async (s) => {
          const dir = await saveCheckpoint(runDir, {
            model,
            optimizer,
            scheduler,
            generators: { loader: loaderGenerator, augment: augmentGenerator },
            epoch: s.epoch,
            history: s.history,
            meta: meta(s.epoch),
            extra: { recipe, backend: selection.name },
          });
          lastCheckpoint = { dir, epoch: s.epoch };
          report.event('checkpoint', { epoch: s.epoch, dir });
        },
      },
    });
    stopReason = result.stopReason;
  } catch (e) {
    report.clearBar();
    metrics.status = 'failed';
    await writeMetrics(runDir, metrics);
    if (e instanceof NonFiniteLossError) {
      const kept = lastCheckpoint
        ? `The last good checkpoint (epoch ${lastCheckpoint.epoch}) is kept in ${displayPath(lastCheckpoint.dir)}.`
        : 'No epoch had completed, so there is no checkpoint.';
      throw new CliError(
        `training diverged: the loss became ${e.loss} at epoch ${e.epoch + 1}, batch ${e.batch + 1}, so the run stopped. ` +
          `${kept} Try a lower --lr (this run used ${recipe.lr}) or another --optimizer.`,
      );
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    progress.dispose();
  }

  report.epochTable(metrics.epochs);
  if (stopReason === 'aborted') {
    metrics.status = 'interrupted';
    await writeMetrics(runDir, metrics);
    const message = lastCheckpoint
      ? `Interrupted. Checkpoint of epoch ${lastCheckpoint.epoch} in ${displayPath(lastCheckpoint.dir)}; continue with: ${invocation()} --resume ${displayPath(runDir)}`
      : 'Interrupted before the first epoch completed; nothing was saved.';
    report.result(
      message,
      { runDir, epoch: lastCheckpoint?.epoch ?? 0, resumable: !!lastCheckpoint },
      'interrupted',
    );
    throw new InterruptedExit();
  }

  const test = await evaluate(model, testLoader);
  const correctCount = Math.round(test.accuracy * test.count);
  metrics.test = {
    accuracy: test.accuracy,
    loss: test.loss,
    correct: correctCount,
    total: test.count,
  };
  metrics.status = 'completed';
  await writeMetrics(runDir, metrics);
  const totalSeconds = metrics.epochs.reduce((s, m) => s + m.seconds, 0);
  report.result(
    `Test accuracy: ${percent(test.accuracy)} (${correctCount}/${test.count}), loss ${test.loss.toFixed(4)}, ` +
      `${metrics.epochs.length} epochs in ${totalSeconds.toFixed(1)} s on ${selection.name}\nRun saved to ${displayPath(runDir)}`,
    {
      accuracy: test.accuracy,
      loss: test.loss,
      correct: correctCount,
      total: test.count,
      backend: selection.name,
      trainSeconds: totalSeconds,
      runDir,
      checkpoint: lastCheckpoint?.dir,
    },
    'done',
  );
  model.dispose();
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

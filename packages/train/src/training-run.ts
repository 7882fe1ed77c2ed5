import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Generator, ResnetError } from '@resnet-ts/core';
import type * as v from 'valibot';
import type { CheckpointSource } from './checkpoint-packing.js';
import type { Callback, CheckpointHook, EpochLogs } from './fit.js';
import {
  type CheckpointPointer,
  cleanRunDirectory,
  createRunDirectory,
  type EpochMetrics,
  epochMetrics,
  loadCheckpoint,
  RUN_JSON,
  type RunMetrics,
  readMetrics,
  readPointer,
  readRunFile,
  saveCheckpoint,
  writeMetrics,
  writeRunFile,
} from './run-directory.js';
import type { SchedulerName } from './schedulers/create-scheduler.js';

/** Why a run directory cannot be continued; `problem` lets a caller word it in its own terms. */
export type ResumeProblem = 'not-a-run' | 'unreadable' | 'no-checkpoint' | 'fewer-epochs' | 'done';

/** A run directory that cannot be continued as asked. */
export class ResumeError extends ResnetError {
  override name = 'ResumeError';

  constructor(
    message: string,
    readonly problem: ResumeProblem,
    readonly runDir: string,
    /** Epochs the run has completed, where that is known. */
    readonly epoch?: number,
  ) {
    super(message);
  }
}

/** How paths appear in messages (e.g. relative to the working directory); default as they are. */
type ShowPath = (path: string) => string;
const asIs: ShowPath = (p) => p;

/**
 * True for the schedules whose every step depends on the total number of epochs (OneCycle,
 * cosine): such a run cannot be given more epochs when it is continued.
 */
export function scheduleFixesEpochs(name: SchedulerName): boolean {
  return name === 'onecycle' || name === 'cosine';
}

/** A run directory to continue: its validated run.json and checkpoint pointer. */
export interface OpenedRun<T> {
  runDir: string;
  run: T;
  pointer: CheckpointPointer;
}

/**
 * Opens the run directory `dir` to continue it: run.json validated by `schema`, the pointer
 * by its own. Nothing is written. Throws {@link ResumeError} when there is no run.json, when
 * either file is invalid, or when no epoch was ever saved.
 */
export async function openRun<S extends v.GenericSchema>(
  dir: string,
  schema: S,
): Promise<OpenedRun<v.InferOutput<S>>> {
  const runDir = resolve(dir);
  const fail = (problem: ResumeProblem, why: string): never => {
    throw new ResumeError(`cannot resume ${runDir}: ${why}`, problem, runDir);
  };
  if (!(await stat(join(runDir, RUN_JSON)).catch(() => undefined))) {
    fail('not-a-run', `no ${RUN_JSON} there (expected a directory made by resnet-ts train)`);
  }
  let run: v.InferOutput<S>;
  let pointer: CheckpointPointer | undefined;
  try {
    run = await readRunFile(runDir, schema);
    pointer = await readPointer(runDir);
  } catch (e) {
    return fail('unreadable', (e as Error).message);
  }
  if (!pointer) {
    return fail(
      'no-checkpoint',
      'no epoch was completed, so there is no checkpoint; start a new run',
    );
  }
  return { runDir, run, pointer };
}

/** What a checkpoint of a {@link TrainingRun} holds besides model, optimizer and schedule. */
export interface RunCheckpointOptions {
  generators?: Record<string, Generator>;
  /** JSON data saved in state.json. */
  extra?: unknown;
  /** The weights file's `__metadata__` for the epoch saved (e.g. models' `encodeWeightsMeta`). */
  weightsMetadata?: (epoch: number) => Record<string, string>;
  /** Called once the epoch's checkpoint is on disk. */
  onSaved?: (dir: string, epoch: number) => void;
}

/**
 * One training run on disk, from its start or from its latest checkpoint: the epochs done,
 * the metrics recorded so far and the latest checkpoint. It writes metrics.json/.csv after
 * each epoch ({@link TrainingRun.recorder}), a checkpoint after each epoch
 * ({@link TrainingRun.checkpoint}) and the outcome ({@link TrainingRun.finish}).
 *
 * @example
 * const run = await TrainingRun.create('runs', { recipe });
 * await fit({ ..., callbacks: [run.recorder()], checkpoint: run.checkpoint({ generators }) });
 * await run.finish('completed', test);
 */
export class TrainingRun {
  /** What metrics.json holds: the epochs so far (a resumed run's included) and the status. */
  readonly metrics: RunMetrics;

  private constructor(
    readonly runDir: string,
    /** Epochs completed before this process (0 for a new run). */
    readonly startEpoch: number,
    /** `fit`'s logs of those epochs, to continue its history. */
    readonly history: EpochLogs[],
    /** The latest checkpoint on disk, if any. */
    public lastCheckpoint?: { dir: string; epoch: number },
  ) {
    this.metrics = { epochs: history.map(epochMetrics), status: 'running' };
  }

  /** Creates a new run directory `parent/<UTC timestamp>` and writes `run` as its run.json. */
  static async create(parent: string, run: unknown): Promise<TrainingRun> {
    const runDir = await createRunDirectory(parent);
    await writeRunFile(runDir, run);
    return new TrainingRun(runDir, 0, []);
  }

  /**
   * Restores the latest checkpoint of `runDir` into `target` (which validates all of it) to
   * train up to `epochs` epochs; only then cleans what an interrupted save left and returns
   * the run with the removed paths. Throws {@link ResumeError} when the checkpoint cannot be
   * read (`unreadable`), when it holds more than `epochs` epochs (`fewer-epochs`) or when the
   * run already completed all of them (`done`).
   */
  static async resume(
    runDir: string,
    target: CheckpointSource,
    { epochs, showPath = asIs }: { epochs: number; showPath?: ShowPath },
  ): Promise<{ run: TrainingRun; removed: string[] }> {
    let state: Awaited<ReturnType<typeof loadCheckpoint>>;
    let metrics: RunMetrics | undefined;
    try {
      state = await loadCheckpoint(runDir, target);
      metrics = await readMetrics(runDir).catch(() => undefined);
    } catch (e) {
      throw new ResumeError(
        `cannot resume ${showPath(runDir)}: ${(e as Error).message}`,
        'unreadable',
        runDir,
      );
    }
    const where = showPath(runDir);
    if (state.epoch > epochs) {
      throw new ResumeError(
        `${where} has completed ${state.epoch} epochs, more than ${epochs}`,
        'fewer-epochs',
        runDir,
        state.epoch,
      );
    }
    if (state.epoch >= epochs && metrics?.status === 'completed') {
      throw new ResumeError(
        `${where} already completed ${state.epoch} of ${epochs} epochs`,
        'done',
        runDir,
        state.epoch,
      );
    }
    const removed = await cleanRunDirectory(runDir);
    const run = new TrainingRun(runDir, state.epoch, state.history, {
      dir: state.dir,
      epoch: state.epoch,
    });
    return { run, removed };
  }

  /** A `fit` callback appending each epoch to the metrics and writing them; `onEpoch` sees the row. */
  recorder(onEpoch?: (m: EpochMetrics) => void): Callback {
    return {
      onEpochEnd: async (_epoch, logs) => {
        const m = epochMetrics(logs);
        this.metrics.epochs.push(m);
        onEpoch?.(m);
        await writeMetrics(this.runDir, this.metrics);
      },
    };
  }

  /** A `fit` checkpoint hook saving every epoch into the run and remembering the latest. */
  checkpoint(options: RunCheckpointOptions = {}): CheckpointHook {
    const { generators, extra, weightsMetadata, onSaved } = options;
    return {
      save: async (s) => {
        const dir = await saveCheckpoint(
          this.runDir,
          { ...s, generators, extra },
          { weightsMetadata: weightsMetadata?.(s.epoch) },
        );
        this.lastCheckpoint = { dir, epoch: s.epoch };
        onSaved?.(dir, s.epoch);
      },
    };
  }

  /** Records how the run ended (with the test figures when it completed) in metrics.json/.csv. */
  async finish(status: Exclude<RunMetrics['status'], 'running'>, test?: RunMetrics['test']) {
    this.metrics.status = status;
    if (test) this.metrics.test = test;
    await writeMetrics(this.runDir, this.metrics);
  }
}

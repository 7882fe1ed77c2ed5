/**
 * A training run on disk, the one format resnet-ts writes and resumes:
 *
 * ```
 * runDir/run.json                       how the run was configured (the caller's JSON)
 * runDir/checkpoint.json                pointer {"latest": "checkpoints/epoch-N", "epoch": N}
 * runDir/checkpoints/epoch-N/model.safetensors      the weights, under their state-dict names
 * runDir/checkpoints/epoch-N/optimizer.safetensors  the optimizer's tensors
 * runDir/checkpoints/epoch-N/state.json             everything else (see CheckpointJson)
 * runDir/metrics.json, runDir/metrics.csv           the per-epoch figures
 * ```
 *
 * Every file is written to a temporary name and renamed, and directories are synced after
 * entries appear in them, so a crash leaves the previous state readable. Everything read
 * back is untrusted: sizes are capped before reading, JSON is validated by a schema, and the
 * pointer's path must name an `epoch-N` directory inside the run.
 */
import type { Dirent } from 'node:fs';
import { mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  FileFormatError,
  type Generator,
  readTensors,
  safetensorsToTensors,
  validate,
} from '@resnet-ts/core';
import {
  loadSafetensors,
  makeDirDurable,
  readRegularFile,
  removeStaleTempFiles,
  saveSafetensors,
  syncDirectory,
  writeFileAtomic,
} from '@resnet-ts/core/node';
import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import {
  type CheckpointSource,
  checkpointJsonFromText,
  checkpointJsonToText,
  joinCheckpointTensors,
  jsonFromText,
  jsonToText,
  packCheckpoint,
  type RestoredState,
  splitCheckpointTensors,
  unpackCheckpoint,
} from './checkpoint-packing.js';
import type { CheckpointHook, EpochLogs, TrainingState } from './fit.js';

/** The run's configuration, written once when the run starts. */
export const RUN_JSON = 'run.json';
/** The pointer to the latest complete checkpoint. */
export const CHECKPOINT_POINTER = 'checkpoint.json';
/** The folder of `epoch-N` checkpoint directories. */
export const CHECKPOINTS_DIR = 'checkpoints';
/** The weights file of a checkpoint directory, loadable on its own (`eval`, `predict`). */
export const WEIGHTS_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'state.json';
const METRICS_JSON = 'metrics.json';
const METRICS_CSV = 'metrics.csv';

const EPOCH_DIR = /^epoch-(0|[1-9]\d{0,8})$/;

/** Caps on what is read back: a run's JSON is small; weights are big but bounded. */
const MAX_POINTER_BYTES = 4096;
const MAX_RUN_JSON_BYTES = 1 << 20;
const MAX_STATE_BYTES = 64 << 20;
const MAX_METRICS_BYTES = 64 << 20;
/** The largest weights or optimizer file read (2 GiB, about what one Node buffer holds). */
export const MAX_TENSOR_FILE_BYTES = 2 ** 31 - 1;

const count = v.pipe(v.number(), v.integer(), v.minValue(0));

/** The run directory's pointer to its latest complete checkpoint. */
export interface CheckpointPointer {
  /** Relative to the run directory: always `checkpoints/epoch-N`. */
  latest: string;
  epoch: number;
}

const pointerSchema = v.object({
  latest: v.pipe(
    v.string(),
    v.maxLength(64),
    v.regex(/^checkpoints\/epoch-(0|[1-9]\d{0,8})$/, 'expected "checkpoints/epoch-N"'),
  ),
  epoch: count,
});

/**
 * Resolves `path`, taken from a file in `root`, and insists that it stays inside `root`:
 * no absolute path, no `..` segment, not `root` itself (`.` or empty).
 */
export function resolveInside(root: string, path: string, file: string): string {
  const segments = path.split(/[\\/]/);
  if (
    path === '' ||
    path.includes('\0') ||
    isAbsolute(path) ||
    /^[a-zA-Z]:/.test(path) ||
    segments.includes('..') ||
    segments.every((s) => s === '' || s === '.')
  ) {
    throw new FileFormatError(`path ${JSON.stringify(path)} must name something inside ${root}`, {
      file,
    });
  }
  const base = resolve(root);
  const full = resolve(base, path);
  if (!full.startsWith(base + sep)) {
    throw new FileFormatError(`path ${JSON.stringify(path)} leaves ${root}`, { file });
  }
  return full;
}

async function readJson<S extends v.GenericSchema>(
  schema: S,
  path: string,
  maxBytes: number,
  what: string,
): Promise<v.InferOutput<S>> {
  const bytes = await readRegularFile(path, { maxBytes, what });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileFormatError('not valid UTF-8', { file: path });
  }
  return validate(schema, jsonFromText(text, path), path);
}

async function writeJson(path: string, value: unknown, indent = 2): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${jsonToText(value, indent)}\n`));
}

/** Creates `dir` (whose parent exists) and syncs the parent so the new entry survives a crash. */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    throw e;
  }
  await syncDirectory(resolve(dir, '..'));
}

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * Creates a new run directory `parent/<UTC timestamp>` (`-2`, `-3`, … when taken) and
 * returns its absolute path.
 */
export async function createRunDirectory(parent: string): Promise<string> {
  const base = resolve(parent);
  await makeDirDurable(base);
  const name = timestamp();
  for (let i = 1; ; i++) {
    const dir = join(base, i === 1 ? name : `${name}-${i}`);
    try {
      await mkdir(dir);
      await syncDirectory(base);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || i > 1000) throw e;
    }
  }
}

/** Writes `runDir/run.json` atomically (non-finite numbers kept, see `jsonToText`). */
export async function writeRunFile(runDir: string, run: unknown): Promise<void> {
  await writeJson(join(runDir, RUN_JSON), run);
}

/** Reads and validates `runDir/run.json` against the caller's schema. */
export async function readRunFile<S extends v.GenericSchema>(
  runDir: string,
  schema: S,
): Promise<v.InferOutput<S>> {
  return readJson(schema, join(runDir, RUN_JSON), MAX_RUN_JSON_BYTES, 'run file');
}

/**
 * The run's pointer, validated (`latest` must be `checkpoints/epoch-N`), or undefined when
 * no epoch has been saved yet.
 */
export async function readPointer(runDir: string): Promise<CheckpointPointer | undefined> {
  const path = join(runDir, CHECKPOINT_POINTER);
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return readJson(pointerSchema, path, MAX_POINTER_BYTES, 'checkpoint pointer');
}

/**
 * The directory of the run's latest complete checkpoint, or undefined before the first save.
 * The pointer's path is confined to `runDir/checkpoints`, also through symbolic links.
 */
export async function latestCheckpoint(runDir: string): Promise<string | undefined> {
  const pointer = await readPointer(runDir);
  if (!pointer) return undefined;
  const file = join(runDir, CHECKPOINT_POINTER);
  const dir = resolveInside(runDir, pointer.latest, file);
  let real: string;
  try {
    real = await realpath(dir);
  } catch {
    throw new FileFormatError(`its checkpoint ${pointer.latest} does not exist`, { file });
  }
  const root = await realpath(join(runDir, CHECKPOINTS_DIR));
  if (relative(root, real).split(sep)[0] === '..' || isAbsolute(relative(root, real))) {
    throw new FileFormatError(`${pointer.latest} leads outside ${runDir}`, { file });
  }
  return dir;
}

/** Where {@link findCheckpoint} found a checkpoint. */
export interface CheckpointLocation {
  /** The run directory, when a run directory was named. */
  runDir?: string;
  /** The checkpoint directory, unless a bare weights file was named. */
  dir?: string;
  /** The weights file (loadable without the rest of the checkpoint). */
  weights: string;
}

/**
 * Finds the checkpoint a user named: a run directory (its latest checkpoint), a checkpoint
 * directory (with model.safetensors) or a weights file.
 */
export async function findCheckpoint(path: string): Promise<CheckpointLocation> {
  const p = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(p);
  } catch {
    throw new FileFormatError(`no checkpoint at ${p}: the path does not exist`);
  }
  if (!info.isDirectory()) return { weights: p };
  const dir = await latestCheckpoint(p);
  if (dir) return { runDir: p, dir, weights: join(dir, WEIGHTS_FILE) };
  try {
    await stat(join(p, WEIGHTS_FILE));
    return { dir: p, weights: join(p, WEIGHTS_FILE) };
  } catch {
    throw new FileFormatError(
      `no checkpoint in ${p}: expected a run directory (with ${CHECKPOINT_POINTER}), a checkpoint directory (with ${WEIGHTS_FILE}) or a .safetensors file`,
    );
  }
}

/** Reads a safetensors file of a checkpoint (bounded by core) as tensors the caller disposes. */
async function readTensorFile(path: string): Promise<Record<string, tf.Tensor>> {
  return safetensorsToTensors(await loadSafetensors(path, { maxBytes: MAX_TENSOR_FILE_BYTES }));
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** `__metadata__` of the weights file, e.g. the model's description for `eval`. */
  weightsMetadata?: Record<string, string>;
}

/**
 * Saves a checkpoint into `runDir/checkpoints/epoch-<epoch>/` and then points
 * `runDir/checkpoint.json` at it. Each file is written atomically and the pointer last, so a
 * crash at any point leaves the previous checkpoint in charge; superseded `epoch-N`
 * directories are removed only after the pointer has moved. Returns the checkpoint directory.
 *
 * @example
 * await saveCheckpoint('runs/a', { model, optimizer, scheduler, generators: { shuffle }, epoch: 3 });
 */
export async function saveCheckpoint(
  runDir: string,
  src: CheckpointSource,
  options: SaveCheckpointOptions = {},
): Promise<string> {
  const epoch = src.epoch ?? 0;
  const name = `epoch-${epoch}`;
  const checkpoints = join(runDir, CHECKPOINTS_DIR);
  await makeDirDurable(runDir);
  await makeDir(checkpoints);
  const dir = join(checkpoints, name);
  await makeDir(dir);
  const { tensors, json } = packCheckpoint(src);
  const { model, optimizer } = splitCheckpointTensors(await readTensors(tensors));
  await saveSafetensors(join(dir, WEIGHTS_FILE), model, options.weightsMetadata);
  await saveSafetensors(join(dir, OPTIMIZER_FILE), optimizer);
  await writeFileAtomic(
    join(dir, STATE_FILE),
    new TextEncoder().encode(`${checkpointJsonToText(json)}\n`),
  );
  const pointer: CheckpointPointer = { latest: `${CHECKPOINTS_DIR}/${name}`, epoch };
  await writeJson(join(runDir, CHECKPOINT_POINTER), pointer);
  await removeEpochDirs(checkpoints, name);
  return dir;
}

/**
 * Restores a checkpoint into the objects given (model required; optimizer, scheduler and
 * generators when passed) and returns the epoch count, history and extra data. `path` is a
 * run directory (its latest checkpoint) or a checkpoint directory. Continue with
 * `fit({ ..., startEpoch: epoch, history })`.
 */
export async function loadCheckpoint(
  path: string,
  target: CheckpointSource,
): Promise<RestoredState & { dir: string }> {
  const dir = (await latestCheckpoint(path)) ?? resolve(path);
  const stateFile = join(dir, STATE_FILE);
  const json = checkpointJsonFromText(
    new TextDecoder().decode(
      await readRegularFile(stateFile, { maxBytes: MAX_STATE_BYTES, what: 'checkpoint state' }),
    ),
    stateFile,
  );
  let model: Record<string, tf.Tensor> = {};
  let optimizer: Record<string, tf.Tensor> = {};
  try {
    model = await readTensorFile(join(dir, WEIGHTS_FILE));
    optimizer = await readTensorFile(join(dir, OPTIMIZER_FILE));
    const tensors = joinCheckpointTensors(model, optimizer);
    return { ...unpackCheckpoint({ tensors, json }, target), dir };
  } finally {
    tf.dispose([...Object.values(model), ...Object.values(optimizer)]);
  }
}

/**
 * Removes `epoch-N` directories of `checkpoints` other than `keep` (superseded, or left by a
 * crash mid-save). Only real directories with that name are touched, never a symbolic link.
 */
async function removeEpochDirs(checkpoints: string, keep: string | undefined): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(checkpoints, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    if (e.name !== keep && EPOCH_DIR.test(e.name) && e.isDirectory()) {
      await rm(join(checkpoints, e.name), { recursive: true, force: true });
      removed.push(join(checkpoints, e.name));
    }
  }
  if (removed.length > 0) await syncDirectory(checkpoints);
  return removed;
}

async function removeTempFiles(dir: string): Promise<string[]> {
  const names = await removeStaleTempFiles(dir).catch(() => []);
  return names.map((name) => join(dir, name));
}

/**
 * Clears what a killed process left in a run directory: temporary files of interrupted
 * writes, `epoch-N` directories other than the pointer's, and a metrics.json still saying
 * "running" (it becomes "interrupted"). Call it once the run has been validated, before it
 * continues. Returns what was removed.
 */
export async function cleanRunDirectory(runDir: string): Promise<string[]> {
  const checkpoints = join(runDir, CHECKPOINTS_DIR);
  const latest = await latestCheckpoint(runDir);
  const removed = [
    ...(await removeTempFiles(runDir)),
    ...(await removeTempFiles(checkpoints)),
    ...(latest ? await removeTempFiles(latest) : []),
    ...(await removeEpochDirs(checkpoints, latest ? relative(checkpoints, latest) : undefined)),
  ];
  // A metrics.json that does not parse is left alone: the resumed run rewrites it whole.
  const metrics = await readMetrics(runDir).catch(() => undefined);
  if (metrics?.status === 'running')
    await writeMetrics(runDir, { ...metrics, status: 'interrupted' });
  return removed;
}

/** The figures of one finished epoch: a row of metrics.csv and an entry of metrics.json. */
export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  imagesPerSec: number;
  seconds: number;
}

/** Everything a run measured, as written to metrics.json. */
export interface RunMetrics {
  epochs: EpochMetrics[];
  test?: { accuracy: number; loss: number; correct: number; total: number };
  status: 'running' | 'completed' | 'interrupted' | 'failed';
}

// JSON.stringify writes a NaN (an accuracy without classes, a diverged loss) as null.
const figure = v.nullable(v.number());
const metricsSchema = v.object({
  epochs: v.array(
    v.object({
      epoch: count,
      trainLoss: figure,
      trainAccuracy: figure,
      valLoss: figure,
      valAccuracy: figure,
      lr: figure,
      imagesPerSec: figure,
      seconds: figure,
    }),
  ),
  test: v.optional(v.object({ accuracy: figure, loss: figure, correct: count, total: count })),
  status: v.picklist(['running', 'completed', 'interrupted', 'failed']),
});

/** The metrics.json row of one of `fit`'s epochs (1-based, null where there was no validation). */
export function epochMetrics(logs: EpochLogs): EpochMetrics {
  return {
    epoch: logs.epoch + 1,
    trainLoss: logs.trainLoss,
    trainAccuracy: logs.trainAcc,
    valLoss: Number.isNaN(logs.valLoss) ? null : logs.valLoss,
    valAccuracy: Number.isNaN(logs.valAcc) ? null : logs.valAcc,
    lr: logs.lr,
    imagesPerSec: logs.imagesPerSec,
    seconds: logs.seconds,
  };
}

const CSV_COLUMNS: Array<keyof EpochMetrics> = [
  'epoch',
  'trainLoss',
  'trainAccuracy',
  'valLoss',
  'valAccuracy',
  'lr',
  'imagesPerSec',
  'seconds',
];

/** The per-epoch figures as CSV, one row per epoch, empty cells where there was no validation. */
export function metricsCsv(rows: EpochMetrics[]): string {
  const header = CSV_COLUMNS.map((c) => c.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)).join(
    ',',
  );
  const lines = rows.map((r) =>
    CSV_COLUMNS.map((c) => (r[c] === null ? '' : String(r[c]))).join(','),
  );
  return `${[header, ...lines].join('\n')}\n`;
}

/** Writes metrics.csv and metrics.json into `runDir`, each atomically. */
export async function writeMetrics(runDir: string, metrics: RunMetrics): Promise<void> {
  await writeFileAtomic(
    join(runDir, METRICS_CSV),
    new TextEncoder().encode(metricsCsv(metrics.epochs)),
  );
  await writeFileAtomic(
    join(runDir, METRICS_JSON),
    new TextEncoder().encode(`${JSON.stringify(metrics, null, 2)}\n`),
  );
}

/** Reads and validates `runDir/metrics.json`, or undefined when there is none. */
export async function readMetrics(runDir: string): Promise<RunMetrics | undefined> {
  const path = join(runDir, METRICS_JSON);
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  return (await readJson(metricsSchema, path, MAX_METRICS_BYTES, 'metrics file')) as RunMetrics;
}

/**
 * A `fit` checkpoint hook saving into the run directory `runDir` with {@link saveCheckpoint},
 * adding the given generators' states (the data loader's shuffling, for an exact resume).
 */
export function checkpointTo(
  runDir: string,
  {
    generators,
    every,
    extra,
    weightsMetadata,
  }: {
    generators?: Record<string, Generator>;
    every?: number;
    extra?: unknown;
    weightsMetadata?: (epoch: number) => Record<string, string>;
  } = {},
): CheckpointHook {
  return {
    every,
    save: async (state: TrainingState) => {
      await saveCheckpoint(
        runDir,
        { ...state, generators, extra },
        { weightsMetadata: weightsMetadata?.(state.epoch) },
      );
    },
  };
}

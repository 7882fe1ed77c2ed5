import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  type GeneratorState,
  loadSafetensorsIntoModule,
  type Module,
  type RawTensor,
  SafetensorsError,
  type SafetensorsFile,
  StateDictError,
} from '@resnet-ts/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@resnet-ts/core/node';
import type {
  EpochLogs,
  Optimizer,
  OptimizerStateDict,
  Scheduler,
  SchedulerStateDict,
} from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetInfo } from './datasets.js';
import { CliError } from './errors.js';
import { buildModel, type ModelSpec } from './models.js';
import type { Recipe } from './recipe.js';

/** The key under which model.safetensors carries its {@link ModelMeta} in `__metadata__`. */
const META_KEY = 'resnet-ts';
const POINTER = 'checkpoint.json';

/** What a weights file says about itself, so `eval` and `predict` can rebuild the model from it alone. */
export interface ModelMeta {
  model: ModelSpec;
  dataset: DatasetInfo;
  /** Epochs completed when the weights were saved. */
  epoch: number;
}

/** Everything besides the weights that a resumed run needs to continue exactly. */
export interface TrainingState {
  epoch: number;
  recipe: Recipe;
  backend: string;
  optimizer: {
    paramGroups: OptimizerStateDict['paramGroups'];
    numbers: Record<string, Record<string, number>>;
  };
  scheduler: SchedulerStateDict | null;
  generators: { loader: GeneratorState; augment: GeneratorState };
  history: EpochLogs[];
}

/** The run directory's pointer to its latest complete checkpoint. */
interface Pointer {
  latest: string;
  epoch: number;
}

// JSON has no ±Infinity or NaN, which scheduler states (ReduceLROnPlateau's best) and logs hold.
function replacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v;
}
function reviver(_key: string, v: unknown): unknown {
  return v && typeof v === 'object' && '$number' in v
    ? Number((v as { $number: string }).$number)
    : v;
}

/** JSON text that keeps non-finite numbers. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, replacer, 2)}\n`;
}

/** The inverse of {@link toJson}. */
export function fromJson<T>(text: string): T {
  return JSON.parse(text, reviver) as T;
}

/**
 * Reads tensors into plain arrays with asynchronous reads, which every backend supports (GPU
 * backends in Node cannot read synchronously, as encoding a tensor directly would).
 * BatchNorm's counters are written as I64, the dtype PyTorch keeps them in.
 */
async function readTensors(tensors: Record<string, tf.Tensor>): Promise<Record<string, RawTensor>> {
  const out: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const data = await t.data();
    let dtype: RawTensor['dtype'] = 'F32';
    if (t.dtype === 'int32') dtype = /(^|\.)num_batches_tracked$/.test(name) ? 'I64' : 'I32';
    else if (t.dtype === 'bool') dtype = 'BOOL';
    out[name] = { dtype, shape: t.shape, data: data as ArrayLike<number> };
  }
  return out;
}

/**
 * Saves one epoch's checkpoint under `runDir/checkpoints/epoch-<n>/` (model.safetensors,
 * optimizer.safetensors, state.json), then points `runDir/checkpoint.json` at it. The pointer
 * is written last and atomically, so a crash or Ctrl-C mid-save leaves the previous
 * checkpoint in charge; older epoch directories are removed once the pointer moves.
 */
export async function saveCheckpoint(
  runDir: string,
  parts: {
    model: Module;
    optimizer: Optimizer;
    scheduler?: Scheduler;
    meta: ModelMeta;
    state: Omit<TrainingState, 'optimizer'>;
  },
): Promise<string> {
  const name = `epoch-${parts.state.epoch}`;
  const dir = join(runDir, 'checkpoints', name);
  await mkdir(dir, { recursive: true });
  await saveSafetensors(
    join(dir, 'model.safetensors'),
    await readTensors(parts.model.stateDict()),
    {
      [META_KEY]: JSON.stringify(parts.meta),
    },
  );
  const opt = parts.optimizer.stateDict();
  const tensors: Record<string, tf.Tensor> = {};
  const numbers: TrainingState['optimizer']['numbers'] = {};
  for (const [index, st] of Object.entries(opt.state)) {
    for (const [key, v] of Object.entries(st)) {
      if (typeof v === 'number') {
        numbers[index] ??= {};
        numbers[index][key] = v;
      } else tensors[`${index}.${key}`] = v;
    }
  }
  await saveSafetensors(join(dir, 'optimizer.safetensors'), await readTensors(tensors));
  const state: TrainingState = {
    ...parts.state,
    optimizer: { paramGroups: opt.paramGroups, numbers },
  };
  await writeFileAtomic(join(dir, 'state.json'), new TextEncoder().encode(toJson(state)));
  let previous: Pointer | undefined;
  try {
    previous = JSON.parse(await readFile(join(runDir, POINTER), 'utf8')) as Pointer;
  } catch {}
  const pointer: Pointer = { latest: `checkpoints/${name}`, epoch: parts.state.epoch };
  await writeFileAtomic(
    join(runDir, POINTER),
    new TextEncoder().encode(`${JSON.stringify(pointer, null, 2)}\n`),
  );
  if (previous && previous.latest !== pointer.latest) {
    await rm(join(runDir, previous.latest), { recursive: true, force: true });
  }
  return dir;
}

/**
 * Finds the checkpoint a user named: a run directory (its latest checkpoint), an epoch
 * directory, or a model.safetensors file. Returns the directory and the weights file.
 */
export function resolveCheckpoint(path: string): { dir: string | undefined; weights: string } {
  const p = resolve(path);
  if (!existsSync(p)) throw new CliError(`no checkpoint at ${p}: the path does not exist`);
  if (statSync(p).isFile()) return { dir: undefined, weights: p };
  if (existsSync(join(p, POINTER))) {
    let pointer: Pointer;
    try {
      pointer = JSON.parse(readFileSync(join(p, POINTER), 'utf8')) as Pointer;
    } catch (e) {
      throw new CliError(
        `corrupted checkpoint pointer ${join(p, POINTER)}: ${(e as Error).message}`,
      );
    }
    if (typeof pointer.latest !== 'string') {
      throw new CliError(`corrupted checkpoint pointer ${join(p, POINTER)}: no "latest" entry`);
    }
    const dir = resolve(p, pointer.latest);
    return { dir, weights: join(dir, 'model.safetensors') };
  }
  if (existsSync(join(p, 'model.safetensors')))
    return { dir: p, weights: join(p, 'model.safetensors') };
  throw new CliError(
    `no checkpoint in ${p}: expected a run directory (with ${POINTER}), a checkpoint directory (with model.safetensors) or a .safetensors file`,
  );
}

/** A model rebuilt from a weights file, with what the file says about it. */
export interface LoadedModel {
  model: Module;
  meta: ModelMeta;
  weights: string;
}

function parseMeta(file: SafetensorsFile, path: string): ModelMeta {
  const raw = file.metadata[META_KEY];
  if (raw === undefined) {
    throw new CliError(
      `${path} has no "${META_KEY}" metadata, so the model it belongs to is unknown; it was not written by resnet-ts train`,
    );
  }
  let meta: ModelMeta;
  try {
    meta = JSON.parse(raw) as ModelMeta;
  } catch (e) {
    throw new CliError(`${path}: corrupted "${META_KEY}" metadata: ${(e as Error).message}`);
  }
  const m = meta?.model;
  if (
    !m ||
    typeof m.name !== 'string' ||
    !(m.inChannels > 0) ||
    !(m.inputSize > 0) ||
    !(m.numClasses > 0) ||
    !meta.dataset?.input
  ) {
    throw new CliError(
      `${path}: the "${META_KEY}" metadata does not describe a model (got ${raw.slice(0, 200)})`,
    );
  }
  return meta;
}

/** Rebuilds the model a checkpoint describes and loads its weights, strictly. */
export async function loadModel(path: string): Promise<LoadedModel> {
  const { weights } = resolveCheckpoint(path);
  let file: SafetensorsFile;
  try {
    file = await loadSafetensors(weights);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CliError(`corrupted checkpoint: ${e.message}`);
    throw e;
  }
  const meta = parseMeta(file, weights);
  const model = buildModel(meta.model);
  try {
    loadSafetensorsIntoModule(model, file, { strict: true });
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError || e instanceof Error) {
      throw new CliError(
        `checkpoint ${weights} does not fit a ${meta.model.name} model: ${e.message}`,
      );
    }
    throw e;
  }
  return { model, meta, weights };
}

/** Restores a run's training state into a freshly built model, optimizer and scheduler. */
export async function restoreTraining(
  dir: string,
  parts: { model: Module; optimizer: Optimizer; scheduler?: Scheduler },
): Promise<TrainingState> {
  const weights = join(dir, 'model.safetensors');
  let state: TrainingState;
  let optFile: SafetensorsFile;
  let modelFile: SafetensorsFile;
  try {
    state = fromJson<TrainingState>(await readFile(join(dir, 'state.json'), 'utf8'));
    optFile = await loadSafetensors(join(dir, 'optimizer.safetensors'));
    modelFile = await loadSafetensors(weights);
  } catch (e) {
    throw new CliError(`corrupted checkpoint in ${dir}: ${(e as Error).message}`);
  }
  try {
    loadSafetensorsIntoModule(parts.model, modelFile, { strict: true });
  } catch (e) {
    throw new CliError(`checkpoint ${weights} does not fit the model: ${(e as Error).message}`);
  }
  const tensors: tf.Tensor[] = [];
  try {
    const optState: OptimizerStateDict['state'] = {};
    for (const [index, nums] of Object.entries(state.optimizer.numbers))
      optState[index] = { ...nums };
    for (const [key, t] of Object.entries(optFile.tensors)) {
      const dot = key.indexOf('.');
      const tensor = tf.tensor(
        t.data,
        t.shape,
        t.dtype === 'I32' || t.dtype === 'I64' ? 'int32' : 'float32',
      );
      tensors.push(tensor);
      const index = key.slice(0, dot);
      optState[index] ??= {};
      optState[index][key.slice(dot + 1)] = tensor;
    }
    parts.optimizer.loadStateDict({ state: optState, paramGroups: state.optimizer.paramGroups });
    if (parts.scheduler && state.scheduler) parts.scheduler.loadStateDict(state.scheduler);
  } catch (e) {
    throw new CliError(
      `checkpoint in ${dir} does not fit this run's optimizer or scheduler: ${(e as Error).message}`,
    );
  } finally {
    tf.dispose(tensors);
  }
  return state;
}

/** A path relative to the working directory when shorter, for messages. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

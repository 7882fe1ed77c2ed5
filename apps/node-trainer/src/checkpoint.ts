import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  type Generator,
  loadSafetensorsIntoModule,
  type Module,
  type RawTensor,
  readTensors,
  SafetensorsError,
  type SafetensorsFile,
  StateDictError,
  safetensorsToTensors,
} from '@resnet-ts/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@resnet-ts/core/node';
import {
  type CheckpointJson,
  checkpointJsonFromText,
  checkpointJsonToText,
  type EpochLogs,
  type Optimizer,
  packCheckpoint,
  type RestoredState,
  type Scheduler,
  unpackCheckpoint,
} from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetInfo } from './datasets.js';
import { CliError } from './errors.js';
import { buildModel, type ModelSpec } from './models.js';
import type { Recipe } from './recipe.js';

/** The key under which model.safetensors carries its {@link ModelMeta} in `__metadata__`. */
const META_KEY = 'resnet-ts';
const POINTER = 'checkpoint.json';
/** Where train's packed checkpoint puts the model's state dict. */
const MODEL_PREFIX = 'model.';

/** What a weights file says about itself, so `eval` and `predict` can rebuild the model from it alone. */
export interface ModelMeta {
  model: ModelSpec;
  dataset: DatasetInfo;
  /** Epochs completed when the weights were saved. */
  epoch: number;
}

/** What a run keeps in its checkpoint besides train's own state, to resume with the same settings. */
export interface RunExtra {
  recipe: Recipe;
  backend: string;
}

/** The objects a checkpoint is saved from and restored into. */
export interface TrainingParts {
  model: Module;
  optimizer: Optimizer;
  scheduler?: Scheduler;
  /** The data loader's shuffling and the augmentation's generators. */
  generators: { loader: Generator; augment: Generator };
}

/** The run directory's pointer to its latest complete checkpoint. */
interface Pointer {
  latest: string;
  epoch: number;
}

/**
 * Saves one epoch's checkpoint under `runDir/checkpoints/epoch-<n>/`: train's packed
 * checkpoint split into model.safetensors (the weights alone, under their state-dict names,
 * with {@link ModelMeta} so `eval` and `predict` need nothing else), optimizer.safetensors and
 * state.json. Then `runDir/checkpoint.json` is pointed at it. The pointer is written last and
 * atomically, so a crash or Ctrl-C mid-save leaves the previous checkpoint in charge; older
 * epoch directories are removed once the pointer moves.
 */
export async function saveCheckpoint(
  runDir: string,
  parts: TrainingParts & { epoch: number; history: EpochLogs[]; meta: ModelMeta; extra: RunExtra },
): Promise<string> {
  const name = `epoch-${parts.epoch}`;
  const dir = join(runDir, 'checkpoints', name);
  await mkdir(dir, { recursive: true });
  const { tensors, json } = packCheckpoint(parts);
  const raw = await readTensors(tensors);
  const weights: Record<string, RawTensor> = {};
  const optimizer: Record<string, RawTensor> = {};
  for (const [key, t] of Object.entries(raw)) {
    if (key.startsWith(MODEL_PREFIX)) weights[key.slice(MODEL_PREFIX.length)] = t;
    else optimizer[key] = t;
  }
  await saveSafetensors(join(dir, 'model.safetensors'), weights, {
    [META_KEY]: JSON.stringify(parts.meta),
  });
  await saveSafetensors(join(dir, 'optimizer.safetensors'), optimizer);
  await writeFileAtomic(
    join(dir, 'state.json'),
    new TextEncoder().encode(`${checkpointJsonToText(json)}\n`),
  );
  let previous: Pointer | undefined;
  try {
    previous = JSON.parse(await readFile(join(runDir, POINTER), 'utf8')) as Pointer;
  } catch {}
  const pointer: Pointer = { latest: `checkpoints/${name}`, epoch: parts.epoch };
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

/**
 * Restores a run's training state (weights, optimizer, scheduler, generators) into freshly
 * built objects, exactly as {@link saveCheckpoint} saved it.
 */
export async function restoreTraining(
  dir: string,
  parts: TrainingParts,
): Promise<RestoredState & { extra: RunExtra }> {
  let json: CheckpointJson;
  let tensors: Record<string, tf.Tensor>;
  try {
    json = checkpointJsonFromText(await readFile(join(dir, 'state.json'), 'utf8'));
    const modelFile = await loadSafetensors(join(dir, 'model.safetensors'));
    const optFile = await loadSafetensors(join(dir, 'optimizer.safetensors'));
    tensors = safetensorsToTensors(optFile);
    for (const [key, t] of Object.entries(safetensorsToTensors(modelFile)))
      tensors[`${MODEL_PREFIX}${key}`] = t;
  } catch (e) {
    throw new CliError(`corrupted checkpoint in ${dir}: ${(e as Error).message}`);
  }
  try {
    return unpackCheckpoint({ tensors, json }, parts) as RestoredState & { extra: RunExtra };
  } catch (e) {
    throw new CliError(`checkpoint in ${dir} does not fit this run: ${(e as Error).message}`);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** A path relative to the working directory when shorter, for messages. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

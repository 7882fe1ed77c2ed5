import {
  formatValue,
  type Generator,
  type GeneratorState,
  type Module,
  parseJson,
  ValueError,
  validate,
} from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import type { EpochLogs } from './fit.js';
import type { Optimizer, OptimizerStateDict } from './optim/optimizer.js';
import type { Scheduler, SchedulerStateDict } from './schedulers/scheduler.js';

/** Everything a checkpoint holds; only `model` is required. */
export interface CheckpointSource {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: Scheduler;
  /** Random generators whose state must survive (data shuffling, augmentation, dropout). */
  generators?: Record<string, Generator>;
  /** Epochs completed. */
  epoch?: number;
  history?: EpochLogs[];
  /** Anything else JSON-serialisable (configuration, best metric, ...). */
  extra?: unknown;
}

/** The JSON half of a packed checkpoint; tensors are named by their key in `tensors`. */
export interface CheckpointJson {
  format: 'resnet-ts-checkpoint';
  version: 1;
  epoch: number;
  /** Model state-dict keys, stored as `model.<key>` tensors. */
  model: string[];
  /** The optimizer state dict with each tensor replaced by `{ tensor: name }`. */
  optimizer?: {
    paramGroups: OptimizerStateDict['paramGroups'];
    state: Record<string, Record<string, number | { tensor: string }>>;
  };
  scheduler?: SchedulerStateDict;
  generators?: Record<string, GeneratorState>;
  history?: EpochLogs[];
  extra?: unknown;
}

/** A checkpoint as tensors plus JSON: what `saveCheckpoint` writes, or what a browser stores. */
export interface PackedCheckpoint {
  /** The model's and optimizer's own tensors (not copies): encode them, do not dispose them. */
  tensors: Record<string, tf.Tensor>;
  json: CheckpointJson;
}

/** Where a packed checkpoint puts the model's state dict; the rest is the optimizer's. */
const MODEL_PREFIX = 'model.';

/**
 * Splits a packed checkpoint's tensors into the model's state dict (keys without the `model.`
 * prefix, ready for a weights file of its own) and the optimizer's tensors.
 */
export function splitCheckpointTensors<T>(tensors: Record<string, T>): {
  model: Record<string, T>;
  optimizer: Record<string, T>;
} {
  const model: Record<string, T> = {};
  const optimizer: Record<string, T> = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith(MODEL_PREFIX)) model[key.slice(MODEL_PREFIX.length)] = t;
    else optimizer[key] = t;
  }
  return { model, optimizer };
}

/** The inverse of {@link splitCheckpointTensors}: one record as `packCheckpoint` made it. */
export function joinCheckpointTensors<T>(
  model: Record<string, T>,
  optimizer: Record<string, T>,
): Record<string, T> {
  const tensors: Record<string, T> = { ...optimizer };
  for (const [key, t] of Object.entries(model)) tensors[`${MODEL_PREFIX}${key}`] = t;
  return tensors;
}

/**
 * Splits training state into named tensors (model state dict under `model.`, optimizer
 * buffers under `optimizer.<param index>.<name>`) and JSON for everything else.
 */
export function packCheckpoint(src: CheckpointSource): PackedCheckpoint {
  const tensors: Record<string, tf.Tensor> = {};
  const modelDict = src.model.stateDict();
  for (const [k, t] of Object.entries(modelDict)) tensors[`${MODEL_PREFIX}${k}`] = t;
  const json: CheckpointJson = {
    format: 'resnet-ts-checkpoint',
    version: 1,
    epoch: src.epoch ?? 0,
    model: Object.keys(modelDict),
  };
  if (src.optimizer) {
    const sd = src.optimizer.stateDict();
    const state: NonNullable<CheckpointJson['optimizer']>['state'] = {};
    for (const [i, st] of Object.entries(sd.state)) {
      state[i] = {};
      for (const [name, v] of Object.entries(st)) {
        if (typeof v === 'number') {
          state[i][name] = v;
        } else {
          const key = `optimizer.${i}.${name}`;
          tensors[key] = v;
          state[i][name] = { tensor: key };
        }
      }
    }
    json.optimizer = { paramGroups: sd.paramGroups, state };
  }
  if (src.scheduler) json.scheduler = src.scheduler.stateDict();
  if (src.generators) {
    json.generators = Object.fromEntries(
      Object.entries(src.generators).map(([k, g]) => [k, g.getState()]),
    );
  }
  if (src.history) json.history = src.history;
  if (src.extra !== undefined) json.extra = src.extra;
  return { tensors, json };
}

/** What {@link unpackCheckpoint} returns besides restoring the objects given. */
export interface RestoredState {
  /** Epochs completed: pass as `fit`'s `startEpoch`. */
  epoch: number;
  history: EpochLogs[];
  extra: unknown;
}

/**
 * Restores a packed checkpoint into the objects given (each optional except `model`):
 * model weights and buffers (strict), optimizer hyper-parameters and state, scheduler
 * state and generator states. The caller keeps ownership of `tensors`.
 */
export function unpackCheckpoint(
  packed: PackedCheckpoint,
  target: CheckpointSource,
): RestoredState {
  const { tensors, json } = packed;
  if (json?.format !== 'resnet-ts-checkpoint' || json.version !== 1) {
    throw new ValueError(
      `not a resnet-ts checkpoint (format ${formatValue(json?.format)}, version ${formatValue(json?.version)})`,
    );
  }
  const tensorOf = (key: string) => {
    const t = tensors[key];
    if (!t) throw new ValueError(`checkpoint is missing tensor ${formatValue(key)}`);
    return t;
  };
  target.model.loadStateDict(
    Object.fromEntries(json.model.map((k) => [k, tensorOf(`${MODEL_PREFIX}${k}`)])),
  );
  if (target.optimizer) {
    if (!json.optimizer) throw new ValueError('checkpoint has no optimizer state');
    const state: OptimizerStateDict['state'] = {};
    for (const [i, st] of Object.entries(json.optimizer.state)) {
      state[i] = {};
      for (const [name, v] of Object.entries(st))
        state[i][name] = typeof v === 'number' ? v : tensorOf(v.tensor);
    }
    target.optimizer.loadStateDict({ paramGroups: json.optimizer.paramGroups, state });
  }
  if (target.scheduler) {
    if (!json.scheduler) throw new ValueError('checkpoint has no scheduler state');
    target.scheduler.loadStateDict(json.scheduler);
  }
  for (const [name, g] of Object.entries(target.generators ?? {})) {
    const st = json.generators?.[name];
    if (!st) throw new ValueError(`checkpoint has no state for generator ${formatValue(name)}`);
    g.setState(st);
  }
  return { epoch: json.epoch, history: json.history ?? [], extra: json.extra };
}

/**
 * JSON text in which non-finite numbers (a plateau's `best`, a diverged loss) survive as
 * `{ "$number": "Infinity" }`, where plain JSON would turn them into `null`.
 */
export function jsonToText(value: unknown, indent = 1): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v),
    indent,
  );
}

/**
 * Parses {@link jsonToText}'s output (or any JSON) read from `file`, restoring its non-finite
 * numbers. Nesting, sizes and syntax are checked as core's `parseJson` does, so hostile text
 * fails with a FileFormatError naming `file`.
 */
export function jsonFromText<T = unknown>(text: string, file = 'JSON'): T {
  return revive(parseJson(v.unknown(), text, file)) as T;
}

// parseJson has capped the nesting at 128, so the recursion is bounded.
function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === '$number' && typeof entries[0][1] === 'string') {
    return Number(entries[0][1]);
  }
  return Object.fromEntries(entries.map(([k, x]) => [k, revive(x)]));
}

const count = v.pipe(v.number(), v.integer(), v.minValue(0));
/** Any number, NaN and infinities included (they survive as `{ "$number": ... }`). */
const anyNumber = v.custom<number>((x) => typeof x === 'number', 'expected a number');
const tensorRef = v.strictObject({ tensor: v.pipe(v.string(), v.maxLength(1000)) });

/** What a checkpoint's JSON must look like before any of it is used. */
export const checkpointJsonSchema = v.object({
  format: v.literal('resnet-ts-checkpoint'),
  version: v.literal(1),
  epoch: count,
  model: v.array(v.pipe(v.string(), v.maxLength(1000))),
  optimizer: v.optional(
    v.object({
      paramGroups: v.array(v.looseObject({ params: v.array(count) })),
      state: v.record(v.string(), v.record(v.string(), v.union([anyNumber, tensorRef]))),
    }),
  ),
  scheduler: v.optional(v.record(v.string(), v.unknown())),
  generators: v.optional(
    v.record(
      v.string(),
      v.object({
        algorithm: v.literal('xoshiro128**'),
        state: v.tuple([count, count, count, count]),
      }),
    ),
  ),
  history: v.optional(
    v.array(
      v.looseObject({
        epoch: count,
        trainLoss: anyNumber,
        trainAcc: anyNumber,
        valLoss: anyNumber,
        valAcc: anyNumber,
        lr: anyNumber,
        imagesPerSec: anyNumber,
        seconds: anyNumber,
      }),
    ),
  ),
  extra: v.optional(v.unknown()),
});

/** JSON text for a checkpoint, keeping non-finite numbers (see {@link jsonToText}). */
export function checkpointJsonToText(json: CheckpointJson): string {
  return jsonToText(json);
}

/** Parses and validates {@link checkpointJsonToText}'s output; errors name `file`. */
export function checkpointJsonFromText(text: string, file = 'checkpoint JSON'): CheckpointJson {
  return validate(checkpointJsonSchema, jsonFromText(text, file), file) as CheckpointJson;
}

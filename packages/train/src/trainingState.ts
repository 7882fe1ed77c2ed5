import {
  describe,
  type Generator,
  type GeneratorState,
  type Module,
  ValueError,
} from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
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
  /** The tensor file a directory checkpoint goes with (set by `saveCheckpoint`). */
  tensorsFile?: string;
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

/**
 * Splits training state into named tensors (model state dict under `model.`, optimizer
 * buffers under `optimizer.<param index>.<name>`) and JSON for everything else.
 */
export function packCheckpoint(src: CheckpointSource): PackedCheckpoint {
  const tensors: Record<string, tf.Tensor> = {};
  const modelDict = src.model.stateDict();
  for (const [k, t] of Object.entries(modelDict)) tensors[`model.${k}`] = t;
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
      `not a resnet-ts checkpoint (format ${describe(json?.format)}, version ${describe(json?.version)})`,
    );
  }
  const tensorOf = (key: string) => {
    const t = tensors[key];
    if (!t) throw new ValueError(`checkpoint is missing tensor ${describe(key)}`);
    return t;
  };
  target.model.loadStateDict(
    Object.fromEntries(json.model.map((k) => [k, tensorOf(`model.${k}`)])),
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
    if (!st) throw new ValueError(`checkpoint has no state for generator ${describe(name)}`);
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

/** Parses {@link jsonToText}'s output (or any JSON), restoring its non-finite numbers. */
export function jsonFromText<T = unknown>(text: string): T {
  return JSON.parse(text, (_k, v) =>
    v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    typeof v.$number === 'string'
      ? Number(v.$number)
      : v,
  );
}

/** JSON text for a checkpoint, keeping non-finite numbers (see {@link jsonToText}). */
export function checkpointJsonToText(json: CheckpointJson): string {
  return jsonToText(json);
}

/** Parses {@link checkpointJsonToText}'s output. */
export function checkpointJsonFromText(text: string): CheckpointJson {
  return jsonFromText<CheckpointJson>(text);
}

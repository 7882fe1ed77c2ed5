import { formatValue, type Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import type { PickleKey, PickleValue } from './pickle.js';
import { PyCounter, PyTuple } from './pickle.js';
import type { TorchFileValue, TorchValue } from './pth.js';
import { writeTorchFile } from './pth.js';
import { TorchFileError } from './torch-file-error.js';
import { torchLayoutOf, toTorchStateDict } from './torch-interop.js';

/**
 * An optimizer's state dict as `@resnet-ts/train`'s `Optimizer.stateDict()` returns it
 * (PyTorch's shape with our names and layouts). Declared here by its shape so that models
 * need not depend on train.
 */
export interface OptimizerStateLike {
  state: Record<string, Record<string, tf.Tensor | number>>;
  paramGroups: Array<{ params: number[]; [option: string]: unknown }>;
}

/** Fields whose PyTorch names are not the snake case of ours. */
const SPECIAL_NAMES: Record<string, string> = {
  stepCount: '_step_count',
  lastLr: '_last_lr',
  phases: '_schedule_phases',
  tMax: 'T_max',
  t0: 'T_0',
  tI: 'T_i',
  tMult: 'T_mult',
  tCur: 'T_cur',
};
const SPECIAL_BACK = Object.fromEntries(Object.entries(SPECIAL_NAMES).map(([a, b]) => [b, a]));

function snake(name: string): string {
  return SPECIAL_NAMES[name] ?? name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function camel(name: string): string {
  return SPECIAL_BACK[name] ?? name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Fields PyTorch keeps as tuples (Adam's and AdamW's `betas`, Rprop's `etas`, `step_sizes`). */
const TUPLE_FIELDS = new Set(['betas', 'etas', 'step_sizes']);

/** `[5, 8, 8]` as MultiStepLR's Counter `{5: 1, 8: 2}`. */
function counterOf(values: unknown[], where: string): PyCounter {
  const counts = new Map<PickleKey, number>();
  for (const m of values) {
    if (!Number.isInteger(m))
      throw new ValueError(`${where}: milestone ${formatValue(m)} is not an integer`);
    counts.set(m as number, (counts.get(m as number) ?? 0) + 1);
  }
  return new PyCounter(counts);
}

/** A JSON-like value as pickle input, with the Python types PyTorch uses for some fields. */
function plainToTorch(v: unknown, where: string, field = ''): TorchFileValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (field === 'milestones') return counterOf(v, where);
    const items = v.map((x, i) => plainToTorch(x, `${where}[${i}]`));
    return TUPLE_FIELDS.has(field) ? new PyTuple(items as PickleValue[]) : items;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, TorchFileValue> = {};
    for (const [k, x] of Object.entries(v)) {
      out[snake(k)] = plainToTorch(x, `${where}.${k}`, snake(k));
    }
    return out;
  }
  throw new ValueError(`cannot write ${where} (${formatValue(String(v))}) into a .pth file`);
}

function plainFromTorch(v: TorchValue, where: string, field = ''): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'bigint' ? Number(v) : v;
  if (field === 'milestones' && v instanceof Map) {
    // MultiStepLR's Counter back to the sorted list with repeats that ours keeps.
    const out: number[] = [];
    for (const [m, n] of v) {
      if (typeof m !== 'number' || typeof n !== 'number' || n < 0 || n > 1000) {
        throw new TorchFileError(
          'format',
          `${where}: expected epoch → count, got ${formatValue(String(m))}`,
        );
      }
      for (let i = 0; i < n; i++) out.push(m);
    }
    return out.sort((a, b) => a - b);
  }
  if (Array.isArray(v)) return v.map((x, i) => plainFromTorch(x, `${where}[${i}]`));
  if (v instanceof PyTuple)
    return v.items.map((x, i) => plainFromTorch(x as TorchValue, `${where}[${i}]`));
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) {
      out[camel(String(k))] = plainFromTorch(x, `${where}.${String(k)}`, String(k));
    }
    return out;
  }
  if (v.shape.length === 0) return v.data[0];
  throw new TorchFileError(
    'format',
    `${where}: expected a number, found a tensor of shape ${formatValue(v.shape)}`,
  );
}

/** The state-dict key of each parameter, in the order an optimizer over `model.parameters()` sees them. */
function parameterKeys(model: Module, paramNames?: readonly string[]): string[] {
  return paramNames ? [...paramNames] : model.namedParameters().map(([name]) => name);
}

/**
 * An optimizer's state dict in PyTorch's `optimizer.state_dict()` format: per-parameter
 * state keyed by integer index with tensors in PyTorch's layouts (a conv's momentum buffer
 * OIHW), a scalar tensor `step` as PyTorch ≥ 1.12 keeps it, and groups with PyTorch's option
 * names (`weight_decay`, `betas` as a tuple). Parameter i is the i-th of
 * `model.namedParameters()` unless `paramNames` says otherwise.
 */
export function toTorchOptimizerState(
  model: Module,
  dict: OptimizerStateLike,
  { paramNames }: { paramNames?: readonly string[] } = {},
): TorchFileValue {
  const keys = parameterKeys(model, paramNames);
  const layout = torchLayoutOf(model);
  const state = new Map<PickleKey, TorchFileValue>();
  for (const [index, st] of Object.entries(dict.state)) {
    const key = keys[Number(index)];
    if (key === undefined) {
      throw new ValueError(`optimizer state for parameter ${index}; the model has ${keys.length}`);
    }
    const entry: Record<string, TorchFileValue> = {};
    for (const [name, v] of Object.entries(st)) {
      entry[name] =
        typeof v === 'number' ? { dtype: 'F32', shape: [], data: [v] } : layout.toTorch(key, v);
    }
    state.set(Number(index), entry);
  }
  const paramGroups = dict.paramGroups.map((g, i) => {
    const { params, ...options } = g;
    return { ...(plainToTorch(options, `paramGroups[${i}]`) as object), params } as TorchFileValue;
  });
  return { state, param_groups: paramGroups };
}

function mapOf(v: TorchValue | undefined, where: string): Map<PickleKey, TorchValue> {
  if (!(v instanceof Map)) throw new TorchFileError('format', `${where}: expected a dict`);
  return v;
}

/**
 * The inverse of {@link toTorchOptimizerState}: PyTorch's `optimizer.state_dict()` (as read
 * by `readTorchFile`) in the shape `Optimizer.loadStateDict` of `@resnet-ts/train` takes,
 * tensors in our layouts. The caller disposes the tensors once loaded.
 */
export function fromTorchOptimizerState(
  model: Module,
  value: TorchValue,
  { paramNames }: { paramNames?: readonly string[] } = {},
): OptimizerStateLike {
  const keys = parameterKeys(model, paramNames);
  const layout = torchLayoutOf(model);
  const dict = mapOf(value, 'optimizer state');
  const state: OptimizerStateLike['state'] = {};
  const created: tf.Tensor[] = [];
  try {
    for (const [index, st] of mapOf(dict.get('state'), 'optimizer state.state')) {
      const key = keys[Number(index)];
      if (typeof index !== 'number' || key === undefined) {
        throw new TorchFileError(
          'format',
          `optimizer state for parameter ${formatValue(String(index))}; the model has ${keys.length}`,
        );
      }
      const entry: Record<string, tf.Tensor | number> = {};
      for (const [name, v] of mapOf(st, `optimizer state.state[${index}]`)) {
        if (typeof v === 'number') entry[String(name)] = v;
        else if (v && typeof v === 'object' && 'dtype' in v && !(v instanceof Map)) {
          if (v.shape.length === 0) entry[String(name)] = v.data[0];
          else {
            const t = layout.fromTorch(key, v);
            created.push(t);
            entry[String(name)] = t;
          }
        } else
          throw new TorchFileError(
            'format',
            `optimizer state ${index}.${String(name)} is neither a number nor a tensor`,
          );
      }
      state[String(index)] = entry;
    }
  } catch (e) {
    tf.dispose(created);
    throw e;
  }
  const groups = dict.get('param_groups');
  if (!Array.isArray(groups))
    throw new TorchFileError('format', 'optimizer state.param_groups: expected a list');
  const paramGroups = groups.map((g, i) => {
    const group = plainFromTorch(g, `param_groups[${i}]`) as { params: number[] };
    if (!Array.isArray(group.params))
      throw new TorchFileError('format', `param_groups[${i}].params: expected a list`);
    return group;
  });
  return { state, paramGroups };
}

/**
 * Fields PyTorch 1.13's schedulers hold that ours do not: an epoch-indexed scheduler's
 * `verbose` and `_get_lr_called_within_step` (false between steps), ReduceLROnPlateau's
 * `verbose` and `mode_worse`. OneCycleLR's `anneal_func` is a bound method: it is neither
 * written (its `load_state_dict` is `__dict__.update`, so the scheduler the user constructs
 * keeps its own) nor readable (pickling it pickles the whole scheduler).
 */
const TORCH_ONLY = new Set(['verbose', '_get_lr_called_within_step', 'mode_worse', 'anneal_func']);

function mapPhases(
  phases: unknown,
  rename: (name: string) => string,
  where: string,
): Record<string, unknown>[] {
  if (!Array.isArray(phases)) throw new TorchFileError('format', `${where}: expected a list`);
  return phases.map((p, i) => {
    if (!p || typeof p !== 'object' || Array.isArray(p))
      throw new TorchFileError('format', `${where}[${i}]: expected a dict`);
    return Object.fromEntries(
      Object.entries(p).map(([k, v]) => [k, typeof v === 'string' ? rename(v) : v]),
    );
  });
}

/**
 * A scheduler's `stateDict()` in PyTorch 1.13's `state_dict()` format: PyTorch's field names
 * (`last_epoch`, `_step_count`, CosineAnnealingLR's `T_max`, OneCycleLR's `_schedule_phases`
 * naming the groups' `initial_lr`, `max_lr`, ...), MultiStepLR's milestones as a Counter, and
 * the fields only PyTorch keeps at their between-steps values, so that PyTorch's
 * `load_state_dict` leaves the scheduler as its own would be after the same steps.
 */
export function toTorchSchedulerState(dict: Record<string, unknown>): TorchFileValue {
  const out = plainToTorch(dict, 'scheduler') as Record<string, TorchFileValue>;
  if ('_schedule_phases' in out) {
    // OneCycleLR: the phases name group fields, which PyTorch spells in snake case.
    out._schedule_phases = mapPhases(
      out._schedule_phases,
      snake,
      'scheduler._schedule_phases',
    ) as TorchFileValue;
    delete out.anneal_strategy;
    if (out.cycle_momentum === false) delete out.use_beta1;
  }
  if ('base_lrs' in out && 'last_epoch' in out) {
    out.verbose ??= false;
    out._get_lr_called_within_step ??= false;
  }
  if ('num_bad_epochs' in out && 'mode' in out) {
    out.verbose ??= false;
    out.mode_worse = out.mode === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return out;
}

/**
 * PyTorch's `scheduler.state_dict()` with our field names, for `loadStateDict`: the inverse of
 * {@link toTorchSchedulerState}, PyTorch-only fields left out. Options PyTorch does not save
 * (OneCycleLR's anneal strategy) stay those of the scheduler it is loaded into.
 */
export function fromTorchSchedulerState(value: TorchValue): Record<string, unknown> {
  const dict = mapOf(value, 'scheduler state');
  const kept = new Map([...dict].filter(([k]) => !TORCH_ONLY.has(String(k))));
  const out = plainFromTorch(kept, 'scheduler') as Record<string, unknown>;
  if ('phases' in out) out.phases = mapPhases(out.phases, camel, 'scheduler._schedule_phases');
  return out;
}

/** What {@link writeTorchCheckpoint} saves besides the model. */
export interface TorchCheckpointParts {
  optimizer?: OptimizerStateLike;
  scheduler?: { stateDict(): Record<string, unknown> } | Record<string, unknown>;
  epoch?: number;
  /** Names of the optimizer's parameters, when it is not over `model.parameters()` in order. */
  paramNames?: readonly string[];
}

/**
 * A training checkpoint as PyTorch scripts save one, `torch.save({'epoch', 'model',
 * 'optimizer', 'scheduler'})`: the model's state dict in PyTorch's layouts, and the
 * optimizer's and scheduler's in their `state_dict()` formats, so that
 * `model.load_state_dict(ckpt['model'])`, `optimizer.load_state_dict(ckpt['optimizer'])` and
 * `scheduler.load_state_dict(ckpt['scheduler'])` continue the run in PyTorch.
 */
export function writeTorchCheckpoint(model: Module, parts: TorchCheckpointParts = {}): Uint8Array {
  const out: Record<string, TorchFileValue> = {};
  if (parts.epoch !== undefined) out.epoch = parts.epoch;
  out.model = toTorchStateDict(model) as unknown as TorchFileValue;
  if (parts.optimizer) {
    out.optimizer = toTorchOptimizerState(model, parts.optimizer, { paramNames: parts.paramNames });
  }
  if (parts.scheduler) {
    const s = parts.scheduler;
    const dict =
      typeof s.stateDict === 'function' ? (s.stateDict as () => Record<string, unknown>)() : s;
    out.scheduler = toTorchSchedulerState(dict);
  }
  return writeTorchFile(out);
}

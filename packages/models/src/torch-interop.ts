import {
  decodeSafetensors,
  encodeSafetensors,
  formatValue,
  isTensor,
  type LoadResult,
  type Module,
  type RawTensor,
  type SafetensorsFile,
  type SafetensorsTensor,
  type ShapeMismatch,
  type StateDictTransform,
  safetensorsDtypeOf,
  sameShape,
  tfjsDtypeOf,
  ValueError,
} from '@resnet-ts/core';
import {
  Conv2d,
  hwioToOihw,
  ioToOi,
  Linear,
  nchwFlattenOrder,
  oihwToHwio,
  oiToIo,
} from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { PickleKey } from './pickle.js';
import { readTorchFile, type TorchValue } from './pth.js';
import { TorchFileError } from './torch-file-error.js';
import { sniffWeightsFormat } from './weights-format.js';

/**
 * Implemented by a model with a Linear layer that reads a flattened convolutional feature
 * map. PyTorch flattens NCHW maps in (c, h, w) order and we flatten NHWC maps in (h, w, c)
 * order, so the rows of such a Linear's weight are permuted between the two.
 */
export interface TorchFlattenedInputs {
  /** Path of each such Linear (`fc1`) → the `[channels, height, width]` map it reads. */
  readonly torchFlattenedInputs: Readonly<Record<string, readonly [number, number, number]>>;
}

/** One tensor of a PyTorch state dict: decoded safetensors data or a tfjs tensor. */
export type TorchTensor = RawTensor | tf.Tensor;

/**
 * A PyTorch state dict: the bytes of a `.pth`/`.pt` (`torch.save`) or `.safetensors` file,
 * a decoded safetensors file, a value {@link readTorchFile} returned, or tensors by name.
 */
export type TorchStateDictSource =
  | Uint8Array
  | SafetensorsFile
  | Map<PickleKey, TorchValue>
  | Record<string, TorchTensor>;

/** Options of {@link loadTorchStateDict} and {@link selectStateDict}. */
export interface TorchStateDictOptions {
  /** As `load_state_dict(strict=...)`: missing and unexpected keys throw. Default true. */
  strict?: boolean;
  /**
   * The key of the state dict inside a training checkpoint (`'model'` of
   * `{'model': ..., 'optimizer': ...}`); a dotted path reaches nested dicts.
   */
  key?: string;
  /**
   * A prefix to remove from every key that has it: `true` means `'module.'`, which
   * DataParallel and DistributedDataParallel put before every name.
   */
  stripPrefix?: string | boolean;
}

/** A PyTorch-layout tensor as {@link toTorchStateDict} returns it; `encodeSafetensors` writes it. */
export interface TorchRawTensor {
  dtype: 'F32' | 'I64' | 'I32' | 'BOOL';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** How one state-dict entry differs between PyTorch's layout and ours. */
type Layout =
  | { kind: 'same' }
  | { kind: 'conv' }
  | { kind: 'linear'; flattened?: readonly [number, number, number] };

function flattenedInputsOf(model: Module): Record<string, readonly [number, number, number]> {
  const declared = (model as Partial<TorchFlattenedInputs>).torchFlattenedInputs;
  return declared ?? {};
}

/** The layout of every entry of `model.stateDict()`, decided by the module that owns it. */
function layouts(model: Module): Map<string, Layout> {
  const modules = new Map(model.namedModules());
  const flattened = flattenedInputsOf(model);
  for (const [path, chw] of Object.entries(flattened)) {
    const m = modules.get(path);
    if (!(m instanceof Linear)) {
      throw new ValueError(
        `torchFlattenedInputs: ${formatValue(path)} must name a Linear of the model, found ${m ? m.typeName : 'nothing'}`,
      );
    }
    const [c, h, w] = chw;
    if (c * h * w !== m.inFeatures) {
      throw new ValueError(
        `torchFlattenedInputs: ${formatValue(path)} reads a map of ${formatValue(chw)} = ${c * h * w} features, but has inFeatures ${m.inFeatures}`,
      );
    }
  }
  const out = new Map<string, Layout>();
  for (const key of Object.keys(model.stateDict())) {
    const dot = key.lastIndexOf('.');
    const path = dot < 0 ? '' : key.slice(0, dot);
    const leaf = key.slice(dot + 1);
    const owner = modules.get(path);
    if (leaf === 'weight' && owner instanceof Conv2d) out.set(key, { kind: 'conv' });
    else if (leaf === 'weight' && owner instanceof Linear) {
      out.set(key, {
        kind: 'linear',
        flattened: Object.hasOwn(flattened, path) ? flattened[path] : undefined,
      });
    } else out.set(key, { kind: 'same' });
  }
  return out;
}

/** Our shape of an entry → PyTorch's. */
function torchShape(layout: Layout, shape: readonly number[]): number[] {
  if (layout.kind === 'conv') return [shape[3], shape[2], shape[0], shape[1]];
  if (layout.kind === 'linear') return [shape[1], shape[0]];
  return [...shape];
}

/** The shape of every state-dict entry in PyTorch's layout, in state-dict order. @internal */
export function torchShapes(model: Module): Array<[string, number[]]> {
  const layout = layouts(model);
  return Object.entries(model.stateDict()).map(([k, t]) => [
    k,
    torchShape(layout.get(k)!, t.shape),
  ]);
}

/** PyTorch layout → ours. */
function fromTorch(layout: Layout, t: tf.Tensor): tf.Tensor {
  if (layout.kind === 'conv') return oihwToHwio(t);
  if (layout.kind === 'linear') {
    const io = oiToIo(t);
    if (!layout.flattened) return io;
    const [c, h, w] = layout.flattened;
    return tf.gather(io, tf.tensor1d(nchwFlattenOrder(h, w, c), 'int32'));
  }
  return t;
}

/** Ours → PyTorch layout. */
function toTorch(layout: Layout, t: tf.Tensor): tf.Tensor {
  if (layout.kind === 'conv') return hwioToOihw(t);
  if (layout.kind === 'linear') {
    if (!layout.flattened) return ioToOi(t);
    const [c, h, w] = layout.flattened;
    const order = nchwFlattenOrder(h, w, c);
    const inverse = new Int32Array(order.length);
    for (let i = 0; i < order.length; i++) inverse[order[i]] = i;
    return ioToOi(tf.gather(t, tf.tensor1d(inverse, 'int32')));
  }
  return t;
}

/** A decoded file, not a state dict that happens to have `tensors` and `metadata` keys. */
function isSafetensorsFile(source: object): source is SafetensorsFile {
  const { tensors, metadata } = source as Partial<Record<string, unknown>>;
  const isRecord = (v: unknown) =>
    typeof v === 'object' && v !== null && !isTensor(v) && !Array.isArray((v as RawTensor).shape);
  return Object.keys(source).length === 2 && isRecord(tensors) && isRecord(metadata);
}

function isTensorValue(v: unknown): v is SafetensorsTensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Map) &&
    Array.isArray((v as SafetensorsTensor).shape) &&
    typeof (v as SafetensorsTensor).dtype === 'string'
  );
}

/** The keys of a checkpoint dict whose values are state dicts, for an error's hint. */
function stateDictKeys(dict: Map<PickleKey, TorchValue>): string[] {
  return [...dict]
    .filter(([, v]) => v instanceof Map && v.size > 0 && [...v.values()].every(isTensorValue))
    .map(([k]) => String(k));
}

/**
 * The state dict inside what {@link readTorchFile} returned: the value itself, or the one
 * under `key` of a training checkpoint, with `stripPrefix` removed from its keys. Throws a
 * {@link TorchFileError} naming the keys to choose from when the value is a checkpoint and no
 * key was given, and for any value that is not a dict of tensors.
 */
export function selectStateDict(
  value: TorchValue,
  { key, stripPrefix }: Pick<TorchStateDictOptions, 'key' | 'stripPrefix'> = {},
): Record<string, SafetensorsTensor> {
  let current = value;
  for (const part of key === undefined ? [] : key.split('.')) {
    if (!(current instanceof Map) || !current.has(part)) {
      const keys = current instanceof Map ? [...current.keys()].map(String) : [];
      throw new TorchFileError(
        'format',
        `loadTorchStateDict: no key ${formatValue(part)} (of ${formatValue(key)}) in the file; it has ${formatValue(keys.slice(0, 20))}`,
      );
    }
    current = current.get(part)!;
  }
  if (!(current instanceof Map)) {
    throw new TorchFileError(
      'format',
      `loadTorchStateDict: expected a dict of tensors, the file holds ${formatValue(Object.prototype.toString.call(current))}`,
    );
  }
  const prefix = stripPrefix === true ? 'module.' : stripPrefix || '';
  const out: Record<string, SafetensorsTensor> = Object.create(null);
  for (const [k, v] of current) {
    if (typeof k !== 'string' || !isTensorValue(v)) {
      const candidates = stateDictKeys(current);
      throw new TorchFileError(
        'format',
        candidates.length
          ? `loadTorchStateDict: this looks like a training checkpoint; choose its state dict with { key: ${candidates.map((c) => formatValue(c)).join(' | ')} }`
          : `loadTorchStateDict: entry ${formatValue(String(k))} is not a tensor; expected a state dict (names → tensors)`,
      );
    }
    out[prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k] = v;
  }
  return out;
}

/** The entries of any {@link TorchStateDictSource}, sniffing the format of bytes. */
function entriesOf(
  source: TorchStateDictSource,
  options: TorchStateDictOptions,
): Record<string, TorchTensor> {
  if (source instanceof Uint8Array) {
    const sniffed = sniffWeightsFormat(source);
    if (sniffed.format === 'pth') return selectStateDict(readTorchFile(source), options);
    if (sniffed.format === null) {
      throw new TorchFileError(
        'format',
        `loadTorchStateDict: expected a .pth (torch.save) or .safetensors file; these ${source.length} bytes look like ${sniffed.looksLike}`,
      );
    }
    source = decodeSafetensors(source);
  }
  if (source instanceof Map) return selectStateDict(source, options);
  const tensors = isSafetensorsFile(source) ? source.tensors : source;
  if (options.key === undefined && !options.stripPrefix) return tensors;
  const asValues = new Map(Object.entries(tensors) as Array<[string, TorchValue]>);
  return selectStateDict(asValues, options) as Record<string, TorchTensor>;
}

function checkEntry(name: string, value: unknown): asserts value is TorchTensor {
  if (isTensor(value)) return;
  const v = value as Partial<RawTensor> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    !Array.isArray(v.shape) ||
    typeof v.dtype !== 'string' ||
    typeof v.data !== 'object'
  ) {
    throw new ValueError(
      `loadTorchStateDict: entry ${formatValue(name)} must be a tfjs Tensor or {dtype, shape, data}, got ${formatValue(value)}`,
    );
  }
}

function toTfTensor(value: TorchTensor): tf.Tensor {
  if (isTensor(value)) return value;
  const dtype = tfjsDtypeOf(value.dtype);
  const data =
    dtype === 'float32'
      ? value.data instanceof Float32Array
        ? value.data
        : Float32Array.from(value.data)
      : value.data instanceof Int32Array || dtype === 'bool'
        ? (value.data as Int32Array | Uint8Array)
        : Int32Array.from(value.data);
  return tf.tensor(data, [...value.shape], dtype);
}

/**
 * Loads a PyTorch state dict (the bytes of a `.pth` or `.safetensors` file, told apart by
 * their first bytes, or tensors by name in PyTorch's layouts) into `model`: convolution weights OIHW → HWIO, Linear weights `[out, in]` →
 * `[in, out]`, the rows of a Linear that reads a flattened feature map from (c, h, w) to
 * (h, w, c) order (see {@link TorchFlattenedInputs}), int64 counters to int32.
 *
 * As `load_state_dict`: shape mismatches (reported in PyTorch's layout) always throw; with
 * `strict` (default) missing and unexpected keys throw too, all in one `StateDictError`, and
 * nothing is changed when it throws. Tensors passed in are not disposed. A training
 * checkpoint's state dict is chosen with `key`, DataParallel's `module.` removed with
 * `stripPrefix` (see {@link TorchStateDictOptions}).
 */
export function loadTorchStateDict(
  model: Module,
  source: TorchStateDictSource,
  options: TorchStateDictOptions = {},
): LoadResult {
  const { strict = true } = options;
  if (typeof source !== 'object' || source === null) {
    throw new ValueError(
      `loadTorchStateDict: expected .pth or safetensors bytes or a record of tensors, got ${formatValue(source)}`,
    );
  }
  const entries = entriesOf(source, options);
  for (const [key, value] of Object.entries(entries)) checkEntry(key, value);
  if (strict && !options.stripPrefix) {
    const own = model.stateDict();
    const unexpected = Object.keys(entries).filter((k) => !Object.hasOwn(own, k));
    if (unexpected.length && unexpected.every((k) => k.startsWith('module.'))) {
      throw new ValueError(
        `loadTorchStateDict: every key of the file starts with "module." (saved from DataParallel or DistributedDataParallel); pass { stripPrefix: true }`,
      );
    }
  }
  return model.loadStateDict(entries, { strict, transform: torchTransform(model) });
}

/**
 * PyTorch's layouts as a transform of core's one loader (`Module.loadStateDict`), which
 * checks keys and shapes (reported in PyTorch's layout) and assigns.
 */
function torchTransform(model: Module): StateDictTransform<TorchTensor> {
  const layout = layouts(model);
  return {
    sourceShape: (key, ownShape) => torchShape(layout.get(key)!, ownShape),
    toTensor: (key, value) => fromTorch(layout.get(key)!, toTfTensor(value)),
  };
}

/**
 * `model`'s state dict in PyTorch's layouts and dtypes (the inverse of
 * {@link loadTorchStateDict}): plain `{dtype, shape, data}` records, each with its own copy
 * of the data, that `encodeSafetensors` writes as a file `torch`/`safetensors` can load.
 * int32 tensors are written as I64, since PyTorch keeps its integer buffers in int64.
 */
export function toTorchStateDict(model: Module): Record<string, TorchRawTensor> {
  const layout = layouts(model);
  const out: Record<string, TorchRawTensor> = {};
  for (const [key, t] of Object.entries(model.stateDict())) {
    const converted = tf.tidy(() => {
      const torch = toTorch(layout.get(key)!, t);
      return torch === t ? tf.clone(t) : torch;
    });
    const data = converted.dataSync() as Float32Array | Int32Array | Uint8Array;
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
      converted.dispose();
      throw new ValueError(
        `toTorchStateDict: ${formatValue(key)} has unsupported dtype ${t.dtype}`,
      );
    }
    // The one int64 policy: num_batches_tracked is PyTorch's int64 buffer, other int32 stay I32.
    const dtype = safetensorsDtypeOf(t.dtype, { name: key }) as TorchRawTensor['dtype'];
    out[key] = { dtype, shape: [...converted.shape], data: data.slice() };
    converted.dispose();
  }
  return out;
}

/**
 * `model`'s state dict in PyTorch's layouts as a `.safetensors` file, which
 * `safetensors.torch.load_file` (or a reader of the format) turns into a state dict that
 * the equivalent PyTorch module loads with `load_state_dict`.
 */
export function toTorchSafetensors(
  model: Module,
  metadata: Record<string, string> = {},
): Uint8Array {
  return encodeSafetensors(toTorchStateDict(model), { format: 'pt', ...metadata });
}

/**
 * Converts single tensors named by `model`'s state-dict keys between our layouts and
 * PyTorch's, for state that is shaped like a parameter (momentum buffers, Adam moments).
 * @internal
 */
export function torchLayoutOf(model: Module): {
  toTorch(key: string, t: tf.Tensor): TorchRawTensor;
  fromTorch(key: string, t: TorchTensor): tf.Tensor;
} {
  const layout = layouts(model);
  const of = (key: string) => {
    const l = layout.get(key);
    if (!l) throw new ValueError(`no state-dict entry ${formatValue(key)} in ${model.typeName}`);
    return l;
  };
  return {
    toTorch(key, t) {
      const converted = tf.tidy(() => tf.cast(toTorch(of(key), t), 'float32'));
      const data = (converted.dataSync() as Float32Array).slice();
      const shape = [...converted.shape];
      converted.dispose();
      return { dtype: 'F32', shape, data };
    },
    fromTorch(key, value) {
      const t = toTfTensor(value);
      const out = tf.tidy(() => fromTorch(of(key), t));
      if (t !== value && out !== t) t.dispose();
      return out;
    },
  };
}

/** What {@link loadPretrainedWeights} loaded and what it left, by state-dict key. */
export interface PretrainedWeightsReport {
  /** Keys copied from the file into the model. */
  loaded: string[];
  /** Keys of the model the file lacks: they keep the model's initial values. */
  missing: string[];
  /** Keys of the file the model lacks: ignored. */
  unexpected: string[];
  /** Keys in both with different shapes (in PyTorch's layout), e.g. a classifier head for another class count: left at the model's initial values. */
  shapeMismatched: ShapeMismatch[];
}

/**
 * Initialises `model` from pretrained weights (`.pth` or `.safetensors` bytes, e.g.
 * torchvision's resnet18), loading every entry whose name and shape match and reporting the
 * rest instead of throwing: a head trained for 1000 classes is skipped when the model has 10,
 * and `fc.weight`/`fc.bias` appear under `shapeMismatched`. Options as
 * {@link loadTorchStateDict} (`key`, `stripPrefix`); `strict` is ignored.
 */
export function loadPretrainedWeights(
  model: Module,
  source: TorchStateDictSource,
  options: Omit<TorchStateDictOptions, 'strict'> = {},
): PretrainedWeightsReport {
  const entries = entriesOf(source, options);
  for (const [key, value] of Object.entries(entries)) checkEntry(key, value);
  const own = model.stateDict();
  const layout = layouts(model);
  const shapeMismatched: ShapeMismatch[] = [];
  const matching: Record<string, TorchTensor> = {};
  for (const [key, t] of Object.entries(own)) {
    if (!Object.hasOwn(entries, key)) continue;
    const expected = torchShape(layout.get(key)!, t.shape);
    const found = [...entries[key].shape];
    if (sameShape(expected, found)) matching[key] = entries[key];
    else shapeMismatched.push({ key, expected, found });
  }
  loadTorchStateDict(model, matching, { strict: false });
  return {
    loaded: Object.keys(matching),
    missing: Object.keys(own).filter((k) => !Object.hasOwn(entries, k)),
    unexpected: Object.keys(entries).filter((k) => !Object.hasOwn(own, k)),
    shapeMismatched,
  };
}

import {
  DEFAULT_JSON_LIMITS,
  FileFormatError,
  formatValue,
  type InputSpec,
  type Module,
  parseJson,
  type SafetensorsFile,
  StateDictError,
  safetensorsToTensors,
} from '@resnet-ts/core';
import * as v from 'valibot';
import { buildModel, MODEL_NAMES, type ModelSpec, specShapes, stateDictSize } from './registry.js';

/** The `__metadata__` key under which a weights file carries its {@link WeightsMeta}. */
export const MODEL_META_KEY = 'resnet-ts';

/**
 * What a weights file says about itself, so it can be loaded (and its predictions named and
 * its inputs normalised) from the file alone.
 */
export interface WeightsMeta {
  model: ModelSpec;
  dataset: {
    name: string;
    input: InputSpec;
    /** One label per output of the model. */
    classes: string[];
  };
  /** Epochs completed when the weights were saved. */
  epoch: number;
  /** The preprocessing the model was trained with, as its writer describes it. */
  transforms?: unknown;
}

/**
 * The largest values a weights file's metadata may claim. They bound what a file can make
 * the reader allocate before its tensors are compared (ImageNet-21k has 21,841 classes).
 */
export const WEIGHTS_META_LIMITS = {
  numClasses: 100_000,
  inputSize: 4096,
  inChannels: 64,
  /** Characters of one class label. */
  labelLength: 256,
  /** Characters of the whole metadata entry. */
  textLength: 16 * 1024 * 1024,
  /** Nesting of arrays and objects in the metadata entry. */
  depth: 32,
} as const;

const L = WEIGHTS_META_LIMITS;

const count = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

const finite = v.pipe(v.number(), v.finite());

/** The schema of a {@link ModelSpec} read from a file, held to {@link WEIGHTS_META_LIMITS}. */
export const modelSpecSchema = v.object({
  name: v.picklist(MODEL_NAMES),
  inChannels: count(L.inChannels),
  inputSize: count(L.inputSize),
  numClasses: count(L.numClasses),
  stem: v.optional(v.picklist(['imagenet', 'cifar'])),
});

const WeightsMetaSchema = v.object({
  model: modelSpecSchema,
  dataset: v.object({
    name: v.pipe(v.string(), v.maxLength(L.labelLength)),
    input: v.object({
      size: count(L.inputSize),
      channels: count(L.inChannels),
      mean: v.pipe(v.array(finite), v.maxLength(L.inChannels)),
      std: v.pipe(v.array(v.pipe(finite, v.gtValue(0))), v.maxLength(L.inChannels)),
    }),
    classes: v.pipe(
      v.array(v.pipe(v.string(), v.maxLength(L.labelLength))),
      v.maxLength(L.numClasses),
    ),
  }),
  epoch: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  transforms: v.optional(v.unknown()),
});

function fail(source: string, field: string, message: string): never {
  throw new FileFormatError(message, { file: source, field });
}

/**
 * Runs core's schema reader on the metadata entry, with the entry's key in front of the
 * field each error names (`resnet-ts.model.numClasses`), since the file holds other JSON too.
 */
function parseEntry(text: string, source: string): WeightsMeta {
  try {
    return parseJson(WeightsMetaSchema, text, source, {
      ...DEFAULT_JSON_LIMITS,
      maxDepth: L.depth,
    }) as WeightsMeta;
  } catch (e) {
    if (!(e instanceof FileFormatError) || e.file !== source) throw e;
    const prefix = e.field ? `${source}: ${e.field}: ` : `${source}: `;
    const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    fail(source, e.field ? `${MODEL_META_KEY}.${e.field}` : MODEL_META_KEY, detail);
  }
}

/**
 * The {@link WeightsMeta} a file's metadata holds, validated by schema and limits, with
 * its parts agreeing with each other (one label per class, one mean and std per channel),
 * but not yet compared with the file's tensors: see {@link readWeightsMeta}. Throws
 * `FileFormatError` naming `source` and the field.
 */
export function parseWeightsMeta(metadata: Record<string, string>, source: string): WeightsMeta {
  const raw = Object.hasOwn(metadata, MODEL_META_KEY) ? metadata[MODEL_META_KEY] : undefined;
  if (raw === undefined) {
    fail(
      source,
      MODEL_META_KEY,
      `missing: the file does not say which model it belongs to (it was not written by resnet-ts)`,
    );
  }
  if (raw.length > L.textLength) {
    fail(source, MODEL_META_KEY, `expected at most ${L.textLength} characters, got ${raw.length}`);
  }
  const meta = parseEntry(raw, source);
  const { model, dataset } = meta;
  const field = (path: string) => `${MODEL_META_KEY}.${path}`;
  if (dataset.classes.length !== model.numClasses) {
    fail(
      source,
      field('dataset.classes'),
      `expected ${model.numClasses} labels (model.numClasses), got ${dataset.classes.length}`,
    );
  }
  const { channels } = dataset.input;
  if (channels !== model.inChannels) {
    fail(
      source,
      field('dataset.input.channels'),
      `expected ${model.inChannels} (model.inChannels), got ${channels}`,
    );
  }
  for (const key of ['mean', 'std'] as const) {
    const values = dataset.input[key];
    if (values.length !== channels) {
      fail(
        source,
        field(`dataset.input.${key}`),
        `expected ${channels} numbers (one per channel), got ${formatValue(values)}`,
      );
    }
  }
  if (model.name === 'vanresnet' && model.inputSize < 8) {
    fail(
      source,
      field('model.inputSize'),
      `expected at least 8 for vanresnet (three 2×2 max-pools), got ${model.inputSize}`,
    );
  }
  return meta;
}

/** The number in a spec that a tensor of the wrong shape contradicts. */
function contradictedField(
  spec: ModelSpec,
  key: string,
  found: readonly number[],
  expected: readonly number[],
): keyof ModelSpec {
  if (key === 'conv1.weight') {
    if (found[2] !== expected[2]) return 'inChannels';
    const kernel = found[0] !== expected[0] || found[1] !== expected[1];
    return kernel && spec.name !== 'vanresnet' ? 'stem' : 'name';
  }
  if (key === 'fc1.weight') return 'inputSize';
  return found.at(-1) !== expected.at(-1) ? 'numClasses' : 'name';
}

/**
 * Checks that a file's tensors are the ones `spec` builds, from the header alone: the
 * shapes the spec's numbers fix (first convolution, classifier) and the state dict's size.
 * So a small file cannot make the reader build a large model it does not hold.
 */
export function checkWeightsFitSpec(spec: ModelSpec, file: SafetensorsFile, source: string): void {
  const field = (path: string) => `${MODEL_META_KEY}.model.${path}`;
  for (const [key, shape] of Object.entries(specShapes(spec))) {
    const t = Object.hasOwn(file.tensors, key) ? file.tensors[key] : undefined;
    if (!t) {
      fail(source, field('name'), `a ${spec.name} has a tensor "${key}", the file has none`);
    }
    const found = t.shape;
    if (found.length === shape.length && found.every((d, i) => d === shape[i])) continue;
    const path = contradictedField(spec, key, found, shape);
    fail(
      source,
      field(path),
      `${formatValue(path === 'stem' ? (spec.stem ?? 'cifar') : spec[path])} does not match the weights: "${key}" has shape ${formatValue(found)}, where a ${spec.name} as described needs ${formatValue(shape)}`,
    );
  }
  const expected = stateDictSize(spec);
  let tensors = 0;
  let elements = 0;
  for (const t of Object.values(file.tensors)) {
    tensors++;
    elements += t.shape.reduce((a, b) => a * b, 1);
  }
  if (tensors !== expected.tensors || elements !== expected.elements) {
    fail(
      source,
      field('name'),
      `a ${spec.name} with these options has ${expected.tensors} tensors of ${expected.elements} numbers, the file holds ${tensors} of ${elements}`,
    );
  }
}

/**
 * The {@link WeightsMeta} of a weights file, validated (schema, limits, consistency) and
 * checked against the file's tensor shapes before anything is built from it. `source` (a
 * path or file name) names the file in errors, which are `FileFormatError`s naming the field.
 */
export function readWeightsMeta(file: SafetensorsFile, source: string): WeightsMeta {
  const meta = parseWeightsMeta(file.metadata, source);
  checkWeightsFitSpec(meta.model, file, source);
  return meta;
}

/** The `__metadata__` entries that record `meta` in a weights file. */
export function encodeWeightsMeta(meta: WeightsMeta): Record<string, string> {
  return { [MODEL_META_KEY]: JSON.stringify(meta) };
}

/**
 * Rebuilds the model a weights file describes and loads its weights strictly. The metadata
 * is validated and compared with the tensors first ({@link readWeightsMeta}), so a hostile
 * file fails before any model is allocated; the caller owns (and disposes) the model.
 */
export function loadModelFromSafetensors(
  file: SafetensorsFile,
  source: string,
): { model: Module; meta: WeightsMeta } {
  const meta = readWeightsMeta(file, source);
  const model = buildModel(meta.model);
  const tensors = safetensorsToTensors(file);
  try {
    model.loadStateDict(tensors, { strict: true });
  } catch (e) {
    model.dispose();
    if (e instanceof StateDictError) {
      fail(source, '', `does not fit a ${meta.model.name} model: ${e.message}`);
    }
    throw e;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  return { model, meta };
}

function describeSpec(spec: ModelSpec): string {
  const stem = spec.name === 'vanresnet' ? '' : ` (${spec.stem ?? 'cifar'} stem)`;
  return `a ${spec.name} for ${spec.inChannels}×${spec.inputSize}×${spec.inputSize} images and ${spec.numClasses} classes${stem}`;
}

/**
 * Why weights described by `meta` do not fit a model built from `expected`, in words (`it
 * holds a resnet18 for 3×32×32 images …, but this is a vanresnet …`), or null when they do.
 */
export function describeForeignModel(meta: WeightsMeta, expected: ModelSpec): string | null {
  if (sameModelSpec(meta.model, expected)) return null;
  return `it holds ${describeSpec(meta.model)}, but the model here is ${describeSpec(expected)}`;
}

/**
 * True when the two specs build the same model: same architecture, input and classes (a
 * ResNet spec without a stem, as written before stems existed, has the `cifar` stem).
 */
export function sameModelSpec(a: ModelSpec, b: ModelSpec): boolean {
  const stem = (s: ModelSpec) => (s.name === 'vanresnet' ? undefined : (s.stem ?? 'cifar'));
  return (
    a.name === b.name &&
    a.inChannels === b.inChannels &&
    a.inputSize === b.inputSize &&
    a.numClasses === b.numClasses &&
    stem(a) === stem(b)
  );
}

import { relative } from 'node:path';
import {
  loadSafetensorsIntoModule,
  type Module,
  parseJson,
  SafetensorsError,
  type SafetensorsFile,
  StateDictError,
} from '@resnet-ts/core';
import { loadSafetensors } from '@resnet-ts/core/node';
import { findCheckpoint } from '@resnet-ts/train/node';
import * as v from 'valibot';
import { DATASET_NAMES } from './choices.js';
import type { DatasetInfo } from './datasets.js';
import { CliError } from './errors.js';
import { buildModel, type ModelSpec, modelSpecSchema } from './models.js';

/** The key under which model.safetensors carries its {@link ModelMeta} in `__metadata__`. */
export const META_KEY = 'resnet-ts';

/** What a weights file says about itself, so `eval` and `predict` can rebuild the model from it alone. */
export interface ModelMeta {
  model: ModelSpec;
  dataset: DatasetInfo;
  /** Epochs completed when the weights were saved. */
  epoch: number;
}

const channelStats = v.pipe(
  v.array(v.pipe(v.number(), v.finite())),
  v.minLength(1),
  v.maxLength(4),
);
const metaSchema = v.pipe(
  v.object({
    model: modelSpecSchema,
    dataset: v.object({
      name: v.picklist(DATASET_NAMES),
      input: v.object({
        size: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024)),
        channels: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(4)),
        mean: channelStats,
        std: v.pipe(
          channelStats,
          v.check((s) => s.every((x) => x > 0), 'expected standard deviations > 0'),
        ),
      }),
      classes: v.pipe(v.array(v.pipe(v.string(), v.maxLength(200))), v.maxLength(100_000)),
    }),
    epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  v.check(
    (m) => m.dataset.classes.length === m.model.numClasses,
    'expected as many class names as the model has classes',
  ),
  v.check(
    (m) =>
      m.dataset.input.channels === m.model.inChannels &&
      m.dataset.input.size === m.model.inputSize &&
      m.dataset.input.mean.length === m.model.inChannels &&
      m.dataset.input.std.length === m.model.inChannels,
    "expected the dataset's input to be the model's",
  ),
);

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
  return parseJson(metaSchema, raw, `${path} "${META_KEY}" metadata`) as ModelMeta;
}

/** Rebuilds the model a checkpoint describes and loads its weights, strictly. */
export async function loadModel(path: string): Promise<LoadedModel> {
  const { weights } = await findCheckpoint(path);
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

/** A path relative to the working directory when shorter, for messages. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

import { relative } from 'node:path';
import { type Module, SafetensorsError } from '@resnet-ts/core';
import { loadSafetensors } from '@resnet-ts/core/node';
import { loadModelFromSafetensors, type WeightsMeta } from '@resnet-ts/models';
import { findCheckpoint } from '@resnet-ts/train/node';
import { CliError } from './errors.js';

/** A model rebuilt from a weights file, with what the file says about it. */
export interface LoadedModel {
  model: Module;
  meta: WeightsMeta;
  weights: string;
}

/**
 * Rebuilds the model a checkpoint (a run directory, a checkpoint directory or a weights file)
 * describes and loads its weights strictly; the metadata is checked against the file's
 * tensors before anything is built.
 */
export async function loadModel(path: string): Promise<LoadedModel> {
  const { weights } = await findCheckpoint(path);
  const file = await loadSafetensors(weights).catch((e) => {
    throw e instanceof SafetensorsError ? new CliError(`corrupted checkpoint: ${e.message}`) : e;
  });
  return { ...loadModelFromSafetensors(file, weights), weights };
}

/** A path relative to the working directory when shorter, for messages. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

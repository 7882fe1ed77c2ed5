/**
 * @resnet-ts/train/node: checkpoints on disk. Kept out of the main entry so browser bundles
 * never see a `node:` import.
 */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describe,
  type Generator,
  readTensors,
  safetensorsToTensors,
  ValueError,
} from '@resnet-ts/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@resnet-ts/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointHook, TrainingState } from './fit.js';
import {
  type CheckpointSource,
  checkpointJsonFromText,
  checkpointJsonToText,
  packCheckpoint,
  type RestoredState,
  unpackCheckpoint,
} from './trainingState.js';

export type { CheckpointSource, RestoredState } from './trainingState.js';

/** The JSON file of a checkpoint directory; it names the tensor file it goes with. */
export const CHECKPOINT_JSON = 'checkpoint.json';

/**
 * Writes a checkpoint into `dir` (created if needed) atomically: the tensors go to a new
 * `tensors-<epoch>-<random>.safetensors`, then `checkpoint.json`, which names that file, is
 * replaced in one rename, and only then are older tensor files removed. A crash at any
 * point leaves the previous checkpoint readable.
 *
 * @example
 * await saveCheckpoint('runs/a', { model, optimizer, scheduler, generators: { shuffle }, epoch: 3 });
 */
export async function saveCheckpoint(dir: string, src: CheckpointSource): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { tensors, json } = packCheckpoint(src);
  const file = `tensors-${json.epoch}-${Math.random().toString(36).slice(2, 10)}.safetensors`;
  await saveSafetensors(join(dir, file), await readTensors(tensors), {
    format: 'resnet-ts-checkpoint',
  });
  await writeFileAtomic(
    join(dir, CHECKPOINT_JSON),
    new TextEncoder().encode(checkpointJsonToText({ ...json, tensorsFile: file })),
  );
  for (const name of await readdir(dir)) {
    if (name !== file && /^tensors-.*\.safetensors$/.test(name))
      await unlink(join(dir, name)).catch(() => {});
  }
}

/**
 * Restores the checkpoint in `dir` into the objects given (model required; optimizer,
 * scheduler and generators when passed) and returns the epoch count, history and extra
 * data. Continue with `fit({ ..., startEpoch: epoch, history })`.
 */
export async function loadCheckpoint(
  dir: string,
  target: CheckpointSource,
): Promise<RestoredState> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_JSON), 'utf8');
  } catch (e) {
    throw new ValueError(`no checkpoint in ${describe(dir)}: ${(e as Error).message}`);
  }
  const json = checkpointJsonFromText(text);
  if (typeof json.tensorsFile !== 'string') {
    throw new ValueError(`${join(dir, CHECKPOINT_JSON)} does not name its tensor file`);
  }
  const tensors = safetensorsToTensors(await loadSafetensors(join(dir, json.tensorsFile)));
  try {
    return unpackCheckpoint({ tensors, json }, target);
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/**
 * A `fit` checkpoint hook writing to `dir` with {@link saveCheckpoint}, adding the given
 * generators' states (the data loader's shuffling generator, for an exact resume).
 */
export function checkpointTo(
  dir: string,
  {
    generators,
    every,
    extra,
  }: { generators?: Record<string, Generator>; every?: number; extra?: unknown } = {},
): CheckpointHook {
  return {
    every,
    save: (state: TrainingState) => saveCheckpoint(dir, { ...state, generators, extra }),
  };
}

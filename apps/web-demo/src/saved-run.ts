/**
 * A training run kept in the Origin Private File System so that a reload can continue it.
 * The state is the library's one-file checkpoint (`encodeCheckpointFile`: model, optimizer,
 * scheduler, generators, history and the page's own `extra`, in one safetensors file), saved
 * with core's atomic OPFS writer, so the file is always a whole save, never half of one.
 */
import {
  BACKEND_NAMES,
  type BackendName,
  opfsAvailable,
  opfsDirectory,
  readOpfsFile,
  removeOpfsFile,
  writeOpfsFileAtomic,
} from '@resnet-ts/core';
import {
  type CheckpointFile,
  type CheckpointSource,
  decodeCheckpointFile,
  encodeCheckpointFile,
  isOptimizerName,
  isSchedulerName,
} from '@resnet-ts/train';
import type { RunHistory, TrainConfig } from './protocol.js';

const DIRECTORY = 'resnet-ts-web-demo';
const FILE = 'training-run.safetensors';

/** A saved run as read back: its checkpoint JSON (schema-checked) and its tensors, undecoded. */
export type SavedRun = CheckpointFile;

/** Whether this browser has the Origin Private File System (not over plain http, for one). */
export const canSaveRuns = opfsAvailable;

/**
 * Saves `src` as the run to continue after a reload: the tensors are read from the device,
 * written to a temporary file, then moved over the previous save.
 */
export async function saveRun(src: CheckpointSource): Promise<void> {
  const bytes = await encodeCheckpointFile(src);
  await writeOpfsFileAtomic(await opfsDirectory(DIRECTORY), FILE, bytes);
}

/**
 * The saved run, or null when there is none. A file larger than `maxBytes`, not safetensors
 * or without a valid checkpoint is refused with an error naming what is wrong: the caller
 * says so and discards it.
 */
export async function readSavedRun(maxBytes: number): Promise<SavedRun | null> {
  const dir = await opfsDirectory(DIRECTORY);
  const bytes = await readOpfsFile(dir, FILE, { maxBytes, what: 'run of this page' });
  return bytes && decodeCheckpointFile(bytes, FILE);
}

/** Removes the saved run (and a temporary file a closed page left), if any. */
export async function discardSavedRun(): Promise<void> {
  await removeOpfsFile(await opfsDirectory(DIRECTORY), FILE);
}

/** What the page keeps in a saved run's `extra`, beside the library's checkpoint. */
export interface SavedExtra {
  config: TrainConfig;
  /** Steps done when saved. */
  step: number;
  /** Batches done of the epoch under way (0 when saved at an epoch's end). */
  batchesDone: number;
  backend: BackendName;
  /** Epochs the weights had been trained for before this run began. */
  epochsBefore: number;
  /** The per-step figures so far (the per-epoch ones are the checkpoint's history). */
  history: Omit<RunHistory, 'epochs'>;
}

/**
 * The page's part of a saved run, checked field by field (the file is read back untrusted);
 * the digit counts bound the configuration's sizes.
 */
export function parseSavedExtra(
  value: unknown,
  { trainCount, testCount }: { trainCount: number; testCount: number },
): SavedExtra {
  const fail = (what: string): never => {
    throw new Error(`its ${what} is missing or out of range`);
  };
  const x = (value ?? {}) as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number, what: string) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : fail(what);
  const numbers = (v: unknown, what: string) =>
    Array.isArray(v) && v.every((n) => typeof n === 'number') ? (v as number[]) : fail(what);
  const c = (x.config ?? {}) as Record<string, unknown>;
  const config: TrainConfig = {
    epochs: int(c.epochs, 1, 100, 'epochs'),
    batchSize: int(c.batchSize, 1, 1024, 'batch size'),
    lr:
      typeof c.lr === 'number' && c.lr > 0 && Number.isFinite(c.lr) ? c.lr : fail('learning rate'),
    optimizer: isOptimizerName(c.optimizer) ? c.optimizer : fail('optimizer'),
    scheduler: isSchedulerName(c.scheduler) ? c.scheduler : fail('schedule'),
    trainSize: int(c.trainSize, 1, trainCount, 'training digits'),
    valSize: int(c.valSize, 1, testCount, 'validation digits'),
    seed: int(c.seed, 0, 2 ** 32 - 1, 'seed'),
  };
  const h = (x.history ?? {}) as Record<string, unknown>;
  return {
    config,
    step: int(x.step, 0, 1e9, 'step'),
    batchesDone: int(x.batchesDone, 0, 1e9, 'position'),
    backend: BACKEND_NAMES.includes(x.backend as BackendName)
      ? (x.backend as BackendName)
      : fail('backend'),
    epochsBefore: int(x.epochsBefore, 0, 1e9, 'epoch count'),
    history: {
      losses: numbers(h.losses, 'losses'),
      accuracies: numbers(h.accuracies, 'accuracies'),
      lrs: numbers(h.lrs, 'learning rates'),
    },
  };
}

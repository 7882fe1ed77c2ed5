/**
 * A checkpoint as one safetensors file, for storage that keeps files rather than run
 * directories (a browser's Origin Private File System): every tensor {@link packCheckpoint}
 * names, and its JSON in the file's metadata. Browser-safe; the tensors are read
 * asynchronously, so any backend can save.
 */
import {
  decodeSafetensors,
  encodeSafetensors,
  FileFormatError,
  readTensors,
  SafetensorsError,
  type SafetensorsFile,
  safetensorsToTensors,
} from '@resnet-ts/core';
import {
  type CheckpointJson,
  type CheckpointSource,
  checkpointJsonFromText,
  checkpointJsonToText,
  packCheckpoint,
  type RestoredState,
  unpackCheckpoint,
} from './checkpoint-packing.js';

/** The metadata key that holds a one-file checkpoint's JSON. */
export const CHECKPOINT_META_KEY = 'resnet-ts-checkpoint';

/** A one-file checkpoint as read back: its JSON (schema-checked) and its undecoded tensors. */
export interface CheckpointFile {
  json: CheckpointJson;
  file: SafetensorsFile;
}

/** Encodes `src` (see {@link CheckpointSource}) as one safetensors file. */
export async function encodeCheckpointFile(src: CheckpointSource): Promise<Uint8Array> {
  const { tensors, json } = packCheckpoint(src);
  return encodeSafetensors(await readTensors(tensors), {
    [CHECKPOINT_META_KEY]: checkpointJsonToText(json),
  });
}

/**
 * Reads {@link encodeCheckpointFile}'s bytes: the safetensors container and the JSON are
 * checked (errors are FileFormatErrors naming `name`); no tensor is created yet.
 */
export function decodeCheckpointFile(bytes: Uint8Array, name = 'checkpoint'): CheckpointFile {
  let file: SafetensorsFile;
  try {
    file = decodeSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new FileFormatError(err.message, { file: name });
    throw err;
  }
  const text = file.metadata[CHECKPOINT_META_KEY];
  if (typeof text !== 'string') {
    throw new FileFormatError(`no ${CHECKPOINT_META_KEY} metadata: not a one-file checkpoint`, {
      file: name,
    });
  }
  return { json: checkpointJsonFromText(text, name), file };
}

/**
 * Restores a decoded one-file checkpoint into `target`, as {@link unpackCheckpoint} does (the
 * objects must be built as the saved ones were), and frees the tensors it made.
 */
export function restoreCheckpointFile(
  checkpoint: CheckpointFile,
  target: CheckpointSource,
): RestoredState {
  const tensors = safetensorsToTensors(checkpoint.file);
  try {
    return unpackCheckpoint({ tensors, json: checkpoint.json }, target);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

import type { InputSpec } from '@resnet-ts/core';
import { readRegularFile } from '@resnet-ts/core/node';
import { type Preprocessing, toModelInput } from '../to-model-input.js';
import { defaultFolderTransforms } from './load-dataset.js';
import { decodeImage, MAX_IMAGE_FILE_BYTES, readImage } from './read-image.js';

/** A picture ready for a model: its pixels (NHWC rows of the model's input) and how it was changed. */
export interface ModelInput {
  pixels: Float32Array;
  info: Preprocessing;
}

/**
 * Reads a picture file as a model trained on `dataset` takes it. A `folder` dataset's
 * pictures go through the evaluation transforms `loadDataset('folder')` gives its test set
 * (RGB, antialiased Resize to the input's side, ToTensor, Normalize with the input's mean and
 * std);
 * every other dataset's through {@link toModelInput}, whose `invert` applies to gray inputs.
 */
export async function readModelInput(
  path: string,
  dataset: { name: string; input: InputSpec },
  invert: 'auto' | 'yes' | 'no' = 'auto',
): Promise<ModelInput> {
  if (dataset.name !== 'folder') return toModelInput(await readImage(path), dataset.input, invert);
  const bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES, what: 'picture' });
  const { data, width, height } = await decodeImage(bytes, path);
  const { size, mean, std } = dataset.input;
  const { test } = defaultFolderTransforms(size, undefined, { mean, std });
  const { image } = test.apply({ image: data, shape: [height, width, 3] });
  return { pixels: image as Float32Array, info: { from: { width, height }, inverted: false } };
}

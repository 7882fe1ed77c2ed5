import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CIFAR10_CLASSES, parseCifar10Batch, parseCifar10Meta } from '../cifar10.js';
import { ImageArrayDataset } from '../image-array-dataset.js';
import type { Transform } from '../transforms/transform.js';
import { findFile } from './files.js';

/** Options of {@link loadCifar10}. */
export interface LoadCifar10Options {
  /** The 50,000 training images (default) or the 10,000 test images. */
  train?: boolean;
  /** Applied to each image on `get`. */
  transform?: Transform;
}

/** The folder the official archive extracts to. */
export const CIFAR10_FOLDER = 'cifar-10-batches-bin';

const HOW_TO_GET =
  "get CIFAR-10 with download('cifar10', dir) from @resnet-ts/data/node, or the trainer's --download flag";

/**
 * CIFAR-10's binary version from `dir` (or `dir/cifar-10-batches-bin`): `data_batch_1.bin`
 * … `data_batch_5.bin` for training, `test_batch.bin` for testing, as 32 × 32 × 3 uint8
 * NHWC images, like `torchvision.datasets.CIFAR10`. Class names come from
 * `batches.meta.txt` when present, else the standard list.
 */
export async function loadCifar10(
  dir: string,
  options: LoadCifar10Options = {},
): Promise<ImageArrayDataset> {
  const root = existsSync(join(dir, CIFAR10_FOLDER)) ? join(dir, CIFAR10_FOLDER) : dir;
  const files =
    options.train === false
      ? ['test_batch.bin']
      : [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
  const paths = files.map((f) => findFile(root, [f], HOW_TO_GET));
  const batches = [];
  for (const path of paths) batches.push(parseCifar10Batch(await readFile(path), path));
  const total = batches.reduce((n, b) => n + b.labels.length, 0);
  const images = new Uint8Array(total * 3072);
  const labels = new Uint8Array(total);
  let offset = 0;
  for (const b of batches) {
    images.set(b.images, offset * 3072);
    labels.set(b.labels, offset);
    offset += b.labels.length;
  }
  const metaPath = join(root, 'batches.meta.txt');
  const classes = existsSync(metaPath)
    ? parseCifar10Meta(await readFile(metaPath, 'utf8'), metaPath)
    : [...CIFAR10_CLASSES];
  return new ImageArrayDataset(images, labels, [32, 32, 3], {
    transform: options.transform,
    classes,
  });
}

import { MNIST_CLASSES } from '../catalog.js';
import { DatasetFileError } from '../errors.js';
import { checkLabels, idxByteLength, parseIdx } from '../idx.js';
import { ImageArrayDataset } from '../image-array-dataset.js';
import type { Transform } from '../transforms/transform.js';
import { findFile, readMaybeGzip } from './files.js';

/** Options of {@link loadMnist}. */
export interface LoadMnistOptions {
  /** The 60,000 training images (default) or the 10,000 test images. */
  train?: boolean;
  /** Applied to each image on `get`. */
  transform?: Transform;
}

const HOW_TO_GET =
  "get MNIST with download('mnist', dir) from @resnet-ts/data/node, or the trainer's --download flag";

/** An IDX file, plain or gzipped, decompressed no further than its header promises. */
async function readIdx(path: string, dims: number) {
  const bytes = await readMaybeGzip(path, (head) => idxByteLength(head, path, dims));
  return parseIdx(bytes, path, dims);
}

/**
 * MNIST from the original IDX files in `dir` (`train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain
 * or `.gz`), as 28 × 28 × 1 uint8 images, like `torchvision.datasets.MNIST`.
 */
export async function loadMnist(
  dir: string,
  options: LoadMnistOptions = {},
): Promise<ImageArrayDataset> {
  const prefix = options.train === false ? 't10k' : 'train';
  const names = (kind: string) => [`${prefix}-${kind}`, `${prefix}-${kind}.gz`];
  const imagesPath = findFile(dir, names('images-idx3-ubyte'), HOW_TO_GET);
  const labelsPath = findFile(dir, names('labels-idx1-ubyte'), HOW_TO_GET);
  const images = await readIdx(imagesPath, 3);
  const labels = await readIdx(labelsPath, 1);
  const [count, height, width] = images.dims;
  if (count === 0) {
    throw new DatasetFileError(imagesPath, 'holds no images (an IDX array of shape [0,...])');
  }
  if (height !== 28 || width !== 28) {
    throw new DatasetFileError(
      imagesPath,
      `holds ${height}×${width} images, expected MNIST's 28×28 (shape [${images.dims.join(',')}])`,
    );
  }
  if (labels.dims[0] !== count) {
    throw new DatasetFileError(
      labelsPath,
      `${labels.dims[0]} labels, expected one per image: ${imagesPath} holds ${count} images`,
    );
  }
  checkLabels(labels.data, labelsPath);
  return new ImageArrayDataset(images.data, labels.data, [height, width, 1], {
    transform: options.transform,
    classes: MNIST_CLASSES,
  });
}

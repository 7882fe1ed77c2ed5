/**
 * @resnet-ts/data/node: the Node-only half of the package — datasets read from the file
 * system (embedded digits, MNIST IDX, CIFAR-10 binary, the catalog's `loadDataset`),
 * picture decoding and downloads.
 */

export { MNIST_CLASSES } from '../catalog.js';
export { CIFAR10_FOLDER, type LoadCifar10Options, loadCifar10 } from './cifar10.js';
export {
  type DownloadableDataset,
  DownloadError,
  type DownloadOptions,
  type DownloadProgress,
  download,
} from './download.js';
export { MAX_DATASET_FILE_BYTES } from './files.js';
export { loadImageFolder } from './image-folder.js';
export {
  defaultDataDir,
  type LoadDatasetOptions,
  type LoadedDataset,
  loadDataset,
} from './load-dataset.js';
export { type LoadMnistOptions, loadMnist } from './mnist.js';
export { mnistDigits, mnistDigitsPath } from './mnist-digits.js';
export { type ModelInput, readModelInput } from './model-input.js';
export {
  type DecodedImage,
  type DecodeImageOptions,
  decodeImage,
  MAX_IMAGE_FILE_BYTES,
  readImage,
} from './read-image.js';
export {
  type WorkerDatasetParts,
  WorkerPoolDataset,
  type WorkerPoolOptions,
  WorkerSampleError,
} from './worker-pool.js';

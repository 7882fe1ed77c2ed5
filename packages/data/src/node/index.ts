/**
 * @resnet-ts/data/node: the Node-only half of the package — datasets read from the file
 * system (embedded digits, MNIST IDX, CIFAR-10 binary) and downloads.
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
export { type LoadMnistOptions, loadMnist } from './mnist.js';
export { mnistDigits, mnistDigitsPath } from './mnist-digits.js';

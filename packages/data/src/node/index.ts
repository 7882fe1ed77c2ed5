/**
 * @resnet-ts/data/node: the Node-only half of the package — datasets read from the file
 * system (embedded digits, MNIST IDX, CIFAR-10 binary) and downloads.
 */
export { mnistDigits, mnistDigitsPath } from './mnist-digits.js';

import { formatValue, type InputSpec, ValueError } from '@resnet-ts/core';
import { CIFAR10_CLASSES } from './cifar10.js';

/** MNIST's per-channel mean of the training images in [0, 1] (torchvision's examples). */
export const MNIST_MEAN: readonly number[] = [0.1307];
/** MNIST's per-channel standard deviation of the training images in [0, 1]. */
export const MNIST_STD: readonly number[] = [0.3081];
/** CIFAR-10's per-channel (RGB) mean of the training images in [0, 1]. */
export const CIFAR10_MEAN: readonly number[] = [0.4914, 0.4822, 0.4465];
/** CIFAR-10's per-channel (RGB) standard deviation of the training images in [0, 1]. */
export const CIFAR10_STD: readonly number[] = [0.247, 0.2435, 0.2616];
/** ImageNet's per-channel (RGB) mean, what torchvision's pretrained models were trained with. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** ImageNet's per-channel (RGB) standard deviation, torchvision's pretrained-model preset. */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** torchvision's MNIST class names, what the IDX loader reports. */
export const MNIST_CLASSES = [
  '0 - zero',
  '1 - one',
  '2 - two',
  '3 - three',
  '4 - four',
  '5 - five',
  '6 - six',
  '7 - seven',
  '8 - eight',
  '9 - nine',
] as const;

/**
 * The datasets known by name: the embedded MNIST digits, MNIST from IDX files, CIFAR-10's
 * binary version, and `folder` (an {@link ImageFolder}: one subfolder of pictures per class).
 */
export const DATASET_NAMES = ['mnist', 'mnist-idx', 'cifar10', 'folder'] as const;

/** One of {@link DATASET_NAMES}. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** What a dataset is: the input a model for it takes and its class names (saved with weights). */
export interface DatasetInfo {
  name: DatasetName;
  input: InputSpec;
  /** Class names in label order; empty for `folder`, whose classes are its subfolders. */
  classes: string[];
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const CATALOG: Record<DatasetName, { input: InputSpec; classes: readonly string[] }> = {
  mnist: {
    input: { size: 28, channels: 1, mean: [...MNIST_MEAN], std: [...MNIST_STD] },
    classes: DIGITS,
  },
  'mnist-idx': {
    input: { size: 28, channels: 1, mean: [...MNIST_MEAN], std: [...MNIST_STD] },
    classes: DIGITS,
  },
  cifar10: {
    input: { size: 32, channels: 3, mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] },
    classes: CIFAR10_CLASSES,
  },
  // A folder of photos is fine-tuned like torchvision's pretrained models are: 224 px, ImageNet
  // statistics; the classes are known only once the folder is read.
  folder: {
    input: { size: 224, channels: 3, mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
    classes: [],
  },
};

/** True when `name` is one of {@link DATASET_NAMES}. */
export function isDatasetName(name: unknown): name is DatasetName {
  return typeof name === 'string' && (DATASET_NAMES as readonly string[]).includes(name);
}

/**
 * The input format and class names of a dataset, without loading it. Each call returns fresh
 * arrays, so a caller may change its copy.
 */
export function datasetInfo(name: DatasetName): DatasetInfo {
  if (!isDatasetName(name)) {
    throw new ValueError(
      `unknown dataset ${formatValue(name)}, expected one of ${DATASET_NAMES.join(', ')}`,
    );
  }
  const { input, classes } = CATALOG[name];
  return {
    name,
    input: { ...input, mean: [...input.mean], std: [...input.std] },
    classes: [...classes],
  };
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Generator } from '@resnet-ts/core';
import {
  Compose,
  type Dataset,
  type ImageSample,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  randomSplit,
  Subset,
  ToTensor,
  type Transform,
} from '@resnet-ts/data';
import { mnistDigits } from '@resnet-ts/data/node';
import type { DatasetName } from './choices.js';
import { CliError } from './errors.js';
import type { InputSpec } from './image.js';

/** What a dataset is: its input format and class names, saved with each checkpoint. */
export interface DatasetInfo {
  name: DatasetName;
  input: InputSpec;
  classes: string[];
}

/** A dataset ready for training: train/validation/test splits and what they hold. */
export interface LoadedDataset extends DatasetInfo {
  train: Dataset<ImageSample>;
  val: Dataset<ImageSample> | undefined;
  test: Dataset<ImageSample>;
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const CIFAR_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** The usual per-channel statistics of each dataset's training images (torchvision's examples). */
const INPUTS: Record<DatasetName, InputSpec> = {
  mnist: { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
  'mnist-idx': { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
  cifar10: { size: 32, channels: 3, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/** The input format and class names of a dataset, without loading it. */
export function datasetInfo(name: DatasetName): DatasetInfo {
  return { name, input: INPUTS[name], classes: name === 'cifar10' ? CIFAR_CLASSES : DIGITS };
}

/** Options of {@link loadDataset}, straight from the command line. */
export interface LoadDatasetOptions {
  dataDir?: string;
  download?: boolean;
  /** Fraction of the training images held out for validation (0: none). */
  valSplit: number;
  seed: number;
  /** Draws crop and flip decisions; its state is checkpointed so a resumed run augments alike. */
  augmentGenerator?: Generator;
  limitTrain?: number;
  limitTest?: number;
  /** Skip loading the training half (eval). */
  testOnly?: boolean;
}

/** Where `--data-dir` points by default: data/<dataset> under the working directory. */
export function defaultDataDir(name: DatasetName): string {
  return resolve('data', name);
}

function firstN<T>(dataset: Dataset<T>, n: number | undefined): Dataset<T> {
  if (n === undefined || n >= dataset.length) return dataset;
  return new Subset(
    dataset,
    Int32Array.from({ length: n }, (_, i) => i),
  );
}

function transforms(
  input: InputSpec,
  augment: Generator | undefined,
): { train: Transform; test: Transform } {
  const normalize = [new ToTensor(), new Normalize(input.mean, input.std)];
  const test = new Compose(normalize);
  if (input.channels === 3 && augment) {
    const train = new Compose([
      new RandomCrop(input.size, { padding: 4, generator: augment }),
      new RandomHorizontalFlip(0.5, { generator: augment }),
      ...normalize,
    ]);
    return { train, test };
  }
  // Digits are not mirror-symmetric and already centred: no augmentation.
  return { train: test, test };
}

async function loadFromDirectory(
  name: Exclude<DatasetName, 'mnist'>,
  dir: string,
  download: boolean,
): Promise<{ train: Dataset<ImageSample>; test: Dataset<ImageSample> }> {
  if (!existsSync(dir) && !download) {
    throw new CliError(
      `dataset directory ${dir} does not exist.\n` +
        `Put the ${name === 'cifar10' ? 'CIFAR-10 binary files (data_batch_1.bin … test_batch.bin)' : 'MNIST IDX files (train-images-idx3-ubyte …)'} there, ` +
        `point --data-dir at them, or add --download to fetch them into ${dir}.`,
    );
  }
  throw new CliError(`--dataset ${name} is not supported by this build of @resnet-ts/data yet`);
}

/**
 * Loads a dataset with the transforms its model expects (to [0, 1], normalised; random crop
 * and flip for CIFAR-10 training images) and splits off a validation set deterministically.
 */
export async function loadDataset(
  name: DatasetName,
  opts: LoadDatasetOptions,
): Promise<LoadedDataset> {
  const info = datasetInfo(name);
  const tf = transforms(info.input, opts.augmentGenerator);
  let train: Dataset<ImageSample>;
  let test: Dataset<ImageSample>;
  if (name === 'mnist') {
    ({ train, test } = await mnistDigits({ transform: tf.train, testTransform: tf.test }));
  } else {
    const dir = resolve(opts.dataDir ?? defaultDataDir(name));
    ({ train, test } = await loadFromDirectory(name, dir, opts.download ?? false));
  }
  test = firstN(test, opts.limitTest);
  train = firstN(train, opts.limitTrain);
  let val: Dataset<ImageSample> | undefined;
  if (!opts.testOnly && opts.valSplit > 0) {
    const nVal = Math.max(1, Math.round(train.length * opts.valSplit));
    const [rest, held] = randomSplit(train, [train.length - nVal, nVal], new Generator(opts.seed));
    train = rest;
    val = held;
  }
  return { ...info, train, val, test };
}

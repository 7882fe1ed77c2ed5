import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Generator } from '@resnet-ts/core';
import {
  CIFAR10_CLASSES,
  Compose,
  type Dataset,
  DatasetFileError,
  ImageArrayDataset,
  type ImageSample,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  randomSplit,
  Subset,
  ToTensor,
  type Transform,
} from '@resnet-ts/data';
import { download, loadCifar10, loadMnist, mnistDigits } from '@resnet-ts/data/node';
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

/** The usual per-channel statistics of each dataset's training images (torchvision's examples). */
const INPUTS: Record<DatasetName, InputSpec> = {
  mnist: { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
  'mnist-idx': { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
  cifar10: { size: 32, channels: 3, mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/** The input format and class names of a dataset, without loading it. */
export function datasetInfo(name: DatasetName): DatasetInfo {
  return { name, input: INPUTS[name], classes: name === 'cifar10' ? [...CIFAR10_CLASSES] : DIGITS };
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
  /** Skip splitting off validation (eval). */
  testOnly?: boolean;
  /** Where progress messages (downloads) go. */
  log?: (message: string) => void;
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
  opts: LoadDatasetOptions,
  transform: Transform,
  testTransform: Transform,
): Promise<{ train: ImageArrayDataset; test: ImageArrayDataset }> {
  if (opts.download) {
    opts.log?.(`Downloading ${name} into ${dir} (files already there and intact are kept)…`);
    try {
      await download(name === 'cifar10' ? 'cifar10' : 'mnist', dir);
    } catch (e) {
      throw new CliError(`downloading ${name} into ${dir} failed: ${(e as Error).message}`);
    }
  } else if (!existsSync(dir)) {
    throw new CliError(
      `dataset directory ${dir} does not exist.\n` +
        `Put the ${name === 'cifar10' ? 'CIFAR-10 binary files (data_batch_1.bin … test_batch.bin)' : 'MNIST IDX files (train-images-idx3-ubyte …)'} there, ` +
        `point --data-dir at them, or add --download to fetch them into ${dir}.`,
    );
  }
  const load = name === 'cifar10' ? loadCifar10 : loadMnist;
  try {
    return {
      train: await load(dir, { train: true, transform }),
      test: await load(dir, { train: false, transform: testTransform }),
    };
  } catch (e) {
    if (e instanceof DatasetFileError) {
      // With --download given the files were fetched (or kept) already: asking for it again
      // would lead nowhere.
      const hint = opts.download
        ? ` (the files in ${dir} are damaged or incomplete: delete them and run again with --download)`
        : e.message.includes('--download')
          ? ''
          : ` (add --download to fetch it into ${dir})`;
      throw new CliError(`${e.message}${hint}`);
    }
    throw e;
  }
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
  let train: ImageArrayDataset;
  let test: ImageArrayDataset;
  if (name === 'mnist') {
    ({ train, test } = await mnistDigits({ transform: tf.train, testTransform: tf.test }));
  } else {
    const dir = resolve(opts.dataDir ?? defaultDataDir(name));
    ({ train, test } = await loadFromDirectory(name, dir, opts, tf.train, tf.test));
  }
  const classes = train.classes ? [...train.classes] : info.classes;
  const testSet = firstN<ImageSample>(test, opts.limitTest);
  let trainSet = firstN<ImageSample>(train, opts.limitTrain);
  let val: Dataset<ImageSample> | undefined;
  if (!opts.testOnly && opts.valSplit > 0) {
    // Validation images come from the training files but must not be augmented: a twin of the
    // training set with the test transform, split by the same permutation.
    const plain = firstN<ImageSample>(
      new ImageArrayDataset(train.images, train.labels, train.shape, { transform: tf.test }),
      opts.limitTrain,
    );
    const nVal = Math.max(1, Math.round(trainSet.length * opts.valSplit));
    const lengths = [trainSet.length - nVal, nVal];
    [trainSet] = randomSplit(trainSet, lengths, new Generator(opts.seed));
    [, val] = randomSplit(plain, lengths, new Generator(opts.seed));
  }
  return { ...info, classes, train: trainSet, val, test: testSet };
}

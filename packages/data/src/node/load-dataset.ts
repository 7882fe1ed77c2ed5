import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Generator } from '@resnet-ts/core';
import { type DatasetInfo, type DatasetName, datasetInfo } from '../catalog.js';
import { type Dataset, firstN, randomSplit } from '../dataset.js';
import { DatasetFileError } from '../errors.js';
import { ImageArrayDataset } from '../image-array-dataset.js';
import type { ImageSample } from '../sample.js';
import { Compose } from '../transforms/compose.js';
import { Normalize } from '../transforms/normalize.js';
import { RandomCrop } from '../transforms/random-crop.js';
import { RandomHorizontalFlip } from '../transforms/random-horizontal-flip.js';
import { ToTensor } from '../transforms/to-tensor.js';
import type { Transform } from '../transforms/transform.js';
import { loadCifar10 } from './cifar10.js';
import { download } from './download.js';
import { loadMnist } from './mnist.js';
import { mnistDigits } from './mnist-digits.js';

/** A dataset ready for training: train/validation/test splits and what they hold. */
export interface LoadedDataset extends DatasetInfo {
  train: Dataset<ImageSample>;
  val: Dataset<ImageSample> | undefined;
  test: Dataset<ImageSample>;
}

/** Options of {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Where the files are (default {@link defaultDataDir}); unused by the embedded `mnist`. */
  dataDir?: string;
  /** Fetch missing or damaged files into `dataDir` first. */
  download?: boolean;
  /** Fraction of the training images held out for validation (0: none). */
  valSplit: number;
  /** Seeds the validation split. */
  seed: number;
  /** Draws crop and flip decisions; checkpoint its state so a resumed run augments alike. */
  augmentGenerator?: Generator;
  /** Use only the first this many training images. */
  limitTrain?: number;
  /** Use only the first this many test images. */
  limitTest?: number;
  /** Skip splitting off validation (evaluation only). */
  testOnly?: boolean;
  /** Where progress messages (downloads) go. */
  log?: (message: string) => void;
}

/** Where a dataset's files are looked for by default: `data/<name>` under the working directory. */
export function defaultDataDir(name: DatasetName): string {
  return resolve('data', name);
}

/** Dataset names whose files are read from a directory. */
type FileDataset = 'mnist-idx' | 'cifar10';

function transforms(
  info: DatasetInfo,
  augment: Generator | undefined,
): { train: Transform; test: Transform } {
  const { input } = info;
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

const WHAT_GOES_THERE: Record<FileDataset, string> = {
  cifar10: 'the CIFAR-10 binary files (data_batch_1.bin … test_batch.bin)',
  'mnist-idx': 'the MNIST IDX files (train-images-idx3-ubyte …)',
};

async function loadFromDirectory(
  name: FileDataset,
  dir: string,
  opts: LoadDatasetOptions,
  transform: Transform,
  testTransform: Transform,
): Promise<{ train: ImageArrayDataset; test: ImageArrayDataset }> {
  if (opts.download) {
    opts.log?.(`Downloading ${name} into ${dir} (files already there and intact are kept)…`);
    await download(name === 'cifar10' ? 'cifar10' : 'mnist', dir);
  } else if (!existsSync(dir)) {
    throw new DatasetFileError(
      dir,
      `dataset directory does not exist; put ${WHAT_GOES_THERE[name]} there, or download them into it (the trainer's --download)`,
    );
  }
  const load = name === 'cifar10' ? loadCifar10 : loadMnist;
  try {
    return {
      train: await load(dir, { train: true, transform }),
      test: await load(dir, { train: false, transform: testTransform }),
    };
  } catch (error) {
    // A damaged file is fixed by downloading again, unless that is what was just done.
    if (error instanceof DatasetFileError && !opts.download && !/download/.test(error.message)) {
      throw new DatasetFileError(
        error.file,
        `${error.detail} (download the dataset into ${dir} again: the trainer's --download)`,
      );
    }
    throw error;
  }
}

/**
 * Loads a dataset of the catalog with the transforms its model expects (to [0, 1],
 * normalised; random crop and flip for CIFAR-10 training images when `augmentGenerator` is
 * given) and splits off a validation set deterministically from `seed`.
 */
export async function loadDataset(
  name: DatasetName,
  opts: LoadDatasetOptions,
): Promise<LoadedDataset> {
  const info = datasetInfo(name);
  if (name === 'folder') {
    throw new DatasetFileError(opts.dataDir ?? '', 'load a folder dataset with loadImageFolder');
  }
  const tf = transforms(info, opts.augmentGenerator);
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

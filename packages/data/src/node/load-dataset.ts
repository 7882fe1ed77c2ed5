import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Generator } from '@resnet-ts/core';
import {
  type DatasetInfo,
  type DatasetName,
  datasetInfo,
  IMAGENET_MEAN,
  IMAGENET_STD,
} from '../catalog.js';
import { type Dataset, firstN, randomSplit } from '../dataset.js';
import { DatasetFileError } from '../errors.js';
import { ImageArrayDataset } from '../image-array-dataset.js';
import type { ImageFolder } from '../image-folder.js';
import type { ImageSample } from '../sample.js';
import { Compose } from '../transforms/compose.js';
import { Normalize } from '../transforms/normalize.js';
import { RandomCrop } from '../transforms/random-crop.js';
import { RandomHorizontalFlip } from '../transforms/random-horizontal-flip.js';
import { Resize } from '../transforms/resize.js';
import { ToTensor } from '../transforms/to-tensor.js';
import type { Transform } from '../transforms/transform.js';
import { loadCifar10 } from './cifar10.js';
import { download } from './download.js';
import type { FolderWorkerArgs } from './folder-worker.js';
import { loadImageFolder } from './image-folder.js';
import { loadMnist } from './mnist.js';
import { mnistDigits } from './mnist-digits.js';
import { WorkerPoolDataset } from './worker-pool.js';

/**
 * A dataset ready for training: train/validation/test splits and what they hold. `S` is
 * `Promise<ImageSample>` for a `folder`, whose pictures decode when read (a DataLoader
 * awaits them).
 */
export interface LoadedDataset<S = ImageSample> extends DatasetInfo {
  train: Dataset<S>;
  val: Dataset<S> | undefined;
  test: Dataset<S>;
  /** Stops worker threads (`folder` with `workers`); absent when there are none. */
  close?: () => Promise<void>;
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
  /** `folder`: the validation pictures' folder (same classes); else `valSplit` of `dataDir`. */
  valDir?: string;
  /** `folder`: the test pictures' folder; default the validation set, else `dataDir`. */
  testDir?: string;
  /** `folder`: the side of the square model input (default the catalog's 224). */
  imageSize?: number;
  /**
   * `folder`: the training and evaluation transforms, e.g. torchvision's RandomResizedCrop
   * recipe; default a plain resize to `imageSize`, a random flip when `augmentGenerator` is
   * given, then ToTensor and the ImageNet Normalize.
   */
  transforms?: { train: Transform; test: Transform };
  /** `folder`: skip files that are not decodable pictures (listed in `skipped`) instead of failing. */
  skipBadFiles?: boolean;
  /** `folder`: the pixel limit per picture (default 50 MP). */
  maxPixels?: number;
  /**
   * `folder` without `transforms`: decode and transform in this many worker threads (PyTorch's
   * `num_workers`; 0, the default, decodes on the main thread). Call the result's `close()`.
   */
  workers?: number;
  /** `folder` with `workers`: the workers' module (default this package's folder worker). */
  workerModule?: URL;
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
 * The transforms of a `folder` without `transforms` given: a resize to `size` × `size`
 * (antialiased, as torchvision's on the PIL images ImageFolder loads), a random flip when
 * `augment` is given (training), then ToTensor and Normalize (ImageNet's mean and std unless
 * `norm` gives a run's own).
 */
export function defaultFolderTransforms(
  size: number,
  augment: Generator | undefined,
  norm: { mean: readonly number[]; std: readonly number[] } = {
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
  },
): { train: Transform; test: Transform } {
  const tail = [new ToTensor(), new Normalize(norm.mean, norm.std)];
  // torchvision's ImageFolder hands Resize PIL images, which it always antialiases; without
  // it a picture shrunk by 3× keeps every third pixel, and a model pretrained on PIL-resized
  // pictures sees other inputs.
  const resize = new Resize([size, size], { antialias: true });
  const test = new Compose([resize, ...tail]);
  if (!augment) return { train: test, test };
  return {
    train: new Compose([resize, new RandomHorizontalFlip(0.5, { generator: augment }), ...tail]),
    test,
  };
}

/** A `folder` dataset: ImageFolders for training, validation (a folder or a split) and test. */
async function loadFolder(opts: LoadDatasetOptions): Promise<LoadedDataset<Promise<ImageSample>>> {
  const info = datasetInfo('folder');
  if (!opts.dataDir) {
    throw new DatasetFileError(
      'folder',
      'a folder dataset needs dataDir: the folder of class subfolders',
    );
  }
  const size = opts.imageSize ?? info.input.size;
  const tf = opts.transforms ?? defaultFolderTransforms(size, opts.augmentGenerator);
  const folderOptions = {
    onBadFile: opts.skipBadFiles ? ('skip' as const) : ('error' as const),
    maxPixels: opts.maxPixels,
  };
  const open = async (dir: string, transform: Transform) => {
    const folder = await loadImageFolder(resolve(dir), { ...folderOptions, transform });
    for (const s of folder.skipped) opts.log?.(`skipped ${s.path}: ${s.reason}`);
    return folder;
  };
  const train = await open(opts.dataDir, tf.train);
  const workers = opts.transforms ? 0 : (opts.workers ?? 0);
  const pools: WorkerPoolDataset[] = [];
  // With workers, each set is a pool over the same files (the main thread's folder gives the
  // classes and checks them); the training pool draws its per-sample seeds from the augment
  // generator, so checkpointing that generator resumes the augmentation as without workers.
  const pooled = async (
    folder: ImageFolder<string>,
    dir: string,
    augment: boolean,
  ): Promise<Dataset<Promise<ImageSample>>> => {
    if (workers === 0) return folder;
    const args: FolderWorkerArgs = {
      root: resolve(dir),
      size,
      augment: augment && opts.augmentGenerator !== undefined,
      skipBadFiles: opts.skipBadFiles ?? false,
      maxPixels: opts.maxPixels,
    };
    const pool = await WorkerPoolDataset.open(
      opts.workerModule ?? new URL('./folder-worker.js', import.meta.url),
      { numWorkers: workers, args, generator: augment ? opts.augmentGenerator : undefined },
    );
    pools.push(pool);
    return pool;
  };
  const classesMatch = async (dir: string) => {
    const other = await open(dir, tf.test);
    if (other.classes.join('\n') !== train.classes.join('\n')) {
      throw new DatasetFileError(
        dir,
        `has the classes ${other.classes.join(', ')}, expected the training folder's ${train.classes.join(', ')}`,
      );
    }
    return other;
  };
  let trainSet: Dataset<Promise<ImageSample>>;
  let val: Dataset<Promise<ImageSample>> | undefined;
  let test: Dataset<Promise<ImageSample>>;
  try {
    const trainEval = () => pooled(train.withTransform(tf.test), opts.dataDir!, false);
    trainSet = firstN(await pooled(train, opts.dataDir, true), opts.limitTrain);
    if (opts.valDir) val = await pooled(await classesMatch(opts.valDir), opts.valDir, false);
    else if (!opts.testOnly && opts.valSplit > 0) {
      const plain = firstN(await trainEval(), opts.limitTrain);
      const nVal = Math.max(1, Math.round(trainSet.length * opts.valSplit));
      const lengths = [trainSet.length - nVal, nVal];
      [trainSet] = randomSplit(trainSet, lengths, new Generator(opts.seed));
      [, val] = randomSplit(plain, lengths, new Generator(opts.seed));
    }
    test = opts.testDir
      ? await pooled(await classesMatch(opts.testDir), opts.testDir, false)
      : (val ?? (await trainEval()));
  } catch (error) {
    await Promise.all(pools.map((p) => p.close()));
    throw error;
  }
  return {
    name: 'folder',
    input: { ...info.input, size },
    classes: [...train.classes],
    train: trainSet,
    val,
    test: firstN(test, opts.limitTest),
    ...(pools.length > 0 && {
      close: async () => {
        await Promise.all(pools.map((p) => p.close()));
      },
    }),
  };
}

/**
 * Loads a dataset of the catalog with the transforms its model expects (to [0, 1],
 * normalised; random crop and flip for CIFAR-10 training images when `augmentGenerator` is
 * given) and splits off a validation set deterministically from `seed`. A `folder` is read
 * with {@link loadImageFolder}: its samples are promises, which a DataLoader awaits.
 */
export async function loadDataset(
  name: Exclude<DatasetName, 'folder'>,
  opts: LoadDatasetOptions,
): Promise<LoadedDataset>;
export async function loadDataset(
  name: 'folder',
  opts: LoadDatasetOptions,
): Promise<LoadedDataset<Promise<ImageSample>>>;
export async function loadDataset(
  name: DatasetName,
  opts: LoadDatasetOptions,
): Promise<LoadedDataset<ImageSample | Promise<ImageSample>>>;
export async function loadDataset(
  name: DatasetName,
  opts: LoadDatasetOptions,
): Promise<LoadedDataset<ImageSample | Promise<ImageSample>>> {
  if (name === 'folder') return loadFolder(opts);
  const info = datasetInfo(name);
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

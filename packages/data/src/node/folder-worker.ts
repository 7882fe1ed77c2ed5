import { Generator } from '@resnet-ts/core';
import { loadImageFolder } from './image-folder.js';
import { defaultFolderTransforms } from './load-dataset.js';
import type { WorkerDatasetParts } from './worker-pool.js';

/** What `loadDataset('folder', { workers })` tells each worker. */
export interface FolderWorkerArgs {
  root: string;
  size: number;
  /** Random flips (the training set) or not. */
  augment: boolean;
  skipBadFiles: boolean;
  maxPixels: number | undefined;
}

/**
 * The factory of `loadDataset('folder', { workers })`'s worker threads: the folder with the
 * default folder transforms, drawing from a generator the pool re-seeds per sample.
 */
export async function createDataset(args: FolderWorkerArgs): Promise<WorkerDatasetParts> {
  const generator = new Generator(0);
  const transforms = defaultFolderTransforms(args.size, args.augment ? generator : undefined);
  const dataset = await loadImageFolder(args.root, {
    transform: transforms.train,
    onBadFile: args.skipBadFiles ? 'skip' : 'error',
    maxPixels: args.maxPixels,
  });
  return { dataset, generator };
}

import { DATASET_NAMES } from '@resnet-ts/data';

/** What `--backend` accepts: `auto` or one backend Node can run. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** A `--backend` value. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The catalog's datasets that `loadDataset` reads by name (a folder is opened otherwise). */
export const TRAINABLE_DATASETS = DATASET_NAMES.filter(
  (n): n is Exclude<typeof n, 'folder'> => n !== 'folder',
);
/** A `--dataset` value. */
export type TrainableDataset = (typeof TRAINABLE_DATASETS)[number];

/** True when `name` is one of {@link TRAINABLE_DATASETS}. */
export function isTrainableDataset(name: unknown): name is TrainableDataset {
  return (TRAINABLE_DATASETS as readonly unknown[]).includes(name);
}

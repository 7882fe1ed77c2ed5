/** What `--backend` accepts: `auto` or one backend Node can run. */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** A `--backend` value. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Models `--model` accepts. */
export const MODEL_NAMES = [
  'vanresnet',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
] as const;
/** A `--model` value. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Datasets `--dataset` accepts. */
export const DATASET_NAMES = ['mnist', 'mnist-idx', 'cifar10'] as const;
/** A `--dataset` value. */
export type DatasetName = (typeof DATASET_NAMES)[number];

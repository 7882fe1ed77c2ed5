import type { Tensor } from '@tensorflow/tfjs-core';

/** Whether two shapes have the same rank and the same size in every dimension. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Whether `value` is a tfjs tensor. Duck-typed rather than `instanceof`, since a consumer's
 * tfjs-core may be another copy than ours.
 */
export function isTensor(value: unknown): value is Tensor {
  const t = value as Tensor;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof t.dataSync === 'function' &&
    typeof t.dtype === 'string' &&
    Array.isArray(t.shape)
  );
}

/**
 * What a model takes as input: square images of `size` pixels with `channels` channels,
 * normalised per channel with `mean` and `std` (on the 0..1 scale), as torchvision's
 * `Normalize`.
 */
export interface InputSpec {
  /** Height and width in pixels. */
  size: number;
  /** Number of channels: 1 for greyscale, 3 for RGB. */
  channels: number;
  /** Per-channel mean subtracted before dividing by {@link InputSpec.std}. */
  mean: number[];
  /** Per-channel standard deviation, each > 0. */
  std: number[];
}

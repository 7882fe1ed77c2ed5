import { formatValue, ValueError } from '@resnet-ts/core';
import {
  dispose,
  stack,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
  tensor1d,
  tensor4d,
  tidy,
} from '@tensorflow/tfjs-core';
import type { ImageSample } from './sample.js';

/**
 * What {@link defaultCollate} makes of image samples: `x` float32 `[B, H, W, C]`, `y` int32
 * `[B]`. The receiver owns both tensors and must dispose them.
 */
export interface Batch {
  x: Tensor4D;
  y: Tensor1D;
}

/** An image batch still in typed arrays: the CPU half of collating, done while prefetching. */
export interface PackedBatch {
  x: Float32Array;
  shape: [number, number, number, number];
  y: Int32Array;
}

/** True for `{ image, shape, label }` samples. */
export function isImageSample(sample: unknown): sample is ImageSample {
  const s = sample as ImageSample;
  return (
    typeof s === 'object' &&
    s !== null &&
    (s.image instanceof Uint8Array || s.image instanceof Float32Array) &&
    Array.isArray(s.shape) &&
    typeof s.label === 'number'
  );
}

/** Copies same-shaped image samples into one float32 NHWC array and their labels into int32. */
export function packImages(samples: readonly ImageSample[]): PackedBatch {
  if (samples.length === 0) throw new ValueError('cannot collate an empty batch');
  const [h, w, c] = samples[0].shape;
  const size = h * w * c;
  const x = new Float32Array(samples.length * size);
  const y = new Int32Array(samples.length);
  for (let b = 0; b < samples.length; b++) {
    const s = samples[b];
    if (s.shape[0] !== h || s.shape[1] !== w || s.shape[2] !== c || s.image.length !== size) {
      throw new ValueError(
        `cannot collate images of different shapes: sample 0 is ${formatValue(samples[0].shape)}, sample ${b} is ${formatValue(s.shape)} with ${s.image.length} values`,
      );
    }
    x.set(s.image, b * size);
    y[b] = s.label;
  }
  return { x, shape: [samples.length, h, w, c], y };
}

/** Turns a packed batch into tensors owned by the caller. */
export function packedToBatch(packed: PackedBatch): Batch {
  return { x: tensor4d(packed.x, packed.shape, 'float32'), y: tensor1d(packed.y, 'int32') };
}

/**
 * The collate function a {@link DataLoader} uses unless given one, like PyTorch's
 * `default_collate`:
 * - image samples (`{ image, shape, label }`) become a {@link Batch}, pixels converted to
 *   float32 without rescaling (use `ToTensor` for [0, 1]);
 * - rows of tensors (from a `TensorDataset`) are stacked position by position into
 *   `[B, ...]` tensors, and the rows disposed;
 * - numbers become an int32 (all integers) or float32 tensor.
 * The caller owns the returned tensors.
 */
export function defaultCollate(samples: readonly unknown[]): any {
  if (samples.length === 0) throw new ValueError('cannot collate an empty batch');
  const first = samples[0];
  if (isImageSample(first)) return packedToBatch(packImages(samples as ImageSample[]));
  if (Array.isArray(first)) {
    const rows = samples as Tensor[][];
    try {
      return tidy(() => first.map((_, k) => stack(rows.map((r) => r[k]))));
    } finally {
      dispose(rows.flat());
    }
  }
  if (typeof first === 'number') {
    const values = samples as number[];
    return values.every(Number.isInteger) ? tensor1d(values, 'int32') : tensor1d(values, 'float32');
  }
  throw new ValueError(
    `defaultCollate handles { image, shape, label } samples, arrays of tensors or numbers; got ${typeof first === 'object' && first !== null ? `a ${first.constructor?.name ?? 'object'}` : formatValue(first)}; pass a collate function`,
  );
}

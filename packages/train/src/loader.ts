import type * as tf from '@tensorflow/tfjs-core';

/** One batch: inputs (NHWC float32 for images) and targets (int32 labels for classification). */
export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor;
}

/**
 * What `fit` and `evaluate` read batches from: an (async) iterable of batches with a
 * `length` (batches per pass), such as `@resnet-ts/data`'s DataLoader or a plain array. The
 * consumer owns each batch: `fit`/`evaluate` dispose `x` and `y` once used.
 */
export type Loader = (AsyncIterable<Batch> | Iterable<Batch>) & { readonly length: number };

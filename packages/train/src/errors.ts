import { ResnetError } from '@resnet-ts/core';

/**
 * Thrown by `fit` when a training loss is NaN or infinite. Training stops at once; the last
 * checkpoint written before it (if any) is the last good one and is left untouched.
 */
export class NonFiniteLossError extends ResnetError {
  override name = 'NonFiniteLossError';
  constructor(
    /** The loss value read, `NaN`, `Infinity` or `-Infinity`. */
    readonly loss: number,
    /** The 0-based epoch in which it was seen. */
    readonly epoch: number,
    /** The 0-based batch within the epoch at which it was read. */
    readonly batch: number,
  ) {
    super(
      `Training loss became ${loss} at epoch ${epoch}, batch ${batch}; stopping. ` +
        'Lower the learning rate, clip gradients (gradClip) or check the inputs for NaN.',
    );
  }
}

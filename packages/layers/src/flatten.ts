import { Module } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import { flatten } from './functional/flatten.js';

/**
 * Flattens axes `startDim..endDim` (default 1..-1), as `torch.nn.Flatten`. On NHWC input the
 * features come in (h, w, c) order, unlike PyTorch's (c, h, w); weights of a Linear that
 * follows need `nchwFlattenOrder` when moved between the two.
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

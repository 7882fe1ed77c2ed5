import { Module } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import { leakyRelu, relu } from './functional/activation.js';

/** max(x, 0), as `torch.nn.ReLU`. */
export class ReLU extends Module {
  override forward(x: tf.Tensor): tf.Tensor {
    return relu(x);
  }
}

/** Leaky ReLU with `negativeSlope` (default 0.01), as `torch.nn.LeakyReLU`. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

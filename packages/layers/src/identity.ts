import { Module } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';

/** Returns its input unchanged, as `torch.nn.Identity`; a placeholder in a Sequential. */
export class Identity extends Module {
  override forward(x: tf.Tensor): tf.Tensor {
    return x;
  }
}

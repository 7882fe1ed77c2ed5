import { type Generator, Module, type Parameter } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { linear } from './functional/linear.js';
import { resetLinearLike } from './init.js';
import { integer } from './validate.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias; default true. */
  bias?: boolean;
  /** Source of the initial weights; default the process-wide default generator. */
  generator?: Generator;
}

/**
 * A fully connected layer, as `torch.nn.Linear`. The weight is stored `[in, out]` so the
 * forward pass is one matMul; PyTorch's `[out, in]` converts with `oiToIo`/`ioToOi`.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = integer(this.typeName, 'inFeatures', inFeatures, 0);
    this.outFeatures = integer(this.typeName, 'outFeatures', outFeatures, 0);
    this.weight = this.registerParameter('weight', tf.zeros([inFeatures, outFeatures]));
    this.bias =
      options.bias === false ? null : this.registerParameter('bias', tf.zeros([outFeatures]));
    resetLinearLike(this.weight, this.bias, options.generator);
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return linear(x, this.weight, this.bias, this.label);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias ? 'True' : 'False'}`;
  }
}

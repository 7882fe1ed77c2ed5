import { type Generator, Module } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import { checkProbability, dropout } from './functional/dropout.js';

/** Options of {@link Dropout}. */
export interface DropoutModuleOptions {
  /** Source of the masks; default the process-wide default generator at each call. */
  generator?: Generator;
}

/**
 * Zeroes elements with probability `p` (default 0.5) in training and scales the rest by
 * 1/(1-p), as `torch.nn.Dropout`; the identity in eval mode.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(p = 0.5, { generator }: DropoutModuleOptions = {}) {
    super();
    this.p = checkProbability(this.typeName, p);
    this.generator = generator;
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return dropout(x, this.p, { training: this.training, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${this.p}, inplace=False`;
  }
}

import { Generator, Module } from '@resnet-ts/core';
import {
  AdaptiveAvgPool2d,
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  ReLU,
  Sequential,
} from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Loader } from '../index.js';

/** A tiny conv net with batch norm (so buffers and train/eval modes matter). */
export function tinyConvNet(seed: number): Sequential {
  const generator = new Generator(seed);
  return new Sequential(
    new Conv2d(1, 4, 3, { padding: 1, generator }),
    new BatchNorm2d(4),
    new ReLU(),
    new AdaptiveAvgPool2d(1),
    new Flatten(),
    new Linear(4, 3, { generator }),
  );
}

/** A linear classifier on the flattened pixels: no buffers, so lr 0 freezes it completely. */
export class LinearProbe extends Module {
  readonly weight: tf.Variable;
  constructor(seed: number) {
    super();
    this.weight = this.registerParameter(
      'weight',
      new Generator(seed).normalTensor([64, 3], 0, 0.1),
    );
  }
  override forward(x: tf.Tensor): tf.Tensor {
    return tf.matMul(tf.reshape(x, [x.shape[0], 64]), this.weight);
  }
}

/** Wraps a model and records `training` at every forward call. */
export class ModeSpy extends Module {
  readonly modes: boolean[] = [];
  constructor(readonly inner: Module) {
    super();
    this.registerModule('inner', inner);
  }
  override forward(x: tf.Tensor): unknown {
    this.modes.push(this.training);
    return this.inner.forward(x);
  }
}

/**
 * 8×8 single-channel noisy images of horizontal stripes, vertical stripes or a flat grey
 * (labels 0, 1, 2): local patterns a conv net with global pooling learns in a few epochs.
 * Fully determined by the seed.
 */
export function makeDataset(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const g = new Generator(seed);
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = g.randint(3);
    y[i] = label;
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const base = label === 0 ? r % 2 : label === 1 ? c % 2 : 0.5;
        x[i * 64 + r * 8 + c] = base + g.normal() * 0.3;
      }
    }
  }
  return { x, y };
}

/** An async loader with seeded shuffling: a fresh permutation per pass, new tensors per batch. */
export class ShuffledLoader implements AsyncIterable<Batch> {
  constructor(
    private readonly data: { x: Float32Array; y: Int32Array },
    private readonly batchSize: number,
    readonly generator: Generator | null,
  ) {}
  get length(): number {
    return Math.ceil(this.data.y.length / this.batchSize);
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const n = this.data.y.length;
    const order = this.generator
      ? this.generator.permutation(n)
      : Int32Array.from({ length: n }, (_, i) => i);
    for (let start = 0; start < n; start += this.batchSize) {
      const idx = order.subarray(start, Math.min(start + this.batchSize, n));
      const xs = new Float32Array(idx.length * 64);
      const ys = new Int32Array(idx.length);
      idx.forEach((j, k) => {
        xs.set(this.data.x.subarray(j * 64, j * 64 + 64), k * 64);
        ys[k] = this.data.y[j];
      });
      yield { x: tf.tensor4d(xs, [idx.length, 8, 8, 1]), y: tf.tensor1d(ys, 'int32') };
    }
  }
}

export const asLoader = (l: ShuffledLoader): Loader => l;

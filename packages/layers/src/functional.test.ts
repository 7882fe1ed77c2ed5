import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  adaptiveAvgPool2d,
  avgPool2d,
  BatchNorm2d,
  batchNorm,
  Conv2d,
  conv2d,
  flatten,
  LeakyReLU,
  Linear,
  leakyRelu,
  linear,
  MaxPool2d,
  maxPool2d,
} from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function expectSame(a: tf.Tensor, b: tf.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect([...a.dataSync()]).toEqual([...b.dataSync()]);
}

describe('functional API', () => {
  let x: tf.Tensor;
  beforeAll(() => {
    x = new Generator(11).normalTensor([2, 7, 6, 4]);
  });

  it('is what the modules compute', () => {
    const conv = new Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: 'valid', groups: 2 });
    expectSame(conv2d(x, conv.weight, conv.bias, { stride: [2, 1], groups: 2 }), conv.forward(x));
    const same = new Conv2d(4, 4, 3, { padding: 'same', dilation: 2, groups: 4, bias: false });
    expectSame(
      conv2d(x, same.weight, null, { padding: 'same', dilation: 2, groups: 4 }),
      same.forward(x),
    );
    expectSame(
      maxPool2d(x, 3, { stride: 2, padding: 1 }),
      new MaxPool2d(3, { stride: 2, padding: 1 }).forward(x),
    );
    expectSame(
      avgPool2d(x, 2, { ceilMode: true, countIncludePad: false }),
      new AvgPool2d(2, { ceilMode: true, countIncludePad: false }).forward(x),
    );
    expectSame(adaptiveAvgPool2d(x, [3, null]), new AdaptiveAvgPool2d([3, null]).forward(x));
    expectSame(leakyRelu(x, 0.3), new LeakyReLU(0.3).forward(x));
    const lin = new Linear(4, 3);
    expectSame(linear(x, lin.weight, lin.bias), lin.forward(x));
    const bn = new BatchNorm2d(4).eval();
    expectSame(
      batchNorm(x, bn.getBuffer('running_mean'), bn.getBuffer('running_var'), bn.weight, bn.bias),
      bn.forward(x),
    );
    expect(flatten(x).shape).toEqual([2, 168]);
    expect(flatten(x, 0, 1).shape).toEqual([14, 6, 4]);
  });

  it('names the function in its errors', () => {
    expect(() => conv2d(x, tf.zeros([3, 3, 5, 2]))).toThrow(
      'conv2d: expected input with 5 channels, got 4 (input shape [2,7,6,4])',
    );
    expect(() => conv2d(x, tf.zeros([3, 3]))).toThrow(/conv2d: weight must be HWIO/);
    expect(() => conv2d(x, tf.zeros([1, 1, 4, 2]), tf.zeros([3]))).toThrow(
      'conv2d: bias must have shape [2], got [3]',
    );
    expect(() => linear(x, tf.zeros([4, 2]), tf.zeros([2, 1]))).toThrow(
      'linear: bias must have shape [2], got [2,1]',
    );
    expect(() => maxPool2d(x, 2, { padding: 3 })).toThrow(
      /maxPool2d: padding \[3,3\] must be at most half/,
    );
    expect(() => batchNorm(x, null, null)).toThrow(
      'batchNorm: running statistics are required when not training',
    );
    expect(() => batchNorm(x, null, null, tf.ones([3]), null, { training: true })).toThrow(
      /batchNorm: weight must have shape \[4\]/,
    );
  });

  it('batchNorm in training updates running statistics in place with the unbiased variance', () => {
    const rm = tf.variable(tf.zeros([4]));
    const rv = tf.variable(tf.ones([4]));
    const y = batchNorm(x, rm, rv, null, null, { training: true, momentum: 1 });
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const n = 2 * 7 * 6;
    const closeTo = (a: tf.Tensor, b: tf.Tensor, tol = 1e-5) =>
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(tol);
    closeTo(rm, mean);
    closeTo(rv, tf.mul(variance, n / (n - 1)));
    // The output is normalised with the biased variance: unit variance per channel, less eps.
    closeTo(tf.moments(y, [0, 1, 2]).variance, tf.ones([4]), 1e-4);
  });
});

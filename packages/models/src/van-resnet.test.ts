import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import { flatten, maxPool2d, relu } from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { VanResNet } from './van-resnet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('VanResNet', () => {
  it("has the article's 89,450 parameters, named as its PyTorch module", () => {
    const model = new VanResNet({ generator: new Generator(0) });
    expect(model.numParameters()).toBe(89_450);
    expect(model.namedParameters().map(([name, p]) => [name, p.shape])).toEqual([
      ['conv1.weight', [3, 3, 3, 32]],
      ['conv1.bias', [32]],
      ['conv2.weight', [3, 3, 32, 64]],
      ['conv2.bias', [64]],
      ['conv3.weight', [3, 3, 64, 64]],
      ['conv3.bias', [64]],
      ['fc1.weight', [4 * 4 * 64, 32]],
      ['fc1.bias', [32]],
      ['fc2.weight', [32, 10]],
      ['fc2.bias', [10]],
    ]);
    expect(model.torchFlattenedInputs).toEqual({ fc1: [64, 4, 4] });
    model.dispose();
  });

  it('sizes fc1 from inputSize by floor division through the three pools (MNIST: 3×3×64)', () => {
    const mnist = new VanResNet({ inChannels: 1, inputSize: 28, generator: new Generator(0) });
    expect(mnist.fc1.inFeatures).toBe(3 * 3 * 64);
    expect(mnist.conv1.weight.shape).toEqual([3, 3, 1, 32]);
    expect(mnist.torchFlattenedInputs).toEqual({ fc1: [64, 3, 3] });
    expect(mnist.numParameters()).toBe(89_450 - 2 * 9 * 32 - (1024 - 576) * 32);
    mnist.dispose();
    const wide = new VanResNet({
      filters: 8,
      growth: 4,
      fcHidden: 16,
      numClasses: 5,
      inputSize: 40,
    });
    expect(wide.conv3.weight.shape).toEqual([3, 3, 32, 32]);
    expect(wide.fc1.weight.shape).toEqual([5 * 5 * 32, 16]);
    expect(wide.fc2.weight.shape).toEqual([16, 5]);
    wide.dispose();
  });

  it('maps an NHWC batch to logits without leaking tensors, and trains through the skip', () => {
    const model = new VanResNet({ inChannels: 1, inputSize: 28, generator: new Generator(1) });
    const x = new Generator(2).normalTensor([2, 28, 28, 1]);
    const before = tf.memory().numTensors;
    const y = model.forward(x);
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
    const { value, grads } = tf.variableGrads(() => tf.sum(model.forward(x)) as tf.Scalar);
    expect(Object.keys(grads).length).toBe(10);
    expect(grads[model.conv3.weight.name].shape).toEqual([3, 3, 64, 64]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });

  it('adds the skip before the ReLU and the pooling', () => {
    // x1 = 200 everywhere and conv3(x1) = -100: relu(conv3 + x1) = 100, whereas
    // relu(conv3) + x1 would give 200.
    const model = new VanResNet({
      inputSize: 8,
      filters: 1,
      growth: 1,
      fcHidden: 1,
      numClasses: 1,
    });
    tf.tidy(() => {
      for (const conv of [model.conv1, model.conv2, model.conv3]) {
        conv.weight.assign(tf.zeros(conv.weight.shape));
      }
      model.conv2.bias!.assign(tf.fill([1], 200));
      // -100 from conv3 cancels half of the skip only if it is added before the ReLU.
      model.conv3.bias!.assign(tf.fill([1], -100));
      model.fc1.weight.assign(tf.ones([1, 1]));
      model.fc1.bias!.assign(tf.zeros([1]));
      model.fc2.weight.assign(tf.ones([1, 1]));
      model.fc2.bias!.assign(tf.zeros([1]));
    });
    const y = tf.tidy(() => model.forward(tf.zeros([1, 8, 8, 3])));
    // relu(-100 + 200) = 100.
    expect(y.dataSync()[0]).toBeCloseTo(100, 4);
    y.dispose();
    model.dispose();
  });

  it("pools before each ReLU with the article's values and gradients (ReLU, then the pool)", () => {
    const model = new VanResNet({
      inputSize: 12,
      filters: 4,
      growth: 2,
      fcHidden: 6,
      numClasses: 3,
      generator: new Generator(3),
    });
    const x = new Generator(4).normalTensor([3, 12, 12, 3]);
    const weights = new Generator(5).normalTensor([3, 3]);
    const article = (input: tf.Tensor) => {
      let h = maxPool2d(relu(model.conv1.forward(input)), 2);
      h = maxPool2d(relu(model.conv2.forward(h)), 2);
      h = maxPool2d(relu(tf.add(model.conv3.forward(h), h)), 2);
      return model.fc2.forward(relu(model.fc1.forward(flatten(h))));
    };
    const gradsOf = (forward: (input: tf.Tensor) => tf.Tensor) =>
      tf.variableGrads(() => tf.sum(tf.mul(forward(x), weights)) as tf.Scalar);
    const ours = gradsOf((input) => model.forward(input));
    const theirs = gradsOf(article);
    expect(ours.value.dataSync()[0]).toBe(theirs.value.dataSync()[0]);
    const names = Object.keys(theirs.grads);
    expect(Object.keys(ours.grads).sort()).toEqual([...names].sort());
    for (const name of names) {
      // Not merely close: the same elements pass the same gradients back.
      expect(Array.from(ours.grads[name].dataSync())).toEqual(
        Array.from(theirs.grads[name].dataSync()),
      );
    }
    // Negative windows (every ReLU gradient zero) and positive ones both occur.
    const g1 = theirs.grads[model.conv1.weight.name].dataSync();
    expect(g1.some((v) => v !== 0)).toBe(true);
    tf.dispose([x, weights, ours.value, theirs.value]);
    tf.dispose([...Object.values(ours.grads), ...Object.values(theirs.grads)]);
    model.dispose();
  });

  it('names the offending option or input shape', () => {
    expect(() => new VanResNet({ filters: 0 })).toThrow(
      'VanResNet: filters must be an integer >= 1, got 0',
    );
    expect(() => new VanResNet({ inputSize: 7 })).toThrow(/inputSize must be at least 8.*got 7/);
    const model = new VanResNet({ generator: new Generator(0) });
    const x = tf.zeros([1, 28, 28, 3]);
    expect(() => model.forward(x)).toThrow(
      'VanResNet: expected an NHWC batch [batch, 32, 32, 3], got shape [1,28,28,3] (it pools to 3×3, fc1 was built for 4×4)',
    );
    expect(() => model.forward(tf.zeros([32, 32, 3]))).toThrow(/got shape \[32,32,3\]/);
    expect(() => model.forward(tf.zeros([1, 32, 32, 1]))).toThrow(
      /conv1: expected input with 3 channels, got 1/,
    );
    x.dispose();
    model.dispose();
  });
});

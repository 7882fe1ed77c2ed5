import '@tensorflow/tfjs-backend-wasm';
import { Generator } from '@resnet-ts/core';
import { Linear } from '@resnet-ts/layers';
import { crossEntropy, SGD, valueAndGrads } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resnet18 } from './resnet.js';

beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

const snapshot = (vs: tf.Variable[]) => vs.map((v) => Array.from(v.dataSync()));

describe('fine-tuning a ResNet-18: new head, frozen backbone', () => {
  it('model.fc = new Linear(512, k) becomes the head the state dict, parameters and forward use', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', generator: new Generator(0) });
    const oldFc = model.fc;
    model.fc = new Linear(512, 3, { generator: new Generator(1) });
    oldFc.dispose();
    const dict = model.stateDict();
    expect(dict['fc.weight'].shape).toEqual([512, 3]);
    expect(Object.keys(dict).at(-1)).toBe('fc.bias');
    expect(model.fc.path).toBe('fc');
    model.eval();
    const y = tf.tidy(() => model.forward(tf.ones([2, 32, 32, 3])));
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
    model.dispose();
  });

  it('trains only the head when the rest is frozen, and the loss falls', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', generator: new Generator(0) });
    model.fc.dispose();
    model.fc = new Linear(512, 2, { generator: new Generator(1) });
    model.requiresGrad(false);
    model.fc.requiresGrad(true);
    const backbone = model.parameters().filter((p) => !p.trainable);
    const head = model.parameters().filter((p) => p.trainable);
    expect(head).toEqual([model.fc.weight, model.fc.bias]);
    // One optimizer over everything, as a user would write it; the frozen ones get no update.
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const before = snapshot(backbone);
    const headBefore = snapshot(head);
    const g = new Generator(3);
    const x = tf.tensor4d(g.uniformArray(8 * 16 * 16 * 3), [8, 16, 16, 3]);
    const target = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1], 'int32');
    model.eval();
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { value, grads } = valueAndGrads(
        () => crossEntropy(model.forward(x) as tf.Tensor2D, target) as tf.Scalar,
        head,
      );
      losses.push(value.dataSync()[0]);
      opt.step(new Map(head.map((p, i) => [p, grads[i]])));
      tf.dispose([value, ...grads]);
    }
    expect(snapshot(backbone)).toEqual(before);
    expect(snapshot(head)[0]).not.toEqual(headBefore[0]);
    expect(losses[4]).toBeLessThan(losses[0]);
    tf.dispose([x, target]);
    opt.dispose();
    model.dispose();
  });
});

import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit } from './fit.js';
import { freeze, unfreeze } from './freeze.js';
import { SGD } from './optim/sgd.js';
import { makeDataset, ShuffledLoader, tinyConvNet } from './testing/fixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const values = (m: { stateDict(): Record<string, tf.Tensor> }) =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));

describe('freeze: fine-tuning a pretrained backbone', () => {
  it('with batchNormEval, BatchNorm keeps eval mode and its running statistics through fit', async () => {
    const model = tinyConvNet(3);
    const [conv, bn, , , , head] = model.children();
    freeze(conv);
    freeze(bn, { batchNormEval: true });
    model.train();
    expect(bn.training).toBe(false);
    expect(conv.training).toBe(true);
    expect(head.training).toBe(true);
    const convBefore = values(conv);
    const bnBefore = values(bn);
    const headBefore = values(head);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    await fit({
      model,
      optimizer,
      trainLoader: new ShuffledLoader(makeDataset(32, 1), 8, new Generator(1)),
      epochs: 1,
    });
    expect(values(conv)).toEqual(convBefore);
    // Weight, bias and the running statistics: nothing of the frozen BatchNorm moved.
    expect(values(bn)).toEqual(bnBefore);
    expect(values(head).weight).not.toEqual(headBefore.weight);
    optimizer.dispose();
    model.dispose();
  });

  it('without batchNormEval, frozen BatchNorm still updates its statistics, as in PyTorch', async () => {
    const model = tinyConvNet(3);
    const bn = model.children()[1];
    freeze(bn);
    const before = values(bn);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    await fit({
      model,
      optimizer,
      trainLoader: new ShuffledLoader(makeDataset(16, 1), 8, new Generator(1)),
      epochs: 1,
    });
    const after = values(bn);
    expect(after.weight).toEqual(before.weight);
    expect(after.running_mean).not.toEqual(before.running_mean);
    optimizer.dispose();
    model.dispose();
  });

  it('unfreeze gives back training and the train/eval switch', () => {
    const model = tinyConvNet(3);
    freeze(model, { batchNormEval: true });
    expect(model.parameters().every((p) => !p.trainable)).toBe(true);
    unfreeze(model);
    expect(model.parameters().every((p) => p.trainable)).toBe(true);
    model.train();
    expect(model.modules().every((m) => m.training)).toBe(true);
    model.eval();
    expect(model.modules().some((m) => m.training)).toBe(false);
    model.dispose();
  });
});

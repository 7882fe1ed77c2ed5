import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { freezeBackbone } from './freeze-backbone.js';
import { buildModel, modelSpec } from './registry.js';

beforeAll(() => tf.setBackend('cpu'));

const trainable = (m: ReturnType<typeof buildModel>) =>
  m
    .namedParameters()
    .filter(([, p]) => p.trainable)
    .map(([name]) => name);

describe('freezeBackbone', () => {
  it('leaves only the classifier head of a ResNet training', () => {
    const spec = modelSpec('resnet18', { inChannels: 3, inputSize: 32, numClasses: 4 });
    const model = buildModel(spec, new Generator(0));
    const head = freezeBackbone(model);
    expect(head).toBe((model as unknown as { fc: unknown }).fc);
    expect(trainable(model)).toEqual(['fc.weight', 'fc.bias']);
    model.dispose();
  });

  it('changes nothing in a model without an fc head', () => {
    const spec = modelSpec('vanresnet', { inChannels: 1, inputSize: 28, numClasses: 10 });
    const model = buildModel(spec, new Generator(0));
    const all = trainable(model);
    expect(freezeBackbone(model)).toBeUndefined();
    expect(trainable(model)).toEqual(all);
    expect(all.length).toBeGreaterThan(2);
    model.dispose();
  });
});

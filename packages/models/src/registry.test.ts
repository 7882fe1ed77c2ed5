import '@tensorflow/tfjs-backend-cpu';
import { Generator, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildModel,
  MODEL_NAMES,
  type ModelName,
  type ModelSpec,
  modelSpec,
  specShapes,
  stateDictSize,
} from './registry.js';
import { RESNET_ARCHITECTURES, ResNet } from './resnet.js';
import { fixtureJson } from './testing/fixtures.js';
import { VanResNet } from './van-resnet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const keysFixture = fixtureJson<{
  models: Record<string, { numParameters: number; numKeys?: number }>;
}>('torchvision-keys.json');

describe('the model registry', () => {
  it('names VanResNet and every row of the ResNet table, resnext and wide included', () => {
    expect([...MODEL_NAMES].sort()).toEqual(
      ['vanresnet', ...Object.keys(RESNET_ARCHITECTURES)].sort(),
    );
    expect(MODEL_NAMES).toContain('resnext50_32x4d');
    expect(MODEL_NAMES).toContain('wide_resnet50_2');
  });

  it('gives ResNets the CIFAR stem below 64 pixels and the ImageNet stem from 64', () => {
    const opts = { inChannels: 3, numClasses: 10 };
    expect(modelSpec('resnet18', { ...opts, inputSize: 32 }).stem).toBe('cifar');
    expect(modelSpec('resnet18', { ...opts, inputSize: 63 }).stem).toBe('cifar');
    expect(modelSpec('resnet18', { ...opts, inputSize: 64 }).stem).toBe('imagenet');
    expect(modelSpec('vanresnet', { ...opts, inputSize: 28 })).toEqual({
      name: 'vanresnet',
      inChannels: 3,
      inputSize: 28,
      numClasses: 10,
    });
  });

  it('refuses an unknown name and counts that are not positive integers, naming them', () => {
    const opts = { inChannels: 1, inputSize: 28, numClasses: 10 };
    expect(() => modelSpec('resnet19' as ModelName, opts)).toThrow(
      /unknown model "resnet19"; expected one of vanresnet, resnet18/,
    );
    expect(() => modelSpec('resnet18', { ...opts, numClasses: 0 })).toThrow(ValueError);
    expect(() => modelSpec('resnet18', { ...opts, inChannels: 1.5 })).toThrow(
      /inChannels must be an integer >= 1, got 1.5/,
    );
    expect(() => buildModel({ ...opts, name: 'alexnet' as ModelName })).toThrow(
      /buildModel: unknown model "alexnet"/,
    );
  });

  it('builds the class a spec names, with its options', () => {
    const van = buildModel(modelSpec('vanresnet', { inChannels: 1, inputSize: 28, numClasses: 7 }));
    expect(van).toBeInstanceOf(VanResNet);
    expect((van as VanResNet).options).toMatchObject({
      inChannels: 1,
      inputSize: 28,
      numClasses: 7,
    });
    van.dispose();
    const res = buildModel(
      modelSpec('resnet18', { inChannels: 2, inputSize: 96, numClasses: 5 }),
      new Generator(1),
    ) as ResNet;
    expect(res).toBeInstanceOf(ResNet);
    expect(res.stem).toBe('imagenet');
    expect(res.conv1.weight.shape).toEqual([7, 7, 2, 64]);
    expect(res.fc.weight.shape).toEqual([512, 5]);
    res.dispose();
  });

  // Each spec is built for real and its state dict compared with what the registry predicts
  // without building: the pre-check of a weights file relies on these numbers.
  const specs: ModelSpec[] = [
    modelSpec('vanresnet', { inChannels: 1, inputSize: 28, numClasses: 10 }),
    modelSpec('vanresnet', { inChannels: 3, inputSize: 45, numClasses: 7 }),
    modelSpec('resnet18', { inChannels: 1, inputSize: 32, numClasses: 3 }),
    modelSpec('resnet18', { inChannels: 3, inputSize: 224, numClasses: 4 }),
    modelSpec('resnet50', { inChannels: 3, inputSize: 32, numClasses: 10 }),
    modelSpec('resnext50_32x4d', { inChannels: 1, inputSize: 64, numClasses: 2 }),
    modelSpec('resnet18_w16', { inChannels: 3, inputSize: 64, numClasses: 4 }),
    modelSpec('resnet18_w16', { inChannels: 1, inputSize: 32, numClasses: 10 }),
  ];
  for (const spec of specs) {
    it(`predicts the state dict of ${spec.name} ${spec.inChannels}×${spec.inputSize} (${spec.numClasses} classes) without building it`, () => {
      const model = buildModel(spec, new Generator(0));
      try {
        const dict = model.stateDict();
        const entries = Object.values(dict);
        expect(stateDictSize(spec)).toEqual({
          tensors: entries.length,
          elements: entries.reduce((n, t) => n + t.size, 0),
          parameters: model.numParameters(),
        });
        for (const [key, shape] of Object.entries(specShapes(spec))) {
          expect(dict[key]?.shape, key).toEqual(shape);
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("counts torchvision's parameters and state-dict keys for the whole family at ImageNet's defaults", () => {
    for (const name of MODEL_NAMES) {
      // No torchvision counterpart; their counts are checked against the built models above.
      if (name === 'vanresnet' || name === 'resnet18_w16') continue;
      const size = stateDictSize(
        modelSpec(name, { inChannels: 3, inputSize: 224, numClasses: 1000 }),
      );
      expect(size.parameters, name).toBe(keysFixture.models[name].numParameters);
      const keys = keysFixture.models[name].numKeys;
      if (keys !== undefined) expect(size.tensors, name).toBe(keys);
    }
  });
});

import '@tensorflow/tfjs-backend-cpu';
import { Generator } from '@resnet-ts/core';
import { BasicBlock } from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ResNet } from './resnet.js';
import { summary } from './summary.js';
import { VanResNet } from './van-resnet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('summary', () => {
  it("lists VanResNet's layers with output shapes and parameter counts, like torchinfo", () => {
    const model = new VanResNet({ generator: new Generator(0) });
    const before = tf.memory().numTensors;
    const s = summary(model, [1, 32, 32, 3]);
    expect(tf.memory().numTensors).toBe(before);
    expect(s.rows.map((r) => [r.path, r.type, r.outputShape, r.numParameters])).toEqual([
      ['', 'VanResNet', [1, 10], 89_450],
      ['conv1', 'Conv2d', [1, 32, 32, 32], 896],
      ['conv2', 'Conv2d', [1, 16, 16, 64], 18_496],
      ['conv3', 'Conv2d', [1, 8, 8, 64], 36_928],
      ['fc1', 'Linear', [1, 32], 32_800],
      ['fc2', 'Linear', [1, 10], 330],
    ]);
    expect(s.totalParameters).toBe(89_450);
    expect(s.trainableParameters).toBe(89_450);
    const text = s.toString();
    expect(text).toContain('Total params: 89,450');
    expect(text).toMatch(/conv2 \(Conv2d\)\s+\[1,16,16,64\]\s+18,496/);
    // The model is left as it was: its own forward again, and still callable.
    expect(Object.hasOwn(model, 'forward')).toBe(false);
    model.dispose();
  });

  it('nests ResNet blocks, counts frozen parameters and leaves modes and BatchNorm statistics alone', () => {
    const model = new ResNet(BasicBlock, [1, 1, 1, 1], {
      numClasses: 10,
      stem: 'cifar',
      generator: new Generator(1),
    });
    model.train();
    model.fc.requiresGrad(false);
    const mean = model.bn1.getBuffer('running_mean').dataSync().slice();
    const s = summary(model, [2, 16, 16, 3]);
    const row = (path: string) => s.rows.find((r) => r.path === path)!;
    expect(row('layer2').outputShape).toEqual([2, 8, 8, 128]);
    expect(row('layer2.0.downsample').outputShape).toEqual([2, 8, 8, 128]);
    expect(row('layer2.0.downsample').depth).toBe(3);
    expect(row('layer4').outputShape).toEqual([2, 2, 2, 512]);
    expect(row('avgpool').outputShape).toEqual([2, 1, 1, 512]);
    expect(row('fc').outputShape).toEqual([2, 10]);
    // The block's ReLU runs twice, so it is listed twice, as torchinfo does.
    expect(s.rows.filter((r) => r.path === 'layer1.0.relu').length).toBe(2);
    expect(s.nonTrainableParameters).toBe(512 * 10 + 10);
    expect(s.totalParameters).toBe(model.numParameters());
    expect(s.bufferElements).toBe(model.buffers().reduce((n, b) => n + b.size, 0));
    expect(model.modules().every((m) => m.training)).toBe(true);
    expect(model.bn1.getBuffer('running_mean').dataSync()).toEqual(mean);
    model.dispose();
  });

  it('restores the model when the forward pass throws', () => {
    const model = new VanResNet({ generator: new Generator(0) });
    expect(() => summary(model, [1, 28, 28, 3])).toThrow(/fc1 was built for 4×4/);
    expect(model.modules().some((m) => Object.hasOwn(m, 'forward'))).toBe(false);
    expect(() => summary(model, [1, 32, 0, 3])).toThrow(/inputShape must be positive integers/);
    model.dispose();
  });
});

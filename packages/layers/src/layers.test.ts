import { Generator, manualSeed, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BasicBlock,
  BatchNorm2d,
  Bottleneck,
  Conv2d,
  Dropout,
  dropout,
  Flatten,
  Identity,
  Linear,
  MaxPool2d,
  ModuleList,
  makeDownsample,
  ReLU,
  ResidualBlock,
  Sequential,
} from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Conv2d', () => {
  it('stores an HWIO weight and an [out] bias under PyTorch names', () => {
    const c = new Conv2d(6, 8, [3, 5], { groups: 2 });
    expect(c.weight.shape).toEqual([3, 5, 3, 8]);
    expect(c.bias?.shape).toEqual([8]);
    expect(Object.keys(c.stateDict())).toEqual(['weight', 'bias']);
    expect(c.numParameters()).toBe(3 * 5 * 3 * 8 + 8);
    c.dispose();
  });

  it('initialises like PyTorch: weight and bias within ±1/√fan_in, seeded', () => {
    const a = new Conv2d(4, 16, 3, { generator: new Generator(7) });
    const b = new Conv2d(4, 16, 3, { generator: new Generator(7) });
    const bound = 1 / Math.sqrt(4 * 9);
    const w = a.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    // A uniform sample of 576 values reaches close to its bound.
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...a.bias!.dataSync().map(Math.abs))).toBeLessThanOrEqual(bound);
    expect([...b.weight.dataSync()]).toEqual([...w]);
    a.dispose();
    b.dispose();
  });

  it('uses the default generator when none is given', () => {
    manualSeed(3);
    const a = new Conv2d(2, 2, 3);
    manualSeed(3);
    const b = new Conv2d(2, 2, 3);
    expect([...a.weight.dataSync()]).toEqual([...b.weight.dataSync()]);
    a.dispose();
    b.dispose();
  });

  it('names the module path, the expected channels and the input shape on a bad input', () => {
    const root = new Sequential();
    const layer2 = root.registerModule('layer2', new Sequential());
    const block = layer2.append(new Sequential()).at(0) as Sequential;
    const conv = block.registerModule('conv1', new Conv2d(64, 64, 3, { padding: 1 }));
    const x = tf.zeros([8, 16, 16, 32]);
    expect(() => conv.forward(x)).toThrow(
      'layer2.0.conv1: expected input with 64 channels, got 32 (input shape [8,16,16,32])',
    );
    expect(() => new Conv2d(3, 4, 3).forward(tf.zeros([16, 16, 3]))).toThrow(
      /Conv2d: expected a 4-D NHWC input .*got shape \[16,16,3\]/,
    );
    expect(() => new Conv2d(3, 4, 5).forward(tf.zeros([1, 3, 3, 3]))).toThrow(
      'Conv2d: input of 3x3 (padded 3x3) is smaller than the kernel 5x5 (input shape [1,3,3,3])',
    );
    x.dispose();
    root.dispose();
  });

  it('rejects invalid options at construction', () => {
    expect(() => new Conv2d(3, 4, 3, { stride: -1 })).toThrow(
      'Conv2d: stride must be an integer >= 1 or a pair of them, got -1',
    );
    expect(() => new Conv2d(6, 4, 3, { groups: 4 })).toThrow(
      'Conv2d: groups=4 must divide both inChannels=6 and outChannels=4',
    );
    expect(() => new Conv2d(3, 4, 3, { stride: 2, padding: 'same' })).toThrow(
      "Conv2d: padding='same' is not supported for strided convolutions (stride [2,2])",
    );
    expect(() => new Conv2d(3, 4, 0)).toThrow(ValueError);
    expect(() => new Conv2d(3, 4, 3, { padding: -1 })).toThrow(/padding must be an integer >= 0/);
    expect(() => new Conv2d(3, 4, 3, { dilation: 0 })).toThrow(/dilation/);
  });

  it('prints like PyTorch', () => {
    const c = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    expect(c.toString()).toBe(
      'Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)  # 9,408 params',
    );
    c.dispose();
  });
});

describe('Linear', () => {
  it('stores the weight [in, out] and accepts leading axes', () => {
    const l = new Linear(5, 3);
    expect(l.weight.shape).toEqual([5, 3]);
    const y = l.forward(tf.ones([2, 4, 5]));
    expect(y.shape).toEqual([2, 4, 3]);
    expect(() => l.forward(tf.ones([2, 4]))).toThrow(
      'Linear: expected input with 5 features, got 4 (input shape [2,4])',
    );
    l.dispose();
  });
});

describe('BatchNorm2d', () => {
  it('has PyTorch buffers, an int32 batch counter and rejects bad options', () => {
    const bn = new BatchNorm2d(4);
    expect(Object.keys(bn.stateDict())).toEqual([
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    expect(bn.getBuffer('num_batches_tracked').dtype).toBe('int32');
    expect(() => new BatchNorm2d(4, { momentum: 2 })).toThrow(
      /momentum must be in \[0, 1\] or null/,
    );
    expect(() => new BatchNorm2d(0)).toThrow(/numFeatures/);
    expect(() => bn.forward(tf.ones([1, 1, 1, 4]))).toThrow(
      'BatchNorm2d: expected more than 1 value per channel when training, got input shape [1,1,1,4]',
    );
    expect(
      Object.keys(new BatchNorm2d(2, { affine: false, trackRunningStats: false }).stateDict()),
    ).toEqual([]);
    expect(bn.toString()).toBe(
      'BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)  # 8 params',
    );
    bn.dispose();
  });

  it('updates running statistics without leaking tensors, in and out of a gradient', () => {
    const bn = new BatchNorm2d(3, { momentum: null });
    const x = tf.randomNormal([2, 3, 3, 3]);
    const before = tf.memory().numTensors;
    tf.dispose(bn.forward(x));
    const g = tf.variableGrads(() => tf.sum(bn.forward(x) as tf.Tensor), bn.parameters());
    tf.dispose([g.value, ...Object.values(g.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    expect(bn.getBuffer('num_batches_tracked').dataSync()[0]).toBe(2);
    // Two identical batches with a cumulative average give that batch's mean.
    const mean = tf.mean(x, [0, 1, 2]);
    const rm = bn.getBuffer('running_mean').dataSync();
    for (const [i, v] of mean.dataSync().entries()) expect(rm[i]).toBeCloseTo(v, 6);
    tf.dispose([x, mean]);
    bn.dispose();
  });
});

describe('pools, activations, flatten, dropout, identity', () => {
  it('MaxPool2d rejects padding over half the kernel and too-small inputs', () => {
    expect(() => new MaxPool2d(2, { padding: 2 })).toThrow(
      'MaxPool2d: padding [2,2] must be at most half the kernel size [2,2]',
    );
    expect(() => new MaxPool2d(3).forward(tf.zeros([1, 2, 2, 1]))).toThrow(
      'MaxPool2d: input of 2x2 (padded 2x2) is smaller than the kernel 3x3 (input shape [1,2,2,1])',
    );
    expect(() => new AvgPool2d(2, { stride: 0 })).toThrow(/stride/);
    expect(() => new AdaptiveAvgPool2d(0)).toThrow(/outputSize/);
  });

  it('AdaptiveAvgPool2d(1) is the global average', () => {
    const x = tf.randomNormal([2, 5, 3, 4]);
    const y = new AdaptiveAvgPool2d(1).forward(x);
    expect(y.shape).toEqual([2, 1, 1, 4]);
    const want = tf.mean(x, [1, 2], true);
    expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThan(1e-6);
  });

  it('Flatten merges in NHWC order', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = new Flatten().forward(x);
    expect(y.shape).toEqual([1, 8]);
    expect([...y.dataSync()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => new Flatten(3, 1).forward(x)).toThrow(/startDim=3 and endDim=1/);
  });

  it('Dropout is seeded, scales by 1/(1-p) and is the identity in eval', () => {
    const x = tf.ones([1000]);
    const a = dropout(x, 0.25, { generator: new Generator(1) }).dataSync();
    const b = dropout(x, 0.25, { generator: new Generator(1) }).dataSync();
    expect([...a]).toEqual([...b]);
    const kept = a.filter((v) => v !== 0);
    expect(new Set(kept)).toEqual(new Set([Math.fround(1 / 0.75)]));
    expect(kept.length).toBeGreaterThan(700);
    expect(kept.length).toBeLessThan(800);
    const d = new Dropout(0.5).eval();
    expect(d.forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(
      'Dropout: dropout probability must be in [0, 1], got 1.5',
    );
    expect(new Identity().forward(x)).toBe(x);
    expect([...new ReLU().forward(tf.tensor([-1, 2])).dataSync()]).toEqual([0, 2]);
  });
});

describe('containers and residual blocks', () => {
  it('Sequential names children 0, 1, … and frees intermediates', () => {
    const s = new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2));
    expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias']);
    expect(s.length).toBe(3);
    const x = tf.zeros([1, 4, 4, 3]);
    const before = tf.memory().numTensors;
    const y = s.forward(x);
    expect(y.shape).toEqual([1, 2, 2, 4]);
    expect(tf.memory().numTensors).toBe(before + 1);
    const named = new Sequential({ conv: new Conv2d(1, 1, 1), act: new ReLU() });
    expect(Object.keys(named.stateDict())).toEqual(['conv.weight', 'conv.bias']);
    const list = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(() => list.forward(x)).toThrow(/ModuleList does not implement forward/);
  });

  it('BasicBlock and Bottleneck have torchvision state-dict keys', () => {
    const basic = new BasicBlock(64, 128, {
      stride: 2,
      downsample: makeDownsample(64, 128, { stride: 2 }),
    });
    expect(Object.keys(basic.stateDict())).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
      'conv2.weight',
      'bn2.weight',
      'bn2.bias',
      'bn2.running_mean',
      'bn2.running_var',
      'bn2.num_batches_tracked',
      'downsample.0.weight',
      'downsample.1.weight',
      'downsample.1.bias',
      'downsample.1.running_mean',
      'downsample.1.running_var',
      'downsample.1.num_batches_tracked',
    ]);
    // torchvision: layer2.0 of resnet18 has 230,144 parameters.
    expect(basic.numParameters()).toBe(230_144);
    const bottle = new Bottleneck(256, 64);
    // torchvision: layer1.1 of resnet50 has 70,400 parameters.
    expect(bottle.numParameters()).toBe(70_400);
    expect(BasicBlock.expansion).toBe(1);
    expect(Bottleneck.expansion).toBe(4);
    expect(() => new BasicBlock(4, 4, { groups: 2 })).toThrow(/only groups=1 and baseWidth=64/);
    basic.dispose();
    bottle.dispose();
  });

  it('a block that changes shape without a downsample says so', () => {
    const b = new BasicBlock(4, 8, { stride: 2 });
    expect(() => b.forward(tf.zeros([1, 4, 4, 4]))).toThrow(
      'BasicBlock: the main path gives shape [1,2,2,8] but the shortcut [1,4,4,4]; a block that changes stride or channels needs a downsample (see makeDownsample)',
    );
  });

  it('ResidualBlock adds the identity by default', () => {
    const r = new ResidualBlock(new ReLU());
    const y = r.forward(tf.tensor4d([-1, 2], [1, 1, 2, 1]));
    expect([...y.dataSync()]).toEqual([-1, 4]);
    const withShortcut = new ResidualBlock(new Identity(), new Identity());
    expect([...withShortcut.forward(tf.tensor4d([3], [1, 1, 1, 1])).dataSync()]).toEqual([6]);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Generator } from '@resnet-ts/core';
import { BasicBlock, BatchNorm2d, Bottleneck, Conv2d } from '@resnet-ts/layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  RESNET_ARCHITECTURES,
  ResNet,
  type ResNetName,
  resnet,
  resnet18,
  resnet50,
} from './resnet.js';
import { torchShapes } from './torch-interop.js';

const keysFixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/torchvision-keys.json', import.meta.url), 'utf8'),
) as {
  torch: string;
  models: Record<
    string,
    { numParameters: number; numKeys?: number; sha256?: string; keys?: Array<[string, number[]]> }
  >;
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The lines the fixture script hashes: `key [d0, d1, ...]` in state-dict order. */
function keyLines(model: ResNet): string {
  return torchShapes(model)
    .map(([k, s]) => `${k} [${s.join(', ')}]`)
    .join('\n');
}

describe('the ResNet family', () => {
  const depths: ResNetName[] = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'];
  const counts: Record<string, number> = {
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    resnet50: 25_557_032,
    resnet101: 44_549_160,
    resnet152: 60_192_808,
  };

  for (const name of depths) {
    it(`${name} has torchvision's parameter count and state-dict keys and shapes`, () => {
      const before = tf.memory().numTensors;
      const model = resnet(name, { generator: new Generator(0) });
      try {
        expect(model.numParameters()).toBe(counts[name]);
        expect(model.numParameters()).toBe(keysFixture.models[name].numParameters);
        const lines = keyLines(model);
        expect(lines.split('\n').length).toBe(keysFixture.models[name].numKeys);
        const full = keysFixture.models[name].keys;
        if (full) expect(torchShapes(model)).toEqual(full);
        expect(createHash('sha256').update(lines).digest('hex')).toBe(
          keysFixture.models[name].sha256,
        );
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('has one table row per builder, with torchvision block and depths', () => {
    expect(RESNET_ARCHITECTURES.resnet18).toEqual({ block: BasicBlock, layers: [2, 2, 2, 2] });
    expect(RESNET_ARCHITECTURES.resnet101).toEqual({ block: Bottleneck, layers: [3, 4, 23, 3] });
  });

  it('resnet18_w16 is ResNet-18 at a quarter of the width, as PyTorch builds it with 16 channels', () => {
    const model = resnet('resnet18_w16', { numClasses: 1000, generator: new Generator(0) });
    expect(model.conv1.weight.shape).toEqual([7, 7, 3, 16]);
    expect(model.fc.weight.shape).toEqual([128, 1000]);
    // torchvision's ResNet(BasicBlock, [2, 2, 2, 2]) with inplanes and stage planes 16, 32,
    // 64, 128 (tools/shapes/fine-tune-torch.py): 831,096 parameters, 122 state-dict entries.
    expect(model.numParameters()).toBe(831_096);
    expect(Object.keys(model.stateDict())).toHaveLength(122);
    model.dispose();
    expect(() => resnet18({ width: 0 })).toThrow(/width must be an integer >= 1, got 0/);
  });

  it("resnext50_32x4d's parameter count equals torchvision's", () => {
    const model = resnet('resnext50_32x4d', { generator: new Generator(0) });
    expect(model.numParameters()).toBe(keysFixture.models.resnext50_32x4d.numParameters);
    model.dispose();
  });

  it('numClasses and the cifar stem change only the head and the stem', () => {
    const model = resnet18({ numClasses: 10, stem: 'cifar', generator: new Generator(1) });
    // 7×7×3×64 stem weights become 3×3×3×64; fc 512×1000+1000 becomes 512×10+10.
    expect(model.numParameters()).toBe(11_689_512 - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64 - 513 * 990);
    expect(model.maxpool.typeName).toBe('Identity');
    model.eval();
    const y = tf.tidy(() => model.forward(tf.zeros([2, 8, 8, 3])));
    expect(y.shape).toEqual([2, 10]);
    y.dispose();
    model.dispose();
  });

  it('initialises as torchvision: kaiming normal fan_out convs, BatchNorm 1 and 0', () => {
    // One block per stage keeps the test fast; every kind of conv and BatchNorm is there.
    const model = new ResNet(Bottleneck, [1, 1, 1, 1], {
      numClasses: 10,
      generator: new Generator(2),
    });
    for (const m of model.modules()) {
      if (m instanceof Conv2d) {
        const [kh, kw, , out] = m.weight.shape;
        const std = Math.sqrt(2 / (out * kh * kw));
        const v = m.weight.dataSync() as Float32Array;
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
        // A sample standard deviation is within a few σ/√(2n) of the true one.
        expect(Math.abs(sd - std)).toBeLessThan((5 * std) / Math.sqrt(2 * v.length) + 1e-7);
      }
      if (m instanceof BatchNorm2d) {
        expect(m.weight!.dataSync().every((x) => x === 1)).toBe(true);
        expect(m.bias!.dataSync().every((x) => x === 0)).toBe(true);
      }
    }
    model.dispose();
  });

  it('zeroInitResidual zeroes the last BatchNorm of each residual branch only', () => {
    const basic = new ResNet(BasicBlock, [1, 1, 1, 2], {
      numClasses: 10,
      zeroInitResidual: true,
      generator: new Generator(3),
    });
    const sd = basic.stateDict();
    expect(sd['layer1.0.bn2.weight'].dataSync().every((x) => x === 0)).toBe(true);
    expect(sd['layer4.1.bn2.weight'].dataSync().every((x) => x === 0)).toBe(true);
    expect(sd['layer1.0.bn1.weight'].dataSync().every((x) => x === 1)).toBe(true);
    expect(sd['layer2.0.downsample.1.weight'].dataSync().every((x) => x === 1)).toBe(true);
    basic.dispose();
    const bottleneck = new ResNet(Bottleneck, [1, 1, 6, 1], {
      numClasses: 10,
      zeroInitResidual: true,
      generator: new Generator(3),
    });
    const sd50 = bottleneck.stateDict();
    expect(sd50['layer3.5.bn3.weight'].dataSync().every((x) => x === 0)).toBe(true);
    expect(sd50['layer3.5.bn2.weight'].dataSync().every((x) => x === 1)).toBe(true);
    bottleneck.dispose();
  });

  it('the same generator seed gives the same weights', () => {
    const a = new ResNet(BasicBlock, [1, 1, 2, 1], { numClasses: 10, generator: new Generator(7) });
    const b = new ResNet(BasicBlock, [1, 1, 2, 1], { numClasses: 10, generator: new Generator(7) });
    expect(a.stateDict()['layer3.1.conv2.weight'].dataSync()).toEqual(
      b.stateDict()['layer3.1.conv2.weight'].dataSync(),
    );
    expect(a.stateDict()['fc.weight'].dataSync()).toEqual(b.stateDict()['fc.weight'].dataSync());
    a.dispose();
    b.dispose();
  });

  it('rejects bad options before allocating anything, naming the value and what was expected', () => {
    const before = tf.memory().numTensors;
    expect(() => new ResNet(BasicBlock, [2, 2, 2])).toThrow(/four block counts >= 1.*\[2,2,2\]/);
    expect(() => resnet18({ stem: 'tiny' as 'cifar' })).toThrow(
      /'imagenet' or 'cifar', got "tiny"/,
    );
    expect(() => resnet('resnet19' as ResNetName)).toThrow(/unknown architecture "resnet19"/);
    // As torchvision, BasicBlock has no grouped or widened variant.
    expect(() => resnet18({ groups: 2 })).toThrow(
      'ResNet: BasicBlock supports only groups=1 and widthPerGroup=64 (as torchvision), got groups=2, widthPerGroup=64',
    );
    expect(() => resnet50({ numClasses: 0 })).toThrow(
      'ResNet: numClasses must be an integer >= 1, got 0',
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  calculateFanInAndFanOut,
  calculateGain,
  constant,
  kaimingNormal,
  kaimingUniform,
  Linear,
  normal,
  ones,
  uniform,
  xavierUniform,
  zeros,
} from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function stats(v: tf.Tensor): { mean: number; std: number; min: number; max: number } {
  const d = Array.from(v.dataSync());
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  return { mean, std, min: Math.min(...d), max: Math.max(...d) };
}

describe('torch.nn.init equivalents', () => {
  it('fans of HWIO and [in, out] weights equal PyTorch fans of OIHW and [out, in]', () => {
    // PyTorch: Conv2d(16, 32, 3).weight is [32, 16, 3, 3]: fan_in 144, fan_out 288.
    expect(calculateFanInAndFanOut([3, 3, 16, 32])).toEqual({ fanIn: 144, fanOut: 288 });
    // PyTorch: Linear(10, 4).weight is [4, 10]: fan_in 10, fan_out 4.
    expect(calculateFanInAndFanOut([10, 4])).toEqual({ fanIn: 10, fanOut: 4 });
    expect(() => calculateFanInAndFanOut([5])).toThrow(/at least 2 dimensions, got shape \[5\]/);
  });

  it('gains are PyTorch’s', () => {
    expect(calculateGain('relu')).toBeCloseTo(Math.SQRT2, 12);
    expect(calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(calculateGain('conv2d')).toBe(1);
  });

  it("kaimingNormal(fan_out, relu) — torchvision's ResNet init — has std √2/√fan_out", () => {
    const w = tf.variable(tf.zeros([3, 3, 64, 128]));
    kaimingNormal(w, { mode: 'fan_out', nonlinearity: 'relu', generator: new Generator(1) });
    const s = stats(w);
    const want = Math.SQRT2 / Math.sqrt(128 * 9);
    expect(Math.abs(s.std / want - 1)).toBeLessThan(0.02);
    expect(Math.abs(s.mean)).toBeLessThan(0.02 * want);
    w.dispose();
  });

  it('kaimingUniform fills U(-b, b) with b = gain·√(3/fan_in)', () => {
    const w = tf.variable(tf.zeros([3, 3, 32, 64]));
    kaimingUniform(w, { generator: new Generator(2) });
    const b = calculateGain('leaky_relu', 0) * Math.sqrt(3 / (9 * 32));
    const s = stats(w);
    expect(s.max).toBeLessThanOrEqual(b);
    expect(s.min).toBeGreaterThanOrEqual(-b);
    expect(Math.abs(s.std / (b / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    w.dispose();
  });

  it('Linear defaults to bounds 1/√in_features for weight and bias', () => {
    const l = new Linear(400, 50, { generator: new Generator(3) });
    const b = 1 / Math.sqrt(400);
    for (const p of [l.weight, l.bias!]) {
      const s = stats(p);
      expect(s.max).toBeLessThanOrEqual(b);
      expect(s.min).toBeGreaterThanOrEqual(-b);
    }
    expect(stats(l.weight).max).toBeGreaterThan(0.95 * b);
    l.dispose();
  });

  it('uniform, normal, constant, zeros, ones, xavier fill in place without leaking', () => {
    const v = tf.variable(tf.zeros([50, 40]));
    const before = tf.memory().numTensors;
    expect(uniform(v, 2, 3, { generator: new Generator(4) })).toBe(v);
    expect(stats(v).min).toBeGreaterThanOrEqual(2);
    normal(v, 5, 0.5, { generator: new Generator(5) });
    expect(Math.abs(stats(v).mean - 5)).toBeLessThan(0.05);
    constant(v, 0.25);
    expect(stats(v)).toEqual({ mean: 0.25, std: 0, min: 0.25, max: 0.25 });
    ones(v);
    expect(stats(v).min).toBe(1);
    zeros(v);
    expect(stats(v).max).toBe(0);
    xavierUniform(v, { generator: new Generator(6) });
    expect(stats(v).max).toBeLessThanOrEqual(Math.sqrt(6 / 90));
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });

  it('the same generator seed gives the same weights', () => {
    const a = tf.variable(tf.zeros([4, 5]));
    const b = tf.variable(tf.zeros([4, 5]));
    kaimingUniform(a, { generator: new Generator(9) });
    kaimingUniform(b, { generator: new Generator(9) });
    expect([...a.dataSync()]).toEqual([...b.dataSync()]);
    tf.dispose([a, b]);
  });
});

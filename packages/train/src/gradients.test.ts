import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import fixture from './__fixtures__/clip.json' with { type: 'json' };
import { clipGradNorm, clipGradValue, GradientAccumulator, valueAndGrads } from './index.js';

function grads(): tf.Tensor[] {
  return fixture.grads.map((g, i) => tf.tensor(g, fixture.shapes[i]));
}

function expectClose(got: ArrayLike<number>, want: number[], tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i])).toBeLessThan(tol * Math.max(1, Math.abs(want[i])));
  }
}

describe('gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('valueAndGrads returns the value and aligned gradients, zeros for unused parameters', () => {
    const a = tf.variable(tf.tensor([1, 2, 3]));
    const b = tf.variable(tf.tensor([[4]]));
    const unused = tf.variable(tf.tensor([7, 8]));
    const before = tf.memory().numTensors;
    const { value, grads: g } = valueAndGrads(
      () => tf.add(tf.sum(tf.square(a)), tf.sum(tf.mul(b, 3))) as tf.Scalar,
      [a, unused, b],
    );
    expect(value.dataSync()[0]).toBeCloseTo(14 + 12, 5);
    expect(Array.from(g[0].dataSync())).toEqual([2, 4, 6]);
    expect(Array.from(g[1].dataSync())).toEqual([0, 0]);
    expect(g[1].shape).toEqual([2]);
    expect(Array.from(g[2].dataSync())).toEqual([3]);
    tf.dispose([value, ...g]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => valueAndGrads(() => tf.add(a, 1) as unknown as tf.Scalar, [a])).toThrow(
      /scalar.*\[3\]/,
    );
    tf.dispose([a, b, unused]);
  });

  for (const c of fixture.norm) {
    it(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}) matches torch`, () => {
      const g = grads();
      const normType =
        c.normType === 'Infinity' ? Number.POSITIVE_INFINITY : (c.normType as number);
      const { grads: clipped, totalNorm } = clipGradNorm(g, c.maxNorm, normType);
      expectClose(totalNorm.dataSync(), [c.totalNorm as number]);
      clipped.forEach((t, i) => {
        expectClose(t.dataSync(), c.clipped[i]);
      });
      tf.dispose([...g, ...clipped, totalNorm]);
    });
  }

  it('clipGradValue matches torch', () => {
    const g = grads();
    const clipped = clipGradValue(g, fixture.value.clipValue);
    clipped.forEach((t, i) => {
      expectClose(t.dataSync(), fixture.value.clipped[i]);
    });
    tf.dispose([...g, ...clipped]);
  });

  it('GradientAccumulator sums and averages without leaking', () => {
    const acc = new GradientAccumulator();
    const before = tf.memory().numTensors;
    for (let k = 1; k <= 3; k++) {
      const g = [tf.fill([2], k), tf.fill([1], 10 * k)];
      acc.add(g);
      tf.dispose(g);
    }
    const mean = acc.mean();
    const sum = acc.sum();
    expect(Array.from(mean[0].dataSync())).toEqual([2, 2]);
    expect(Array.from(sum[1].dataSync())).toEqual([60]);
    expect(acc.count).toBe(3);
    tf.dispose([...mean, ...sum]);
    acc.reset();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => acc.mean()).toThrow(/no gradients/);
  });
});

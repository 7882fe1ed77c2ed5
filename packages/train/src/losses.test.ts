import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import fixture from './__fixtures__/losses.json' with { type: 'json' };
import { bceWithLogits, crossEntropy, mseLoss, nllLoss } from './index.js';

type Case = (typeof fixture.cases)[number];
const FNS: Record<string, (x: tf.Tensor, t: tf.Tensor, o: any) => tf.Tensor> = {
  crossEntropy,
  nllLoss,
  mseLoss,
  bceWithLogits,
};

function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}

function options(c: Case): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options };
  for (const k of ['weight', 'posWeight'])
    if (Array.isArray(o[k])) o[k] = tf.tensor(o[k] as number[]);
  return o;
}

let largest = 0;
function expectClose(got: ArrayLike<number>, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    largest = Math.max(largest, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
    expect(Math.abs(got[i] - want[i]), `${what}[${i}]: ${got[i]} vs torch ${want[i]}`).toBeLessThan(
      1e-5 * Math.max(1, Math.abs(want[i])),
    );
  }
}

describe(`losses match torch ${fixture.torch}`, () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const c of fixture.cases) {
    it(`${c.loss} ${c.targetKind} target ${JSON.stringify(c.options)}`, () => {
      const before = tf.memory().numTensors;
      const x = tf.tensor(c.input as any);
      const target =
        c.targetKind === 'int'
          ? tf.tensor(c.target as any, undefined, 'int32')
          : tf.tensor(c.target as any);
      const opts = options(c);
      const fn = FNS[c.loss];
      const value = fn(x, target, opts);
      expectClose(value.dataSync(), flat(c.value), 'value');
      const cot = c.cotangent ? tf.tensor(c.cotangent as any) : undefined;
      const grad = tf.grad((xx: tf.Tensor) => {
        const l = fn(xx, target, opts);
        return cot ? tf.sum(tf.mul(l, cot)) : l;
      })(x);
      expectClose(grad.dataSync(), flat(c.grad), 'gradient');
      tf.dispose([
        x,
        target,
        value,
        grad,
        cot,
        ...Object.values(opts).filter((v) => v instanceof tf.Tensor),
      ] as tf.Tensor[]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('reports the largest deviation', () => {
    console.log(
      `largest loss/gradient deviation from torch ${fixture.torch}: ${largest.toExponential(2)}`,
    );
    expect(largest).toBeLessThan(1e-5);
  });

  it('explains shape and option mistakes', () => {
    const x = tf.zeros([4, 3]);
    expect(() => crossEntropy(x, tf.tensor([1, 2, 0], undefined, 'int32'))).toThrow(
      /shape \[4\].*got \[3\]/,
    );
    expect(() => crossEntropy(x, tf.zeros([4, 2]))).toThrow(
      /class probabilities.*\[4,3\].*got \[4,2\]/,
    );
    expect(() => crossEntropy(x, tf.zeros([4], 'int32'), { weight: tf.ones([2]) })).toThrow(
      /weight must have shape \[3\]/,
    );
    expect(() => crossEntropy(x, tf.zeros([4], 'int32'), { labelSmoothing: 1.5 })).toThrow(
      /labelSmoothing/,
    );
    expect(() => crossEntropy(x, tf.zeros([4], 'int32'), { reduction: 'avg' as any })).toThrow(
      /reduction/,
    );
    expect(() => bceWithLogits(x, tf.zeros([4]))).toThrow(/target must have the logits' shape/);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';

interface Case {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

const shapes: Array<[number[], number[]]> = [
  [
    [1, 5, 7],
    [1, 7, 3],
  ],
  [
    [3, 4, 6],
    [3, 6, 2],
  ],
  [
    [2, 1, 4, 6],
    [1, 3, 6, 5],
  ],
  [
    [1, 64, 33],
    [1, 33, 10],
  ],
  [
    [4, 1, 9],
    [1, 9, 1],
  ],
];

function transposed(shape: number[], t: boolean): number[] {
  if (!t) return shape;
  const s = shape.slice();
  [s[s.length - 2], s[s.length - 1]] = [s[s.length - 1], s[s.length - 2]];
  return s;
}

const cases: Case[] = [];
for (const [a, b] of shapes) {
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      cases.push({
        a: transposed(a, transposeA),
        b: transposed(b, transposeB),
        transposeA,
        transposeB,
      });
    }
  }
}

describe('BatchMatMul on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of cases) {
    it(`matches cpu for a ${c.a} b ${c.b} transposeA ${c.transposeA} transposeB ${c.transposeB}`, async () => {
      const gen = new Generator(c.a.length * 10 + c.b[c.b.length - 1]);
      const inputs = { a: randomInput(gen, c.a), b: randomInput(gen, c.b) };
      const attrs = { transposeA: c.transposeA, transposeB: c.transposeB };
      const want = await runOn('cpu', 'BatchMatMul', inputs, attrs);
      const got = await runOn('wasm', 'BatchMatMul', inputs, attrs);
      expect(got.shape).toEqual(want.shape);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    });
  }

  it('matches cpu through tf.matMul on rank-2 operands, transposed', async () => {
    const gen = new Generator(3);
    const inputs = { a: randomInput(gen, [6, 4]), b: randomInput(gen, [5, 6]) };
    const results: Float32Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const a = tf.tensor(inputs.a.values, inputs.a.shape);
      const b = tf.tensor(inputs.b.values, inputs.b.shape);
      const y = tf.matMul(a, b, true, true);
      expect(y.shape).toEqual([4, 5]);
      results.push(y.dataSync() as Float32Array);
      tf.dispose([a, b, y]);
    }
    expect(relativeError(results[1], results[0])).toBeLessThan(1e-5);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { type RawInput, randomInput, relativeError } from '../testing/kernel-compare.js';
import { setOwnWasmKernels } from './own-wasm.js';

interface Case {
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  /** Fraction of inputs set to zero, as after a relu, so that windows tie. */
  zeros: number;
  /** Fraction of inputs set to NaN or -Infinity, which the windows' maxima skip. */
  specials?: number;
}

const cases: Case[] = [
  { x: [4, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid', zeros: 0 },
  { x: [2, 8, 8, 5], filterSize: 2, strides: 2, pad: 'valid', zeros: 0.6 },
  { x: [2, 7, 7, 4], filterSize: 2, strides: 2, pad: 'valid', zeros: 0.3 },
  { x: [2, 8, 6, 11], filterSize: 2, strides: 2, pad: 'valid', zeros: 0.6 },
  { x: [3, 4, 4, 16], filterSize: 2, strides: 2, pad: 'valid', zeros: 0 },
  { x: [2, 7, 9, 4], filterSize: 2, strides: 2, pad: 'same', zeros: 0.3 },
  { x: [1, 9, 9, 2], filterSize: 3, strides: 2, pad: 'same', zeros: 0.5 },
  { x: [2, 8, 8, 3], filterSize: 3, strides: 2, pad: 1, zeros: 0 },
  { x: [2, 6, 7, 3], filterSize: 3, strides: 1, pad: 'same', zeros: 0.5 },
  { x: [1, 6, 8, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid', zeros: 0.2 },
  { x: [1, 5, 5, 1], filterSize: 5, strides: 1, pad: 'valid', zeros: 0 },
  { x: [2, 8, 8, 5], filterSize: 2, strides: 2, pad: 'valid', zeros: 0.2, specials: 0.5 },
  { x: [2, 9, 9, 6], filterSize: 3, strides: 2, pad: 1, zeros: 0.2, specials: 0.5 },
];

async function maxPoolGradOn(backend: string, c: Case, x: RawInput, dy: RawInput) {
  await tf.setBackend(backend);
  const input = tf.tensor(x.values, x.shape);
  const output = tf.maxPool(input as tf.Tensor4D, c.filterSize, c.strides, c.pad);
  const dyT = tf.tensor(dy.values, dy.shape);
  const dx = tf.engine().runKernel('MaxPoolGrad', { dy: dyT, input, output }, {
    filterSize: c.filterSize,
    strides: c.strides,
    pad: c.pad,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = dx.dataSync() as Float32Array;
  tf.dispose([input, output, dyT, dx]);
  return values;
}

describe('MaxPoolGrad on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const [route, own] of [
    ['', true],
    [', JavaScript loops', false],
  ] as const) {
    for (const c of cases) {
      it(`matches cpu${route} for x ${c.x} window ${c.filterSize} strides ${c.strides} pad ${c.pad} zeros ${c.zeros} NaN and -Infinity ${c.specials ?? 0}`, async () => {
        const gen = new Generator(c.x[1] * 100 + c.x[3]);
        const x = randomInput(gen, c.x);
        for (let i = 0; i < x.values.length; i++) {
          if (gen.random() < c.zeros) x.values[i] = 0;
          else if (gen.random() < (c.specials ?? 0)) {
            x.values[i] = gen.random() < 0.5 ? Number.NaN : Number.NEGATIVE_INFINITY;
          }
        }
        const info = backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
        const dy = randomInput(gen, info.outShape);
        const want = await maxPoolGradOn('cpu', c, x, dy);
        setOwnWasmKernels(own);
        const got = await maxPoolGradOn('wasm', c, x, dy);
        setOwnWasmKernels(true);
        expect(relativeError(got, want)).toBeLessThan(1e-6);
      });
    }
  }
});

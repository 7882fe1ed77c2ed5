import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const cases: Case[] = [
  { x: [2, 8, 8, 4], filter: [3, 3, 4, 1], strides: 1, pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  { x: [1, 7, 6, 5], filter: [3, 3, 5, 1], strides: 2, pad: 'valid' },
  { x: [3, 8, 8, 2], filter: [5, 5, 2, 3], strides: 1, pad: 2 },
  { x: [1, 6, 9, 4], filter: [2, 3, 4, 2], strides: [1, 2], pad: 'valid' },
  { x: [2, 4, 4, 6], filter: [1, 1, 6, 1], strides: 1, pad: 'valid' },
];

describe('depthwise convolution gradients on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of cases) {
    const label = `x ${c.x} filter ${c.filter} strides ${c.strides} pad ${c.pad}`;
    const info = backend_util.computeConv2DInfo(
      c.x,
      c.filter,
      c.strides,
      1,
      c.pad,
      undefined,
      true,
    );
    const attrs = { strides: c.strides, pad: c.pad, dilations: 1 };

    it(`DepthwiseConv2dNativeBackpropInput matches cpu for ${label}`, async () => {
      const gen = new Generator(c.x[1] * 31 + c.filter[3]);
      const filter = randomInput(gen, c.filter);
      const dy = randomInput(gen, info.outShape);
      const name = 'DepthwiseConv2dNativeBackpropInput';
      const at = { ...attrs, inputShape: c.x };
      const want = await runOn('cpu', name, { dy, filter }, at);
      const got = await runOn('wasm', name, { dy, filter }, at);
      expect(got.shape).toEqual(c.x);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    });

    it(`DepthwiseConv2dNativeBackpropFilter matches cpu for ${label}`, async () => {
      const gen = new Generator(c.x[2] * 17 + c.filter[3]);
      const x = randomInput(gen, c.x);
      const dy = randomInput(gen, info.outShape);
      const name = 'DepthwiseConv2dNativeBackpropFilter';
      const at = { ...attrs, filterShape: c.filter };
      const want = await runOn('cpu', name, { x, dy }, at);
      const got = await runOn('wasm', name, { x, dy }, at);
      expect(got.shape).toEqual(c.filter);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    });
  }

  it('trains through tf.grads of a depthwise convolution, as the cpu backend does', async () => {
    const gen = new Generator(3);
    const x = randomInput(gen, [2, 6, 6, 3]);
    const w = randomInput(gen, [3, 3, 3, 2]);
    const grads: Float32Array[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      grads.push(
        tf.tidy(() => {
          const f = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
          const [dx, dw] = tf.grads(f)([
            tf.tensor(x.values, x.shape),
            tf.tensor(w.values, w.shape),
          ]);
          return [dx.dataSync() as Float32Array, dw.dataSync() as Float32Array];
        }),
      );
    }
    expect(relativeError(grads[1][0], grads[0][0])).toBeLessThan(1e-5);
    expect(relativeError(grads[1][1], grads[0][1])).toBeLessThan(1e-5);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import './index.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { conv2dBias } from './conv2d-bias.js';
import { ValueError } from './errors.js';
import { Generator } from './generator.js';

const gen = new Generator(7);
const random = (shape: number[]) => gen.uniformTensor(shape, -1, 1);

const cases = [
  { x: [2, 7, 6, 3], f: [3, 3, 3, 5], strides: 1, pad: 'same' as const },
  { x: [1, 9, 8, 4], f: [3, 2, 4, 6], strides: [2, 1] as [number, number], pad: 'valid' as const },
  {
    x: [3, 5, 5, 2],
    f: [1, 1, 2, 3],
    strides: 2,
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ] as [[0, 0], [number, number], [number, number], [0, 0]],
  },
];

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('conv2dBias', () => {
  for (const backend of ['cpu', 'wasm']) {
    for (const c of cases) {
      it(`matches tfjs's fused.conv2d and its gradients on ${backend}: x ${c.x}, filter ${c.f}, strides ${c.strides}`, async () => {
        await tf.setBackend(backend);
        const x = random(c.x) as tf.Tensor4D;
        const f = random(c.f) as tf.Tensor4D;
        const b = random([c.f[3]]) as tf.Tensor1D;
        const dy = tf.tidy(() =>
          tf.fused.conv2d({ x, filter: f, bias: b, strides: c.strides, pad: c.pad }),
        );
        const w = random(dy.shape);
        const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, w));
        const ours = tf.grads((xi: tf.Tensor, fi: tf.Tensor, bi: tf.Tensor) =>
          loss(
            conv2dBias(xi as tf.Tensor4D, fi as tf.Tensor4D, bi as tf.Tensor1D, c.strides, c.pad),
          ),
        )([x, f, b]);
        const theirs = tf.grads((xi: tf.Tensor, fi: tf.Tensor, bi: tf.Tensor) =>
          loss(
            tf.fused.conv2d({
              x: xi as tf.Tensor4D,
              filter: fi as tf.Tensor4D,
              bias: bi,
              strides: c.strides,
              pad: c.pad,
            }),
          ),
        )([x, f, b]);
        const y = conv2dBias(x, f, b, c.strides, c.pad);
        expect(y.shape).toEqual(dy.shape);
        expect(Array.from(y.dataSync())).toEqual(Array.from(dy.dataSync()));
        for (let i = 0; i < 3; i++) {
          expect(ours[i].shape).toEqual(theirs[i].shape);
          const a = ours[i].dataSync();
          const e = theirs[i].dataSync();
          for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(e[j], 4);
        }
        tf.dispose([x, f, b, dy, w, y, ...ours, ...theirs]);
      });
    }
  }

  it('computes no input gradient when only the filter and bias are differentiated', async () => {
    await tf.setBackend('cpu');
    const x = random([2, 6, 6, 3]) as tf.Tensor4D;
    const f = tf.variable(random([3, 3, 3, 4]));
    const b = tf.variable(random([4]));
    const ran = async (conv: () => tf.Tensor) => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(conv()) as tf.Scalar, [f, b]);
        return [value, grads.f ?? Object.values(grads)[0]];
      });
      return info.kernelNames;
    };
    const ours = await ran(() => conv2dBias(x, f as tf.Tensor4D, b as tf.Tensor1D, 1, 'same'));
    const theirs = await ran(() =>
      tf.fused.conv2d({ x, filter: f as tf.Tensor4D, bias: b, strides: 1, pad: 'same' }),
    );
    expect(ours).toContain('Conv2DBackpropFilter');
    expect(ours).not.toContain('Conv2DBackpropInput');
    expect(theirs).toContain('Conv2DBackpropInput');
    tf.dispose([x, f, b]);
  });

  it('rejects a bias that is not one value per output channel, naming the shapes', () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 5]) as tf.Tensor4D;
    expect(() => conv2dBias(x, f, tf.zeros([4]) as tf.Tensor1D, 1, 'same')).toThrow(ValueError);
    expect(() => conv2dBias(x, f, tf.zeros([4]) as tf.Tensor1D, 1, 'same')).toThrow(
      'conv2dBias: bias must have shape [5], got [4]',
    );
    expect(() =>
      conv2dBias(x, tf.zeros([3, 3, 3, 5]) as tf.Tensor4D, tf.zeros([5]) as tf.Tensor1D, 1, 'same'),
    ).toThrow(/x must be NHWC and filter HWIO .* got x \[1,4,4,2\] and filter \[3,3,3,5\]/);
  });
});

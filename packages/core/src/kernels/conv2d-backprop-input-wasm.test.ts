import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';
import { setOwnWasmKernels } from './own-wasm.js';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const fixed: Case[] = [
  { x: [4, 8, 8, 3], filter: [3, 3, 3, 8], strides: 1, pad: 'same' },
  // Eight or more input channels take the flipped-convolution route at stride 1.
  { x: [2, 7, 6, 9], filter: [3, 3, 9, 4], strides: 1, pad: 'same' },
  { x: [1, 6, 7, 8], filter: [2, 3, 8, 5], strides: 1, pad: 1 },
  {
    x: [2, 6, 5, 12],
    filter: [3, 3, 12, 3],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 8, 8, 8], filter: [3, 3, 8, 8], strides: 1, pad: 'valid' },
  { x: [1, 7, 9, 5], filter: [3, 3, 5, 4], strides: 2, pad: 'same' },
  { x: [2, 8, 8, 4], filter: [3, 3, 4, 6], strides: 2, pad: 1 },
  { x: [2, 9, 7, 4], filter: [3, 2, 4, 6], strides: [2, 1], pad: 'valid' },
  { x: [3, 6, 6, 8], filter: [1, 1, 8, 5], strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 6], filter: [1, 1, 6, 4], strides: 2, pad: 'valid' },
  { x: [2, 5, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
  { x: [1, 6, 6, 2], filter: [3, 3, 2, 2], strides: 1, pad: 2 },
  {
    x: [2, 6, 5, 2],
    filter: [3, 3, 2, 3],
    strides: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    x: [2, 6, 5, 2],
    filter: [3, 3, 2, 3],
    strides: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 11, 11, 3], filter: [7, 7, 3, 4], strides: 2, pad: 3 },
  // Stride 1 but far more weights than dy elements (deep layers on tiny maps): col2im.
  { x: [1, 2, 2, 16], filter: [3, 3, 16, 24], strides: 1, pad: 'same' },
  { x: [2, 3, 3, 12], filter: [3, 3, 12, 20], strides: 1, pad: 1 },
];

function randomCase(gen: Generator): Case {
  const f = [1, 2, 3, 5][gen.randint(4)];
  const g = [1, 3][gen.randint(2)];
  const pads: Pad[] = ['same', 'valid', gen.randint(2)];
  const channels = 1 + gen.randint(9);
  return {
    x: [1 + gen.randint(3), f + 2 + gen.randint(7), g + 2 + gen.randint(7), channels],
    filter: [f, g, channels, 1 + gen.randint(9)],
    strides: [1 + gen.randint(2), 1 + gen.randint(2)],
    pad: pads[gen.randint(pads.length)],
  };
}

describe('Conv2DBackpropInput on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  const gen = new Generator(11);
  const random = Array.from({ length: 20 }, () => randomCase(gen));

  for (const [route, own] of [
    ['', true],
    [', JavaScript loops', false],
  ] as const) {
    for (const c of [...fixed, ...random]) {
      it(`matches cpu${route} for x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
        setOwnWasmKernels(own);
        const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
        const data = new Generator(c.x.reduce((a, b) => a + b, 1));
        const inputs = {
          dy: randomInput(data, info.outShape),
          filter: randomInput(data, c.filter),
        };
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
        const want = await runOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
        const got = await runOn('wasm', 'Conv2DBackpropInput', inputs, attrs);
        setOwnWasmKernels(true);
        expect(got.shape).toEqual(c.x);
        expect(relativeError(got.values, want.values)).toBeLessThan(1e-4);
      });
    }
  }

  it('releases every intermediate buffer on both routes', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    for (const strides of [1, 2]) {
      const dy = tf.randomUniform([2, 8 / strides, 8 / strides, 4]);
      const filter = tf.randomUniform([3, 3, 8, 4]);
      const before = backend.numDataIds();
      const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, {
        strides,
        pad: 'same',
        dataFormat: 'NHWC',
        inputShape: [2, 8, 8, 8],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(backend.numDataIds()).toBe(before + 1);
      tf.dispose([dx, dy, filter]);
    }
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';
import { setBackpropFilterChunk } from './conv2d-backprop-filter-wasm.js';
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
  { x: [1, 7, 9, 5], filter: [3, 3, 5, 4], strides: 2, pad: 'same' },
  { x: [2, 9, 7, 4], filter: [3, 2, 4, 6], strides: [2, 1], pad: 'valid' },
  { x: [3, 6, 6, 8], filter: [1, 1, 8, 5], strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 6], filter: [1, 1, 6, 4], strides: 2, pad: 'valid' },
  { x: [2, 5, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: 1 },
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
  { x: [2, 11, 11, 3], filter: [7, 7, 3, 4], strides: 2, pad: 3 },
];

function randomCase(gen: Generator): Case {
  const f = [1, 2, 3, 5][gen.randint(4)];
  const g = [1, 3][gen.randint(2)];
  const s = 1 + gen.randint(2);
  const pads: Pad[] = ['same', 'valid', gen.randint(2)];
  return {
    x: [1 + gen.randint(3), f + 2 + gen.randint(7), g + 2 + gen.randint(7), 1 + gen.randint(9)],
    filter: [f, g, 0, 1 + gen.randint(9)],
    strides: [s, 1 + gen.randint(2)],
    pad: pads[gen.randint(pads.length)],
  };
}

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  const gen = new Generator(7);
  const random = Array.from({ length: 20 }, () => randomCase(gen));
  for (const c of random) c.filter[2] = c.x[3];

  for (const [chunking, chunk, own] of [
    ['whole batch', 1 << 30, true],
    ['one image per chunk', 1, true],
    ['whole batch, JavaScript loops', 1 << 30, false],
    ['one image per chunk, JavaScript loops', 1, false],
  ] as const) {
    for (const c of [...fixed, ...random]) {
      it(`matches cpu (${chunking}) for x ${c.x} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)}`, async () => {
        setBackpropFilterChunk(chunk);
        setOwnWasmKernels(own);
        const info = backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
        const data = new Generator(c.x.reduce((a, b) => a + b, 0));
        const inputs = { x: randomInput(data, c.x), dy: randomInput(data, info.outShape) };
        const attrs = {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          filterShape: c.filter,
        };
        const want = await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
        const got = await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
        setBackpropFilterChunk(262144);
        setOwnWasmKernels(true);
        expect(got.shape).toEqual(c.filter);
        expect(relativeError(got.values, want.values)).toBeLessThan(1e-4);
      });
    }
  }

  it('releases every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomUniform([2, 6, 6, 3]) as tf.Tensor4D;
    const dy = tf.randomUniform([2, 6, 6, 4]) as tf.Tensor4D;
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: 1,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape: [3, 3, 3, 4],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
    expect(backend.numDataIds()).toBe(before + 1);
    dw.dispose();
    x.dispose();
    dy.dispose();
  });
});

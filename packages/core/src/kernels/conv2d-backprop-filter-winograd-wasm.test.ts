import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { randomInput, relativeError, runOn } from '../testing/kernel-compare.js';
import {
  backpropFilterTile,
  setWinogradBackpropFilter,
  winogradBackpropFilterApplies,
} from './conv2d-backprop-filter-winograd-wasm.js';
import { setWinogradConv, type WinogradTile } from './conv2d-winograd-wasm.js';
import { useThreadedWasm } from './threaded-wasm-node.js';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  pad: Pad;
}

const fixed: Case[] = [
  { x: [1, 5, 7, 128], filter: [3, 3, 128, 128], pad: 'same' },
  { x: [2, 8, 8, 130], filter: [3, 3, 130, 129], pad: 'valid' },
  { x: [3, 9, 6, 131], filter: [3, 3, 131, 133], pad: 1 },
  { x: [1, 6, 5, 128], filter: [3, 3, 128, 140], pad: 2 },
  {
    x: [2, 7, 6, 128],
    filter: [3, 3, 128, 128],
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [4, 4, 4, 256], filter: [3, 3, 256, 128], pad: 'same' },
  { x: [1, 3, 3, 128], filter: [3, 3, 128, 128], pad: 'valid' },
];

// On one thread the own product kernel runs from Winograd's forward bounds (16 channels).
const narrow: Case[] = [
  { x: [2, 7, 9, 16], filter: [3, 3, 16, 32], pad: 'same' },
  { x: [3, 8, 5, 33], filter: [3, 3, 33, 18], pad: 1 },
  { x: [1, 9, 9, 64], filter: [3, 3, 64, 64], pad: 'valid' },
  {
    x: [2, 6, 7, 21],
    filter: [3, 3, 21, 27],
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
];

function randomCase(gen: Generator): Case {
  const ci = [128, 129, 160][gen.randint(3)];
  const co = [128, 131, 144][gen.randint(3)];
  const pads: Pad[] = ['same', 'valid', gen.randint(3)];
  return {
    x: [1 + gen.randint(2), 3 + gen.randint(7), 3 + gen.randint(7), ci],
    filter: [3, 3, ci, co],
    pad: pads[gen.randint(pads.length)],
  };
}

const gen = new Generator(29);
const cases = [...fixed, ...Array.from({ length: 12 }, () => randomCase(gen))];

/** F(4x4, 3x3)'s larger transform constants round more (as in the forward convolution). */
const tolerance = { 2: 1e-5, 4: 4e-5 };

function checkCases(label: string, list: Case[], threads: number, tile: WinogradTile) {
  for (const c of list) {
    it(`${label}F(${tile}x${tile}, 3x3) matches cpu for x ${c.x} filter ${c.filter} pad ${JSON.stringify(c.pad)}`, async () => {
      const info = backend_util.computeConv2DInfo(c.x, c.filter, 1, 1, c.pad);
      expect(winogradBackpropFilterApplies(info, threads)).toBe(true);
      const data = new Generator(c.x.reduce((a, b) => a * 5 + b, 3));
      const inputs = { x: randomInput(data, c.x), dy: randomInput(data, info.outShape) };
      const attrs = { strides: 1, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
      const want = await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
      setWinogradBackpropFilter(true, tile);
      const got = await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
      setWinogradBackpropFilter(false);
      const stock = await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
      setWinogradBackpropFilter(true);
      expect(got.shape).toEqual(c.filter);
      expect(relativeError(got.values, want.values)).toBeLessThan(tolerance[tile]);
      // Winograd rounds differently from the patch-matrix product: proof that it ran.
      expect(got.values).not.toEqual(stock.values);
    });
  }
}

describe('Winograd Conv2DBackpropFilter on wasm', () => {
  it('applies where the forward Winograd does, on one thread and on threads', () => {
    const info = (ci: number, co: number, strides = 1) =>
      backend_util.computeConv2DInfo([32, 32, 32, ci], [3, 3, ci, co], strides, 1, 'same');
    expect(winogradBackpropFilterApplies(info(16, 32))).toBe(true);
    expect(winogradBackpropFilterApplies(info(8, 16))).toBe(false);
    expect(winogradBackpropFilterApplies(info(64, 64, 2))).toBe(false);
    expect(winogradBackpropFilterApplies(info(128, 128), 2)).toBe(true);
    expect(winogradBackpropFilterApplies(info(16, 32), 2)).toBe(true);
    expect(winogradBackpropFilterApplies(info(8, 16), 2)).toBe(false);
  });

  for (const tile of [2, 4] as const) checkCases('', [...narrow, ...cases], 1, tile);

  it('uses 4x4 dy tiles where they save products, 2x2 on small or odd maps', () => {
    const info = (h: number, w: number) =>
      backend_util.computeConv2DInfo([32, h, w, 64], [3, 3, 64, 64], 1, 1, 'same');
    expect(backpropFilterTile(info(32, 32))).toBe(4);
    expect(backpropFilterTile(info(8, 8))).toBe(4);
    expect(backpropFilterTile(info(4, 4))).toBe(4);
    expect(backpropFilterTile(info(5, 5))).toBe(2);
    expect(backpropFilterTile(info(2, 2))).toBe(2);
  });

  for (const tile of [2, 4] as const)
    it(`F(${tile}x${tile}, 3x3) releases every intermediate buffer`, async () => {
      setWinogradBackpropFilter(true, tile);
      await tf.setBackend('wasm');
      const backend = tf.backend() as unknown as { numDataIds(): number };
      const x = tf.randomUniform([2, 7, 7, 128]);
      const dy = tf.randomUniform([2, 7, 7, 128]);
      const before = backend.numDataIds();
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [3, 3, 128, 128],
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
      expect(backend.numDataIds()).toBe(before + 1);
      tf.dispose([x, dy, dw]);
      setWinogradBackpropFilter(true);
    });
});

describe('Winograd Conv2DBackpropFilter on threaded wasm', () => {
  afterAll(() => {
    setWinogradConv(true);
    tf.removeBackend('wasm');
  });

  it('starts the threaded wasm build', async () => {
    expect(await useThreadedWasm({ threads: 2 })).toBe(2);
    // Small shapes go through Winograd on threads too.
    setWinogradConv(true, { minThreadedProduct: 0 });
  });

  for (const tile of [2, 4] as const) checkCases('threaded: ', cases, 2, tile);
});

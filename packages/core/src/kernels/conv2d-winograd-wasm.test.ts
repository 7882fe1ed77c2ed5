import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { type RawInput, randomInput, relativeError, runOn } from '../testing/kernel-compare.js';
import {
  setWinogradConv,
  type WinogradOptions,
  winogradApplies,
  winogradTile,
} from './conv2d-winograd-wasm.js';
import { DEFAULT_MIN_PART, setOwnWasmMinPart } from './own-wasm.js';
import { useThreadedWasm } from './threaded-wasm-node.js';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  pad: Pad;
}

const fixed: Case[] = [
  { x: [1, 5, 7, 16], filter: [3, 3, 16, 32], pad: 'same' },
  { x: [2, 8, 8, 32], filter: [3, 3, 32, 17], pad: 'valid' },
  { x: [3, 9, 6, 19], filter: [3, 3, 19, 29], pad: 1 },
  { x: [1, 6, 5, 33], filter: [3, 3, 33, 18], pad: 2 },
  // The flipped convolution of a stride-1 Conv2DBackpropInput pads unevenly.
  {
    x: [2, 7, 6, 24],
    filter: [3, 3, 24, 24],
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 4, 4, 96], filter: [3, 3, 96, 64], pad: 'same' },
  { x: [1, 3, 3, 16], filter: [3, 3, 16, 32], pad: 'valid' },
];

function randomCase(gen: Generator): Case {
  const channels = () => [16, 17, 32, 40, 64][gen.randint(5)];
  const outChannels = () => [32, 33, 48, 64][gen.randint(4)];
  const p = gen.randint(3);
  const pads: Pad[] = [
    'same',
    'valid',
    gen.randint(3),
    [
      [0, 0],
      [p, 2 - p],
      [2 - p, p],
      [0, 0],
    ],
  ];
  const pad = pads[gen.randint(pads.length)];
  const ci = channels();
  return {
    x: [1 + gen.randint(3), 3 + gen.randint(11), 3 + gen.randint(11), ci],
    filter: [3, 3, ci, outChannels()],
    pad,
  };
}

const gen = new Generator(17);
const cases = [...fixed, ...Array.from({ length: 16 }, () => randomCase(gen))];

function inputsOf(c: Case, withBias: boolean): Record<string, RawInput> {
  const data = new Generator(c.x.reduce((a, b) => a * 7 + b, 1));
  const inputs: Record<string, RawInput> = {
    x: randomInput(data, c.x),
    filter: randomInput(data, c.filter),
  };
  if (withBias) inputs.bias = randomInput(data, [c.filter[3]]);
  return inputs;
}

/** Each Winograd route, with the largest error against cpu it may make. */
// Small shapes go through Winograd on threads too (minThreadedProduct 0).
const routes: Array<[string, WinogradOptions, number]> = [
  ['F(2x2, 3x3), 1x1 convolutions', { tile: 2, products: 'conv1x1', minThreadedProduct: 0 }, 1e-5],
  ['F(2x2, 3x3), BatchMatMul', { tile: 2, products: 'batchMatMul', minThreadedProduct: 0 }, 1e-5],
  ['F(4x4, 3x3), BatchMatMul', { tile: 4, products: 'batchMatMul', minThreadedProduct: 0 }, 5e-5],
  ['F(2x2, 3x3), own products, one block', { tile: 2 }, 1e-5],
  ['F(4x4, 3x3), own products, one block', { tile: 4 }, 5e-5],
  ['F(2x2, 3x3), own products, blocks of 4 tiles', { tile: 2, blockTiles: 4 }, 1e-5],
  ['F(4x4, 3x3), own products, blocks of 5 tiles', { tile: 4, blockTiles: 5 }, 5e-5],
];

/** The cpu result, and the wasm results with Winograd (each route) and without. */
async function compare(c: Case, kernel: string, attrs: Record<string, unknown>, bias: boolean) {
  const inputs = inputsOf(c, bias);
  const want = await runOn('cpu', kernel, inputs, attrs);
  const got: Array<{ shape: number[]; values: Float32Array }> = [];
  for (const [, options] of routes) {
    setWinogradConv(true, options);
    got.push(await runOn('wasm', kernel, inputs, attrs));
  }
  setWinogradConv(false);
  const stock = await runOn('wasm', kernel, inputs, attrs);
  setWinogradConv(true);
  return { want, got, stock };
}

function checkCases(label: string) {
  for (const c of cases) {
    const conv = { strides: 1, pad: c.pad, dilations: 1, dataFormat: 'NHWC' };
    it(`${label}Conv2D matches cpu for x ${c.x} filter ${c.filter} pad ${JSON.stringify(c.pad)}`, async () => {
      const info = backend_util.computeConv2DInfo(c.x, c.filter, 1, 1, c.pad);
      expect(winogradApplies(info)).toBe(true);
      const { want, got, stock } = await compare(c, 'Conv2D', conv, false);
      got.forEach((r, i) => {
        expect(r.shape, routes[i][0]).toEqual(info.outShape);
        expect(relativeError(r.values, want.values), routes[i][0]).toBeLessThan(routes[i][2]);
        // Winograd rounds differently from the direct convolution: proof that it ran.
        expect(r.values, routes[i][0]).not.toEqual(stock.values);
      });
    });
  }
  for (const activation of ['linear', 'relu']) {
    for (const c of cases.slice(0, 8)) {
      const attrs = { strides: 1, pad: c.pad, dilations: 1, dataFormat: 'NHWC', activation };
      it(`${label}FusedConv2D (bias, ${activation}) matches cpu for x ${c.x} filter ${c.filter} pad ${JSON.stringify(c.pad)}`, async () => {
        const { want, got, stock } = await compare(c, 'FusedConv2D', attrs, true);
        got.forEach((r, i) => {
          expect(relativeError(r.values, want.values), routes[i][0]).toBeLessThan(routes[i][2]);
          expect(r.values, routes[i][0]).not.toEqual(stock.values);
        });
      });
    }
  }
}

describe('Winograd Conv2D on wasm', () => {
  it('applies to 3x3, stride-1, undilated convolutions with enough channels only', () => {
    const info = (f: number[], strides: number, dilations: number, ci = 32, co = 32) =>
      backend_util.computeConv2DInfo([1, 9, 9, ci], [f[0], f[1], ci, co], strides, dilations, 1);
    expect(winogradApplies(info([3, 3], 1, 1))).toBe(true);
    expect(winogradApplies(info([3, 3], 2, 1))).toBe(false);
    expect(winogradApplies(info([3, 3], 1, 2))).toBe(false);
    expect(winogradApplies(info([5, 5], 1, 1))).toBe(false);
    expect(winogradApplies(info([1, 1], 1, 1))).toBe(false);
    expect(winogradApplies(info([3, 3], 1, 1, 3))).toBe(false);
    expect(winogradApplies(info([3, 3], 1, 1, 16, 8))).toBe(false);
    expect(winogradApplies(info([3, 3], 1, 1, 16, 16))).toBe(false);
    expect(winogradApplies(info([3, 3], 1, 1, 16, 32))).toBe(true);
    // On threads with XNNPACK's products, each product must be worth a dispatch to its
    // thread pool; the own GEMM's products take every size.
    const wide = (n: number) =>
      backend_util.computeConv2DInfo([n, 32, 32, 64], [3, 3, 64, 64], 1, 1, 'same');
    expect(winogradApplies(wide(8), 2)).toBe(true);
    setWinogradConv(true, { products: 'batchMatMul' });
    expect(winogradApplies(wide(32), 2)).toBe(true);
    expect(winogradApplies(wide(8), 2)).toBe(false);
    expect(winogradApplies(wide(8), 1)).toBe(true);
    setWinogradConv(true);
  });

  it('takes 4x4 tiles only where they pay: wide channels, many tiles, little rounding up', () => {
    const tile = (x: [number, number, number, number], co: number) =>
      winogradTile(backend_util.computeConv2DInfo(x, [3, 3, x[3], co], 1, 1, 'same'));
    expect(tile([32, 32, 32, 64], 64)).toBe(4);
    expect(tile([32, 8, 8, 256], 256)).toBe(4);
    expect(tile([32, 4, 4, 512], 512)).toBe(2);
    expect(tile([8, 14, 14, 256], 256)).toBe(2);
    expect(tile([64, 8, 8, 64], 64)).toBe(4);
    expect(tile([64, 16, 16, 32], 64)).toBe(4);
    expect(tile([64, 16, 16, 16], 32)).toBe(2);
    expect(tile([4, 8, 8, 64], 64)).toBe(2);
    const info8 = backend_util.computeConv2DInfo([32, 8, 8, 256], [3, 3, 256, 256], 1, 1, 1);
    expect(winogradTile(info8)).toBe(4);
  });

  checkCases('');

  it('matches cpu when the batch runs a few images at a time', async () => {
    const c: Case = { x: [5, 7, 9, 24], filter: [3, 3, 24, 40], pad: 'same' };
    const attrs = { strides: 1, pad: c.pad, dilations: 1, dataFormat: 'NHWC', activation: 'relu' };
    const inputs = inputsOf(c, true);
    const want = await runOn('cpu', 'FusedConv2D', inputs, attrs);
    for (const tile of [2, 4] as const) {
      // Room for two images' transformed tiles: passes of 2, 2 and 1 images.
      const perImage = (tile + 2) ** 2 * Math.ceil(7 / tile) * Math.ceil(9 / tile) * 40;
      setWinogradConv(true, { tile, maxTransformed: 2 * perImage + 1 });
      const got = await runOn('wasm', 'FusedConv2D', inputs, attrs);
      setWinogradConv(true);
      expect(relativeError(got.values, want.values)).toBeLessThan(5e-5);
    }
  });

  it('falls back to the stock kernel for other activations', async () => {
    const c = fixed[2];
    for (const activation of ['elu', 'leakyrelu']) {
      const data = new Generator(3);
      const inputs = {
        x: randomInput(data, c.x),
        filter: randomInput(data, c.filter),
        bias: randomInput(data, [c.filter[3]]),
      };
      const attrs = {
        strides: 1,
        pad: c.pad,
        dilations: 1,
        dataFormat: 'NHWC',
        activation,
        leakyreluAlpha: 0.2,
      };
      const want = await runOn('cpu', 'FusedConv2D', inputs, attrs);
      const got = await runOn('wasm', 'FusedConv2D', inputs, attrs);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    }
  });

  for (const tile of [2, 4] as const) {
    it(`gives the gradients of a stride-1 3x3 convolution as cpu does (${tile}x${tile} tiles)`, async () => {
      const data = new Generator(23);
      const x = randomInput(data, [3, 9, 7, 16]);
      const w = randomInput(data, [3, 3, 16, 32]);
      const b = randomInput(data, [32]);
      const grads = async (backend: string, winograd: boolean) => {
        await tf.setBackend(backend);
        setWinogradConv(winograd, { tile });
        const out = tf.tidy(() => {
          const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
          const wt = tf.tensor4d(w.values, w.shape as [number, number, number, number]);
          const bt = tf.tensor1d(b.values);
          const f = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
            tf.sum(
              tf.square(
                tf.fused.conv2d({
                  x: p as tf.Tensor4D,
                  filter: q as tf.Tensor4D,
                  strides: 1,
                  pad: 'same',
                  bias: r,
                }),
              ),
            );
          return tf
            .grads(f)([xt, wt, bt])
            .map((g) => g.dataSync() as Float32Array);
        });
        setWinogradConv(true);
        return out;
      };
      const want = await grads('cpu', true);
      const got = await grads('wasm', true);
      for (let i = 0; i < 3; i++) expect(relativeError(got[i], want[i])).toBeLessThan(1e-4);
      // dx comes from the flipped convolution (32 -> 16 channels), which Winograd ran.
      const stock = await grads('wasm', false);
      expect(got[0]).not.toEqual(stock[0]);
    });
  }

  it('releases every intermediate buffer', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    for (const [, options] of routes) {
      setWinogradConv(true, options);
      const x = tf.randomUniform([2, 7, 7, 16]);
      const filter = tf.randomUniform([3, 3, 16, 32]);
      const before = backend.numDataIds();
      const y = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, 1, 'same');
      expect(backend.numDataIds()).toBe(before + 1);
      tf.dispose([x, filter, y]);
    }
    setWinogradConv(true);
  });
});

describe('Winograd Conv2D on threaded wasm', () => {
  afterAll(() => {
    setOwnWasmMinPart(DEFAULT_MIN_PART);
    tf.removeBackend('wasm');
  });

  it('starts the threaded wasm build', async () => {
    expect(await useThreadedWasm({ threads: 2 })).toBe(2);
    // Even these small convolutions are then split between the two threads.
    setOwnWasmMinPart(16);
  });

  checkCases('threaded: ');
});

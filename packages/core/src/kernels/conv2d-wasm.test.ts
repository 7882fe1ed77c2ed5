import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { type RawInput, randomInput, relativeError, runOn } from '../testing/kernel-compare.js';

interface Case {
  x: number[];
  filter: number[];
  strides: [number, number];
  dilations: [number, number];
  pad: 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
}

// Channel counts on both sides of the own kernel's 8-channel threshold and of its 8-column
// panels, pixel counts that leave a partial 4-pixel tile, every padding form.
function randomCase(gen: Generator): Case {
  const fh = 1 + gen.randint(3);
  const fw = 1 + gen.randint(3);
  const dil = 1 + gen.randint(2);
  const pads: Case['pad'][] = [
    'same',
    'valid',
    [
      [0, 0],
      [gen.randint(3), gen.randint(3)],
      [gen.randint(3), gen.randint(3)],
      [0, 0],
    ],
  ];
  const pad = pads[gen.randint(3)];
  const strides: [number, number] = dil > 1 ? [1, 1] : [1 + gen.randint(2), 1 + gen.randint(2)];
  return {
    x: [
      1 + gen.randint(3),
      fh * dil + gen.randint(7),
      fw * dil + gen.randint(7),
      [3, 8, 9, 16, 33][gen.randint(5)],
    ],
    filter: [fh, fw, 0, [1, 7, 8, 9, 24][gen.randint(5)]],
    strides,
    dilations: [dil, dil],
    pad,
  };
}

describe('Conv2D and FusedConv2D on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  const gen = new Generator(23);
  const cases = Array.from({ length: 40 }, () => randomCase(gen));
  for (const c of cases) {
    c.filter[2] = c.x[3];
    const label = `x ${c.x} filter ${c.filter} strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)}`;
    it(`Conv2D matches cpu: ${label}`, async () => {
      const data = new Generator(c.x.join('').length * 31 + c.filter[3]);
      const inputs = { x: randomInput(data, c.x), filter: randomInput(data, c.filter) };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations };
      const want = await runOn('cpu', 'Conv2D', inputs, attrs);
      const got = await runOn('wasm', 'Conv2D', inputs, attrs);
      expect(got.shape).toEqual(want.shape);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    });
  }

  it('computes a 3x1 filter with strides [1, 2] under same padding right, where stock XNNPACK does not', async () => {
    const data = new Generator(41);
    const inputs = { x: randomInput(data, [1, 5, 6, 3]), filter: randomInput(data, [3, 1, 3, 24]) };
    const attrs = { strides: [1, 2], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const want = await runOn('cpu', 'Conv2D', inputs, attrs);
    const got = await runOn('wasm', 'Conv2D', inputs, attrs);
    expect(got.shape).toEqual([1, 5, 3, 24]);
    expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
  });

  for (const activation of ['linear', 'relu', 'elu'] as const) {
    for (const withBias of [true, false]) {
      it(`FusedConv2D with ${activation}${withBias ? ' and a bias' : ''} matches cpu`, async () => {
        const data = new Generator(activation.length + (withBias ? 1 : 0));
        const inputs: Record<string, RawInput> = {
          x: randomInput(data, [2, 7, 6, 12]),
          filter: randomInput(data, [3, 3, 12, 11]),
        };
        if (withBias) inputs.bias = randomInput(data, [11]);
        const attrs = {
          strides: [1, 1],
          pad: 'same',
          dataFormat: 'NHWC',
          dilations: [1, 1],
          activation,
          leakyreluAlpha: 0.2,
        };
        const want = await runOn('cpu', 'FusedConv2D', inputs, attrs);
        const got = await runOn('wasm', 'FusedConv2D', inputs, attrs);
        expect(got.shape).toEqual(want.shape);
        expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
        if (activation === 'relu') expect(Math.min(...got.values)).toBe(0);
      });
    }
  }
});

import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { relativeError } from '../testing/kernel-compare.js';
import { batchMoments } from './batch-moments.js';
import { DEFAULT_MIN_PART, setOwnWasmKernels, setOwnWasmMinPart } from './own-wasm.js';
import { useThreadedWasm } from './threaded-wasm-node.js';

const shapes = [
  [8, 5, 5, 7],
  [2, 4, 4, 64],
  [1, 3, 3, 5],
  [16, 10],
  [3, 2, 2, 1],
  [5, 6, 7, 37],
];

/** tfjs's moments over the leading axes on `backend`, and batchMoments there. */
async function both(backend: string, shape: number[], seed: number) {
  await tf.setBackend(backend);
  const gen = new Generator(seed);
  // An offset mean, so that the variance pass subtracts something real.
  const x = tf.add(gen.uniformTensor(shape, -1, 1), 3);
  const axes = shape.slice(0, -1).map((_, i) => i);
  const ref = tf.moments(x, axes);
  const got = batchMoments(x);
  const values = (t: tf.Tensor) => Float32Array.from(t.dataSync());
  const out = {
    want: [values(ref.mean), values(ref.variance)],
    got: [values(got.mean), values(got.variance)],
    shapes: [got.mean.shape, got.variance.shape],
  };
  tf.dispose([x, ref.mean, ref.variance, got.mean, got.variance]);
  return out;
}

describe('batchMoments', () => {
  afterAll(() => {
    setOwnWasmKernels(true);
    setOwnWasmMinPart(DEFAULT_MIN_PART);
  });

  for (const shape of shapes) {
    it(`equals tfjs's moments on cpu for shape ${shape}`, async () => {
      const r = await both('cpu', shape, shape.length);
      expect(r.shapes).toEqual([[shape.at(-1)], [shape.at(-1)]]);
      expect(r.got).toEqual(r.want);
    });
    for (const own of [true, false]) {
      it(`matches tfjs's moments on wasm${own ? '' : ' (JavaScript loops)'} for shape ${shape}`, async () => {
        setOwnWasmKernels(own);
        const r = await both('wasm', shape, shape.length);
        const cpu = await both('cpu', shape, shape.length);
        setOwnWasmKernels(true);
        expect(r.shapes).toEqual([[shape.at(-1)], [shape.at(-1)]]);
        // The same float32 differences and squares, summed in float64: equal to moments here.
        expect(Array.from(r.got[0])).toEqual(Array.from(r.want[0]));
        expect(relativeError(r.got[1], r.want[1])).toBeLessThan(1e-6);
        expect(relativeError(r.got[1], cpu.want[1])).toBeLessThan(1e-5);
      });
    }
  }

  it('runs on the wasm kernel (no Sub, Square or Mean kernels)', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomUniform([4, 3, 3, 8]);
    const info = await tf.profile(() => {
      const { mean, variance } = batchMoments(x);
      return [mean, variance];
    });
    expect(info.kernelNames).toEqual(['ResnetTsBatchMoments']);
    x.dispose();
  });

  it('splits over two threads with the same results', async () => {
    await useThreadedWasm({ threads: 2 });
    setOwnWasmMinPart(16);
    for (const shape of shapes) {
      const r = await both('wasm', shape, 7);
      expect(relativeError(r.got[0], r.want[0]), `${shape}`).toBeLessThan(1e-6);
      expect(relativeError(r.got[1], r.want[1]), `${shape}`).toBeLessThan(1e-6);
    }
    setOwnWasmMinPart(DEFAULT_MIN_PART);
    tf.removeBackend('wasm');
  });
});

import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';

/** Values in [-1, 1) with zeros, NaN, infinities and -0 sprinkled in. */
function values(gen: Generator, shape: number[], special = true): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const odd = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < n; i++) {
    out[i] = special && gen.random() < 0.1 ? odd[gen.randint(odd.length)] : gen.uniform(-1, 1);
  }
  return out;
}

/** Runs kernel `name` on the current backend; its output's values and shape. */
function kernel(
  name: string,
  inputs: Record<string, { shape: number[]; values: Float32Array | Int32Array }>,
  attrs: Record<string, unknown> = {},
): { shape: number[]; values: number[] } {
  return tf.tidy(() => {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) {
      tensors[k] = tf.tensor(
        v.values,
        v.shape,
        v.values instanceof Int32Array ? 'int32' : 'float32',
      );
    }
    const out = tf.engine().runKernel(name, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, values: Array.from(out.dataSync()) };
  });
}

/** Operand shapes, and whether the own kernels split the call (large enough, not stock). */
const binaryCases: [number[], number[], boolean][] = [
  [[2, 5, 3, 7], [2, 5, 3, 7], true],
  [[7, 33], [7, 33], true],
  [[3, 4, 4, 16], [16], true],
  [[1, 3, 3, 5], [1, 1, 1, 5], true],
  [[5], [2, 3, 4, 5], true],
  [[1, 1, 1, 9], [4, 3, 2, 9], true],
  [[64, 10], [64, 1], true],
  [[6, 1], [6, 10], true],
  [[5, 4, 1], [5, 4, 3], true],
  [[3, 3, 5, 7], [], true],
  [[], [6, 6], true],
  [[1, 1], [9, 5], true],
  [[3, 1], [3, 1], false],
  [[1, 1, 1, 1], [1, 1, 1, 1], false],
  [[0, 3], [3], false],
  [[0, 3], [], false],
  // Broadcasts the own kernels leave to the stock ones.
  [[2, 1, 3], [1, 4, 3], false],
  [[1, 3], [3, 1], false],
  [[4, 1, 6], [4, 5, 6], false],
];

onOneAndTwoThreads('the elementwise kernels on wasm', (threads) => {
  for (const name of ['Add', 'Sub', 'Multiply']) {
    for (const [a, b, split] of binaryCases) {
      it(`${name} of [${a}] and [${b}] matches cpu exactly`, async () => {
        const gen = new Generator(a.length * 100 + b.reduce((p, v) => p * 7 + v, 1));
        const inputs = {
          a: { shape: a, values: values(gen, a) },
          b: { shape: b, values: values(gen, b) },
        };
        const [want, got] = await cpuAndWasm(threads, split, () => kernel(name, inputs));
        expect(got).toEqual(want);
      });
    }
    it(`${name} of int32 tensors goes to the stock kernel`, async () => {
      const inputs = {
        a: { shape: [2, 3], values: Int32Array.from([1, -2, 3, 4, 5, -6]) },
        b: { shape: [3], values: Int32Array.from([7, 8, -9]) },
      };
      const [want, got] = await cpuAndWasm(threads, false, () => kernel(name, inputs));
      expect(got).toEqual(want);
    });
  }

  for (const shape of [[2, 5, 3, 7], [64, 3, 3, 17], [1, 1, 1, 1], [0, 4], [33]]) {
    it(`Relu, Square and Step of [${shape}] match cpu exactly, NaN, infinities and -0 included`, async () => {
      const gen = new Generator(shape.reduce((p, v) => p * 13 + v, 3));
      const inputs = { x: { shape, values: values(gen, shape) } };
      const [want, got] = await cpuAndWasm(threads, inputs.x.values.length > 32, () => [
        kernel('Relu', inputs),
        kernel('Square', inputs),
        kernel('Step', inputs, { alpha: 0 }),
        kernel('Step', inputs, { alpha: 0.25 }),
      ]);
      expect(got).toEqual(want);
    });
  }

  it('Relu and Square of an int32 tensor go to the stock kernels', async () => {
    const inputs = { x: { shape: [4], values: Int32Array.from([-3, 0, 2, -1]) } };
    const [want, got] = await cpuAndWasm(threads, false, () => [
      kernel('Relu', inputs),
      kernel('Square', inputs),
    ]);
    expect(got).toEqual(want);
  });
});

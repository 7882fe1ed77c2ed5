import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';
import { RELU_GRAD, reluGrad, reluGradConfig } from './relu-grad.js';

/** Values in [-1, 1) with zeros, NaN, infinities and -0 sprinkled in. */
function values(gen: Generator, n: number): Float32Array {
  const odd = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  return Float32Array.from({ length: n }, () =>
    gen.random() < 0.1 ? odd[gen.randint(odd.length)] : gen.uniform(-1, 1),
  );
}

it("is Relu's registered gradient", () => {
  expect(tf.getGradient(tf.Relu)).toBe(reluGradConfig);
});

it("gives tfjs's formula dy * step(x) on the cpu backend, which has no kernel of its own", async () => {
  await tf.setBackend('cpu');
  expect(tf.getKernel(RELU_GRAD, 'cpu')).toBeUndefined();
  const gen = new Generator(2);
  const [x, dy] = [values(gen, 40), values(gen, 40)].map((v) => tf.tensor(v, [5, 8]));
  const got = tf
    .grad((t: tf.Tensor) => tf.relu(t))(x, dy)
    .dataSync();
  const want = Float32Array.from(
    x.dataSync(),
    (v, i) => dy.dataSync()[i] * (Number.isNaN(v) ? v : v > 0 ? 1 : 0),
  );
  expect(Array.from(got)).toEqual(Array.from(want));
  tf.dispose([x, dy]);
});

onOneAndTwoThreads("ReLU's gradient on wasm", (threads) => {
  for (const shape of [[3, 6, 6, 5], [64, 3, 3, 17], [1, 1, 1, 1], [0, 4], [33]]) {
    it(`matches cpu exactly for [${shape}], NaN, infinities and -0 included`, async () => {
      const gen = new Generator(shape.reduce((p, v) => p * 7 + v, 1));
      const n = shape.reduce((p, v) => p * v, 1);
      const x = values(gen, n);
      const dy = values(gen, n);
      expect(tf.getKernel(RELU_GRAD, 'wasm')).toBeDefined();
      const [want, got] = await cpuAndWasm(threads, n > 32, () =>
        tf.tidy(() => {
          const g = tf.grad((t: tf.Tensor) => tf.relu(t))(
            tf.tensor(x, shape),
            tf.tensor(dy, shape),
          );
          return Array.from(g.dataSync());
        }),
      );
      expect(got).toEqual(want);
    });
  }

  it("has a gradient of its own, as tfjs's formula has", async () => {
    const gen = new Generator(9);
    const shape = [2, 4, 4, 3];
    const [x, dy, w] = [values(gen, 96), values(gen, 96), values(gen, 96)];
    const [want, got] = await cpuAndWasm(threads, true, () =>
      tf.tidy(() => {
        const f = (d: tf.Tensor, t: tf.Tensor) =>
          tf.sum(tf.mul(reluGrad(d, t), tf.tensor(w, shape)));
        const g = tf.grads(f)([tf.tensor(dy, shape), tf.tensor(x, shape)]);
        return g.map((t) => Array.from(t.dataSync()));
      }),
    );
    expect(got).toEqual(want);
  });

  it('goes to the stock kernels for an int32 x', async () => {
    const x = Int32Array.from([-2, 0, 3, 1, -1, 5]);
    const dy = Float32Array.from([0.5, -1, 2, Number.NaN, 4, -3]);
    const [want, got] = await cpuAndWasm(threads, false, () =>
      tf.tidy(() => {
        const g = reluGrad(tf.tensor(dy, [2, 3]), tf.tensor(x, [2, 3], 'int32'));
        return Array.from(g.dataSync());
      }),
    );
    expect(got).toEqual(want);
  });
});

import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Generator } from '@resnet-ts/core';
import { parseMnistDigits, splitMnistDigits } from '@resnet-ts/data';
import { Adam, crossEntropy, valueAndGrads } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { VanResNet } from './vanResNet.js';

const TRAIN = 6000;
const TEST = 1000;
const BATCH = 32;

// wasm, not cpu: tfjs-backend-cpu's Conv2DBackpropFilter is ~50× slower than core's wasm
// training kernel, too slow to train anything within a test.
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

/** MNIST's usual normalisation, (x/255 - 0.1307) / 0.3081, as an NHWC batch. */
function batchOf(images: Uint8Array, from: number, to: number): tf.Tensor4D {
  const pixels = Float32Array.from(
    images.subarray(from * 784, to * 784),
    (v) => (v / 255 - 0.1307) / 0.3081,
  );
  return tf.tensor4d(pixels, [to - from, 28, 28, 1]);
}

describe('can VanResNet learn?', () => {
  it(`reaches >= 90% test accuracy on MNIST after one pass over ${TRAIN} embedded digits`, () => {
    const require = createRequire(import.meta.url);
    const bytes = readFileSync(require.resolve('@resnet-ts/data/mnist-digits.bin'));
    const { train, test } = splitMnistDigits(parseMnistDigits(bytes), { testSize: TEST, seed: 0 });
    const model = new VanResNet({ inChannels: 1, inputSize: 28, generator: new Generator(0) });
    const params = model.parameters();
    const opt = new Adam(params, { lr: 2e-3 });
    const losses: number[] = [];
    let afterFirstStep = 0;
    model.train();
    for (let start = 0; start + BATCH <= TRAIN; start += BATCH) {
      const x = batchOf(train.images, start, start + BATCH);
      const y = tf.tensor1d(Int32Array.from(train.labels.subarray(start, start + BATCH)), 'int32');
      const { value, grads } = valueAndGrads(
        () => crossEntropy(model.forward(x), y) as tf.Scalar,
        params,
      );
      opt.step(grads);
      losses.push(value.dataSync()[0]);
      tf.dispose([x, y, value, ...grads]);
      if (start === 0) afterFirstStep = tf.memory().numTensors;
    }
    // Every batch and gradient is freed: only the optimizer's state outlives a step.
    expect(tf.memory().numTensors).toBe(afterFirstStep);
    model.eval();
    let correct = 0;
    for (let start = 0; start < TEST; start += 250) {
      const x = batchOf(test.images, start, start + 250);
      const predicted = tf.tidy(() => tf.argMax(model.forward(x), 1));
      predicted.dataSync().forEach((p, i) => {
        if (p === test.labels[start + i]) correct++;
      });
      tf.dispose([x, predicted]);
    }
    const accuracy = correct / TEST;
    const first = losses.slice(0, 10).reduce((a, b) => a + b, 0) / 10;
    const last = losses.slice(-10).reduce((a, b) => a + b, 0) / 10;
    console.log(
      `VanResNet on MNIST (wasm): ${losses.length} steps of ${BATCH}, mean loss ${first.toFixed(3)} -> ${last.toFixed(3)}, test accuracy ${(100 * accuracy).toFixed(1)}% of ${TEST}`,
    );
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(tf.memory().numTensors).toBe(afterFirstStep);
    opt.dispose();
    model.dispose();
  }, 180_000);
});

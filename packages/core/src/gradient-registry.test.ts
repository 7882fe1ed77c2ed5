import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator, hasGradient, selectBackend } from './index.js';

const gen = new Generator(3);
const rand = (shape: number[]) => gen.normalTensor(shape) as tf.Tensor;

/** f must map its input to a scalar; gradients are checked against central differences. */
function checkGradient(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, probes = 4) {
  const g = tf.grad(f)(x);
  expect(g.shape).toEqual(x.shape);
  const analytic = g.dataSync();
  const base = x.dataSync().slice();
  const eps = 1e-2;
  for (let k = 0; k < probes; k++) {
    const i = gen.randint(base.length);
    const at = (delta: number) =>
      tf.tidy(() => {
        const v = base.slice();
        v[i] += delta;
        return f(tf.tensor(v, x.shape)).dataSync()[0];
      });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    expect(Math.abs(analytic[i] - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
  }
  g.dispose();
}

describe('gradients registered by importing core', () => {
  beforeAll(async () => {
    await selectBackend(['cpu']);
  });

  it('registers the gradients ResNet training needs', () => {
    for (const k of [
      'Conv2D',
      'MaxPool',
      'FusedBatchNorm',
      'Relu',
      'BatchMatMul',
      'Softmax',
      'Add',
    ]) {
      expect(hasGradient(k), k).toBe(true);
    }
  });

  it('differentiates conv2d, maxPool, batchNorm, relu, matMul and softmax cross-entropy', () => {
    const w = rand([3, 3, 2, 4]);
    const m = rand([8, 5]);
    const onehot = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5);
    const net = (x: tf.Tensor) =>
      tf.tidy(() => {
        let h: tf.Tensor = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same');
        const { mean, variance } = tf.moments(h, [0, 1, 2]);
        h = tf.batchNorm(h, mean, variance, tf.zeros([4]), tf.ones([4]), 1e-5);
        h = tf.relu(tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid'));
        const logits = tf.matMul(tf.reshape(h, [2, -1]) as tf.Tensor2D, m as tf.Tensor2D);
        return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
      });
    checkGradient(net, rand([2, 4, 3, 2]), 6);
    tf.dispose([w, m, onehot]);
  });

  it('gives plain Node (no bundler, no vitest) gradients through the built package', () => {
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    expect(existsSync(dist), `${dist} is missing: run pnpm build`).toBe(true);
    const script = `
      const tf = await import('@tensorflow/tfjs-core');
      const core = await import(${JSON.stringify(dist)});
      await core.selectBackend(['cpu']);
      const g = tf.grad((x) => tf.sum(tf.relu(tf.conv2d(x, tf.ones([3, 3, 1, 2]), 1, 'same'))))(tf.ones([1, 4, 4, 1]));
      console.log(JSON.stringify(Array.from(g.dataSync())));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
    });
    // Each input pixel feeds as many 3x3 windows as fit around it, for 2 output channels.
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual([
      8, 12, 12, 8, 12, 18, 18, 12, 12, 18, 18, 12, 8, 12, 12, 8,
    ]);
  });
});

import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

describe('Identity and Cast on wasm share data instead of copying', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('a clone keeps its values after the original is disposed, and frees the data with it', () => {
    const before = tf.memory().numBytes;
    const x = tf.tensor2d([
      [1, -2, 3],
      [4, 5, -6],
    ]);
    const buffers = tf.engine().backend.numDataIds();
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3, 4, 5, -6]);
    y.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });

  it('a clone of a variable keeps the old value when the variable is assigned', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const saved = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(saved.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    tf.dispose([v, saved]);
  });

  it('Cast to the same dtype shares, to another dtype converts', () => {
    const x = tf.tensor1d([1.75, -2.5, 0], 'float32');
    const same = tf.cast(x, 'float32');
    expect(same.dataId).toBe(x.dataId);
    const ints = tf.cast(x, 'int32');
    const back = tf.cast(tf.tensor1d([3, -4], 'int32'), 'float32');
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.75, -2.5, 0]);
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 0]);
    expect(back.dtype).toBe('float32');
    expect(Array.from(back.dataSync())).toEqual([3, -4]);
    tf.dispose([same, ints, back]);
  });

  it('gradients that save their inputs (relu, multiply) are unchanged and leak nothing', () => {
    const x = tf.tensor1d([-1, 0.5, 2, -3]);
    const w = tf.tensor1d([2, 3, -1, 4]);
    const before = tf.memory().numTensors;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), b)))([
      x,
      w,
    ]);
    expect(Array.from(dx.dataSync())).toEqual([0, 3, -1, 0]);
    expect(Array.from(dw.dataSync())).toEqual([0, 0.5, 2, 0]);
    tf.dispose([dx, dw]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});

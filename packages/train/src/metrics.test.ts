import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  accuracy,
  ConfusionMatrix,
  classRecall,
  confusionMatrix,
  countCorrect,
  RunningMean,
  TopKAccuracy,
  topKAccuracy,
} from './index.js';

describe('metrics', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const scores = () =>
    tf.tensor2d([
      [0.1, 0.7, 0.2], // predicts 1, runner-up 2
      [0.5, 0.3, 0.2], // predicts 0, runner-up 1
      [0.2, 0.3, 0.5], // predicts 2, runner-up 1
      [0.6, 0.1, 0.3], // predicts 0, runner-up 2
    ]);
  const labels = () => tf.tensor1d([1, 1, 2, 2], 'int32');

  it('accuracy and top-k accuracy count arg-max and top-k hits', () => {
    const [s, y] = [scores(), labels()];
    const before = tf.memory().numTensors;
    expect(accuracy(s, y)).toBe(0.5);
    expect(topKAccuracy(s, y, 2)).toBe(1);
    expect(topKAccuracy(s, y, 3)).toBe(1);
    expect(topKAccuracy(s, y, 10)).toBe(1);
    const c = countCorrect(s, y);
    expect(c.dataSync()[0]).toBe(2);
    c.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => topKAccuracy(s, y, 0)).toThrow(/k must be a positive integer, got 0/);
    expect(() => accuracy(s, tf.tensor1d([1, 2], 'int32'))).toThrow(
      /int labels \[N\], got \[4,3\] and \[2\]/,
    );
    tf.dispose([s, y]);
  });

  it('confusionMatrix counts m[label][predicted] from scores or predictions', () => {
    const [s, y] = [scores(), labels()];
    expect(confusionMatrix(s, y, 3)).toEqual([
      [0, 0, 0],
      [1, 1, 0],
      [1, 0, 1],
    ]);
    const preds = tf.tensor1d([2, 2, 0, 1], 'int32');
    expect(confusionMatrix(preds, y, 3)).toEqual([
      [0, 0, 0],
      [0, 0, 2],
      [1, 1, 0],
    ]);
    expect(() => confusionMatrix(preds, y, 2)).toThrow(
      /out of range \[0, 2\) at row 0: label 1, prediction 2/,
    );
    tf.dispose([s, y, preds]);
  });

  it('RunningMean weights batches by their size', () => {
    const m = new RunningMean();
    expect(m.value).toBeNaN();
    m.update(1, 3);
    m.update(3, 1);
    expect(m.value).toBe(1.5);
    expect(m.count).toBe(4);
    m.reset();
    m.update(2);
    expect(m.value).toBe(2);
  });

  it('RunningMean sums tensors on the device, owns only its total and reads once', async () => {
    const before = tf.memory().numTensors;
    const loss = new RunningMean();
    const hits = new RunningMean();
    const batchLoss = tf.scalar(0.5);
    tf.tidy(() => {
      loss.update(batchLoss, 4);
      loss.update(tf.scalar(2), 2);
      hits.addSum(tf.scalar(3, 'int32'), 4);
    });
    batchLoss.dispose();
    // The tidy and the caller's dispose freed everything but the two totals.
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(loss.count).toBe(6);
    expect(loss.total?.dataSync()[0]).toBe(6);
    expect(await loss.read()).toBe(1);
    expect(hits.total?.dtype).toBe('int32');
    expect(hits.value).toBe(0.75);
    hits.addSum(1, 4);
    expect(hits.value).toBe(0.5);
    expect(tf.memory().numTensors).toBe(before + 2);
    loss.reset();
    hits.reset();
    expect(tf.memory().numTensors).toBe(before);
    expect(await loss.read()).toBeNaN();
    expect(loss.total).toBeNull();
    expect(() => loss.update(1, -1)).toThrow(/count must be a non-negative number, got -1/);
    const ones = tf.ones([2, 2]);
    loss.addSum(ones, 2);
    expect(() => loss.value).toThrow(/a total of shape \[2,2\] is not one number/);
    loss.reset();
    ones.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('TopKAccuracy accumulates on the device across batches', () => {
    const metric = new TopKAccuracy(1);
    const [s, y] = [scores(), labels()];
    tf.tidy(() => metric.update(s, y));
    tf.tidy(() => metric.update(s, tf.tensor1d([1, 0, 2, 0], 'int32')));
    expect(metric.result()).toBe(6 / 8);
    metric.reset();
    expect(metric.result()).toBeNaN();
    tf.dispose([s, y]);
  });

  it('ConfusionMatrix accumulates on the device and agrees with confusionMatrix', async () => {
    const [s, y] = [scores(), labels()];
    const metric = new ConfusionMatrix(3);
    expect(metric.result()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const before = tf.memory().numTensors;
    tf.tidy(() => metric.update(s, y));
    tf.tidy(() => metric.update(s, y));
    expect(tf.memory().numTensors).toBe(before + 1);
    const twice = confusionMatrix(s, y, 3).map((row) => row.map((v) => 2 * v));
    expect(metric.result()).toEqual(twice);
    expect(await metric.read()).toEqual(twice);
    expect(
      classRecall([
        [3, 1, 0],
        [0, 0, 0],
        [2, 0, 2],
      ]),
    ).toEqual([0.75, 0, 0.5]);
    metric.reset();
    expect(await metric.read()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => new ConfusionMatrix(0)).toThrow(/numClasses must be a positive integer, got 0/);
    tf.dispose([s, y]);
  });
});

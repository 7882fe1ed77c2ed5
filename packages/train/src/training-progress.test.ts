import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchProgress,
  ConfusionMatrix,
  evaluate,
  fit,
  SGD,
  TrainingProgress,
} from './index.js';
import { asLoader, makeDataset, ShuffledLoader, tinyConvNet } from './testing/fixtures.js';

beforeAll(() => tf.setBackend('cpu'));

describe('TrainingProgress', () => {
  it('reports every batch with running loss and the accuracy of training batches only', async () => {
    const model = tinyConvNet(1);
    const data = makeDataset(40, 2);
    const trainLoader = asLoader(new ShuffledLoader(data, 16, null));
    const seen: BatchProgress[] = [];
    const progress = new TrainingProgress({
      epochs: 2,
      batches: trainLoader.length,
      onBatch: (p) => seen.push(p),
    });
    const before = tf.memory().numTensors;
    const history = await fit({
      model,
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      trainLoader,
      valLoader: asLoader(new ShuffledLoader(data, 16, null)),
      epochs: 2,
      callbacks: [progress],
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.map((p) => `${p.epoch}/${p.epochs} ${p.batch}/${p.batches}`)).toEqual([
      '1/2 1/3',
      '1/2 2/3',
      '1/2 3/3',
      '2/2 1/3',
      '2/2 2/3',
      '2/2 3/3',
    ]);
    // With lr 0 nothing changes: the last batch's running figures are the epoch's, and the
    // validation pass (same data, eval mode) did not count towards the accuracy.
    const last = seen[5];
    const epoch = history.epochs[1];
    expect(last.accuracy).toBeCloseTo(epoch.trainAcc, 6);
    expect(last.etaSeconds).toBe(0);
    expect(last.imagesPerSec).toBeGreaterThan(0);
  });
});

describe('evaluate with a ConfusionMatrix', () => {
  it.each(['cpu', 'wasm'])(
    'reads the matrix without blocking on %s, agreeing with the accuracy',
    async (backend) => {
      await selectBackend([backend as 'cpu' | 'wasm']);
      const model = tinyConvNet(3);
      const loader = asLoader(new ShuffledLoader(makeDataset(30, 4), 8, null));
      const r = await evaluate(model, loader, { metrics: { confusion: new ConfusionMatrix(3) } });
      const m = r.metrics.confusion as number[][];
      expect(m.flat().reduce((a, b) => a + b, 0)).toBe(30);
      expect((m[0][0] + m[1][1] + m[2][2]) / 30).toBeCloseTo(r.accuracy, 6);
      model.dispose();
      await tf.setBackend('cpu');
    },
  );
});

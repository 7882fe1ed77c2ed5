import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  type BatchLogs,
  ConfusionMatrix,
  CosineAnnealingLR,
  crossEntropy,
  type EpochLogs,
  evaluate,
  fit,
  NonFiniteLossError,
  OneCycleLR,
  predict,
  ReduceLROnPlateau,
  SGD,
  TopKAccuracy,
} from './index.js';
import { checkpointTo, loadCheckpoint } from './node.js';
import {
  LinearProbe,
  ModeSpy,
  makeDataset,
  ShuffledLoader,
  tinyConvNet,
} from './testing/fixtures.js';

const train = makeDataset(48, 1);
const val = makeDataset(16, 2);
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'resnet-ts-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function snapshot(model: { stateDict(): Record<string, tf.Tensor> }): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(model.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]),
  );
}

describe('fit', () => {
  it('trains, logs, calls back in order and switches train/eval around validation', async () => {
    const spy = new ModeSpy(tinyConvNet(0));
    const optimizer = new Adam(spy.parameters(), { lr: 0.02 });
    const scheduler = new CosineAnnealingLR(optimizer, { tMax: 6 });
    const trainLoader = new ShuffledLoader(train, 8, new Generator(5));
    const valLoader = new ShuffledLoader(val, 8, null);
    const events: string[] = [];
    const batchLogs: BatchLogs[] = [];
    const history = await fit({
      model: spy,
      optimizer,
      scheduler,
      trainLoader,
      valLoader,
      epochs: 6,
      logEvery: 4,
      valMetrics: { top2: new TopKAccuracy(2), confusion: new ConfusionMatrix(3) },
      callbacks: [
        {
          onTrainBegin: () => {
            events.push('trainBegin');
          },
          onEpochBegin: (e) => {
            events.push(`epochBegin ${e}`);
          },
          onBatchEnd: (b, logs) => {
            events.push(`batch ${b}`);
            batchLogs.push(logs);
          },
          onEpochEnd: (e) => {
            events.push(`epochEnd ${e}`);
          },
          onTrainEnd: () => {
            events.push('trainEnd');
          },
        },
      ],
    });
    expect(history.stopReason).toBe('completed');
    expect(history.epochs).toHaveLength(6);
    expect(events.slice(0, 9)).toEqual([
      'trainBegin',
      'epochBegin 0',
      ...[0, 1, 2, 3, 4, 5].map((b) => `batch ${b}`),
      'epochEnd 0',
    ]);
    expect(events.at(-1)).toBe('trainEnd');
    // logEvery 4 over 6 batches: read at batch 3 and at the last one.
    expect(batchLogs.slice(0, 6).map((l) => l.loss !== undefined)).toEqual([
      false,
      false,
      false,
      true,
      false,
      true,
    ]);
    // The batch's accuracy is read with its loss: a whole number of hits out of the batch.
    for (const l of batchLogs) {
      expect(l.accuracy !== undefined).toBe(l.loss !== undefined);
      if (l.accuracy === undefined) continue;
      const hits = l.accuracy * l.size;
      expect(Math.abs(hits - Math.round(hits))).toBeLessThan(1e-9);
      expect(hits).toBeGreaterThanOrEqual(0);
      expect(hits).toBeLessThanOrEqual(l.size);
    }
    // Late in training the tiny net gets most of a batch right.
    expect(batchLogs.at(-1)?.accuracy).toBeGreaterThan(0.5);
    // Throughput is measured at reads and carried to the batches between them.
    expect(batchLogs.slice(0, 6).map((l) => l.imagesPerSec > 0)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(batchLogs.map((l) => l.epoch)).toEqual(
      [0, 1, 2, 3, 4, 5].flatMap((e) => new Array(6).fill(e)),
    );
    const first = history.epochs[0];
    const last = history.epochs.at(-1) as EpochLogs;
    expect(last.trainLoss).toBeLessThan(first.trainLoss);
    expect(last.valLoss).toBeLessThan(first.valLoss);
    expect(last.valAcc).toBeGreaterThan(0.8);
    expect(last.valMetrics?.top2).toBeGreaterThanOrEqual(last.valAcc);
    // Reset per epoch: the confusion matrix counts one pass over the 16 validation images.
    const confusion = last.valMetrics?.confusion as number[][];
    expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(16);
    expect(confusion[0][0] + confusion[1][1] + confusion[2][2]).toBe(Math.round(last.valAcc * 16));
    for (const e of history.epochs) {
      expect(e.trainAcc).toBeGreaterThanOrEqual(0);
      expect(e.trainAcc).toBeLessThanOrEqual(1);
      expect(e.imagesPerSec).toBeGreaterThan(0);
      expect(e.seconds).toBeGreaterThan(0);
    }
    // Cosine annealing stepped once per epoch: epoch k trained at 0.01·(1 + cos(πk/6)).
    history.epochs.forEach((e, k) => {
      expect(e.lr).toBeCloseTo(0.01 * (1 + Math.cos((Math.PI * k) / 6)), 10);
    });
    // 6 training forwards (train mode) then 2 validation forwards (eval mode) per epoch.
    const epochModes = [...new Array(6).fill(true), false, false];
    expect(spy.modes).toEqual([].concat(...new Array(6).fill(epochModes)));
    expect(spy.training).toBe(true);
    // evaluate() agrees with the last epoch's validation numbers and restores the mode.
    const r = await evaluate(spy, new ShuffledLoader(val, 8, null));
    expect(r.loss).toBeCloseTo(last.valLoss, 5);
    expect(r.accuracy).toBeCloseTo(last.valAcc, 10);
    expect(r.count).toBe(16);
    expect(spy.training).toBe(true);
    const out = predict(spy, tf.zeros([5, 8, 8, 1]), { batchSize: 2 });
    expect(out.shape).toEqual([5, 3]);
    out.dispose();
    optimizer.dispose();
    spy.dispose();
  });

  it('leaves as many live tensors after epoch 3 as after epoch 1', async () => {
    const model = tinyConvNet(1);
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const scheduler = new OneCycleLR(optimizer, { maxLr: 0.1, epochs: 3, stepsPerEpoch: 3 });
    const counts: number[] = [];
    await fit({
      model,
      optimizer,
      scheduler,
      trainLoader: new ShuffledLoader(train, 16, new Generator(3)),
      valLoader: new ShuffledLoader(val, 8, null),
      epochs: 3,
      gradClip: { maxNorm: 1 },
      callbacks: [{ onEpochEnd: () => void counts.push(tf.memory().numTensors) }],
    });
    expect(counts).toHaveLength(3);
    expect(counts[2]).toBe(counts[0]);
    // Per-batch scheduler: 1 construction step + 9 batches.
    expect(scheduler.lastEpoch).toBe(9);
    optimizer.dispose();
    model.dispose();
  });

  it.each(['cpu', 'wasm'])(
    'resumed after epoch 2 gives bit-identical weights to an uninterrupted run on %s',
    async (backend) => {
      await selectBackend([backend as 'cpu' | 'wasm']);
      const epochs = 4;
      const run = async (stopAfter: number | null, resumeFrom: string | null) => {
        const shuffle = new Generator(42);
        const model = tinyConvNet(7);
        const optimizer = new SGD(model.parameters(), {
          lr: 0.1,
          momentum: 0.9,
          nesterov: true,
          weightDecay: 1e-3,
        });
        const scheduler = new OneCycleLR(optimizer, { maxLr: 0.2, epochs, stepsPerEpoch: 3 });
        let startEpoch = 0;
        let history: EpochLogs[] | undefined;
        if (resumeFrom) {
          const restored = await loadCheckpoint(resumeFrom, {
            model,
            optimizer,
            scheduler,
            generators: { shuffle },
          });
          startEpoch = restored.epoch;
          history = restored.history;
        }
        const ckpt = join(dir, `resume-${stopAfter ?? 'full'}`);
        const h = await fit({
          model,
          optimizer,
          scheduler,
          trainLoader: new ShuffledLoader(train, 16, shuffle),
          epochs: stopAfter ?? epochs,
          startEpoch,
          history,
          checkpoint: stopAfter ? checkpointTo(ckpt, { generators: { shuffle } }) : undefined,
        });
        const weights = snapshot(model);
        const lr = optimizer.paramGroups[0].lr;
        optimizer.dispose();
        model.dispose();
        return { weights, ckpt, h, lr };
      };
      const full = await run(null, null);
      const part = await run(2, null);
      const resumed = await run(null, part.ckpt);
      expect(resumed.h.epochs).toHaveLength(4);
      expect(resumed.h.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
      expect(resumed.lr).toBe(full.lr);
      expect(Object.keys(resumed.weights)).toEqual(Object.keys(full.weights));
      for (const k of Object.keys(full.weights))
        expect(resumed.weights[k], k).toEqual(full.weights[k]);
      // The interrupted run really differs from the full one (the comparison can fail).
      expect(part.weights['0.weight']).not.toEqual(full.weights['0.weight']);
      await tf.setBackend('cpu');
    },
  );

  it('stops on a non-finite loss and keeps the last good checkpoint', async () => {
    const model = tinyConvNet(2);
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const ckpt = join(dir, 'nan');
    let epoch = 0;
    const loss = (out: tf.Tensor, y: tf.Tensor) =>
      epoch >= 1 ? tf.mul(crossEntropy(out, y), Number.NaN) : crossEntropy(out, y);
    const before = tf.memory().numTensors;
    const run = fit({
      model,
      optimizer,
      loss,
      trainLoader: new ShuffledLoader(train, 16, new Generator(1)),
      epochs: 3,
      checkpoint: checkpointTo(ckpt),
      callbacks: [
        {
          onEpochEnd: (e) => {
            epoch = e + 1;
          },
        },
      ],
    });
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(/loss became NaN at epoch 1, batch 0/);
    const json = JSON.parse(await readFile(join(ckpt, 'checkpoint.json'), 'utf8'));
    expect(json).toEqual({ latest: 'checkpoints/epoch-1', epoch: 1 });
    expect(await readdir(join(ckpt, 'checkpoints'))).toEqual(['epoch-1']);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    model.dispose();
  });

  it('stops at the end of the current batch when aborted', async () => {
    const model = tinyConvNet(3);
    const optimizer = new SGD(model.parameters(), { lr: 0.05 });
    const controller = new AbortController();
    let batches = 0;
    const h = await fit({
      model,
      optimizer,
      trainLoader: new ShuffledLoader(train, 8, new Generator(1)),
      epochs: 5,
      signal: controller.signal,
      callbacks: [
        {
          onBatchEnd: (b) => {
            batches++;
            if (b === 2) controller.abort();
          },
        },
      ],
    });
    expect(h.stopReason).toBe('aborted');
    expect(batches).toBe(3);
    expect(h.epochs).toHaveLength(0);
    // Already aborted: no batch runs at all.
    const again = await fit({
      model,
      optimizer,
      trainLoader: new ShuffledLoader(train, 8, new Generator(1)),
      epochs: 5,
      signal: controller.signal,
    });
    expect(again.stopReason).toBe('aborted');
    expect(again.epochs).toHaveLength(0);
    optimizer.dispose();
    model.dispose();
  });

  it('stops early when the monitored value stops improving, and feeds ReduceLROnPlateau', async () => {
    const model = new LinearProbe(4);
    const optimizer = new SGD(model.parameters(), { lr: 0 });
    const scheduler = new ReduceLROnPlateau(optimizer, { patience: 0 });
    const h = await fit({
      model,
      optimizer,
      scheduler,
      trainLoader: new ShuffledLoader(train, 16, new Generator(1)),
      valLoader: new ShuffledLoader(val, 16, null),
      epochs: 10,
      earlyStopping: { patience: 2 },
    });
    // lr 0: the validation loss never changes, so epochs 1 and 2 are the two bad ones.
    expect(h.stopReason).toBe('earlyStopping');
    expect(h.epochs).toHaveLength(3);
    expect(scheduler.best).toBe(h.epochs[0].valLoss);
    expect(scheduler.lastEpoch).toBe(3);
    optimizer.dispose();
    model.dispose();
  });

  it('keeps early-stopping patience across a resume', async () => {
    const run = async (epochs: number, history?: EpochLogs[]) => {
      const model = new LinearProbe(4);
      const optimizer = new SGD(model.parameters(), { lr: 0 });
      const h = await fit({
        model,
        optimizer,
        trainLoader: new ShuffledLoader(train, 16, new Generator(1)),
        valLoader: new ShuffledLoader(val, 16, null),
        epochs,
        startEpoch: history?.length ?? 0,
        history,
        earlyStopping: { patience: 2 },
      });
      model.dispose();
      return h;
    };
    const full = await run(10);
    const first = await run(2);
    const resumed = await run(10, first.epochs);
    expect(full.epochs).toHaveLength(3);
    expect(resumed.stopReason).toBe('earlyStopping');
    expect(resumed.epochs).toHaveLength(3);
  });

  it('accumulates gradients over batches', async () => {
    // Two batches of 8 averaged = one batch of 16 with a mean loss, when batch norm is absent.
    const data = makeDataset(16, 9);
    const run = async (batchSize: number, accumulate: number) => {
      const model = new LinearProbe(11);
      const optimizer = new SGD(model.parameters(), { lr: 0.5 });
      await fit({
        model,
        optimizer,
        trainLoader: new ShuffledLoader(data, batchSize, null),
        epochs: 1,
        accumulate,
      });
      const out = Array.from(model.weight.dataSync());
      model.dispose();
      return out;
    };
    const whole = await run(16, 1);
    const accumulated = await run(8, 2);
    for (const [i, v] of whole.entries()) expect(accumulated[i]).toBeCloseTo(v, 5);
  });

  it('leaves frozen parameters untouched', async () => {
    const model = tinyConvNet(5);
    const conv = model.children()[0];
    conv.requiresGrad(false);
    const frozen = snapshot(conv);
    const head = snapshot(model.children()[5]);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    await fit({
      model,
      optimizer,
      trainLoader: new ShuffledLoader(train, 16, new Generator(1)),
      epochs: 1,
    });
    expect(snapshot(conv)).toEqual(frozen);
    expect(snapshot(model.children()[5]).weight).not.toEqual(head.weight);
    optimizer.dispose();
    model.dispose();
  });

  it('frees the batch, its gradients and its counts when the optimizer step throws', async () => {
    const model = tinyConvNet(6);
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const before = tf.memory().numTensors;
    optimizer.step = () => {
      throw new Error('step failed');
    };
    for (const accumulate of [1, 2]) {
      const run = fit({
        model,
        optimizer,
        trainLoader: new ShuffledLoader(train, 16, new Generator(1)),
        epochs: 1,
        accumulate,
        gradClip: { maxNorm: 1 },
      });
      await expect(run).rejects.toThrow('step failed');
      expect(tf.memory().numTensors, `accumulate ${accumulate}`).toBe(before);
    }
    optimizer.dispose();
    model.dispose();
  });
});

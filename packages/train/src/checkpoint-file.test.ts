import '@tensorflow/tfjs-backend-cpu';
import { encodeSafetensors, FileFormatError, Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  decodeCheckpointFile,
  encodeCheckpointFile,
  fit,
  OneCycleLR,
  restoreCheckpointFile,
} from './index.js';
import { makeDataset, ShuffledLoader, tinyConvNet } from './testing/fixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function snapshot(tensors: Record<string, tf.Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

/** A model, Adam and one-cycle schedule trained for `epochs` epochs from seed 0. */
async function trained(epochs: number) {
  const model = tinyConvNet(0);
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  const scheduler = new OneCycleLR(optimizer, { maxLr: 0.02, totalSteps: 12 });
  const generator = new Generator(4);
  const trainLoader = new ShuffledLoader(makeDataset(24, 1), 8, generator);
  if (epochs > 0) {
    await fit({ model, optimizer, scheduler, trainLoader, epochs, schedulerInterval: 'batch' });
  }
  return { model, optimizer, scheduler, generator, trainLoader };
}

describe('one-file checkpoints', () => {
  it('round-trip model, optimizer, scheduler and generators, so training goes on identically', async () => {
    const saved = await trained(2);
    const bytes = await encodeCheckpointFile({
      model: saved.model,
      optimizer: saved.optimizer,
      scheduler: saved.scheduler,
      generators: { shuffle: saved.generator },
      epoch: 2,
      extra: { note: 'mid-run' },
    });
    const fresh = await trained(0);
    const restored = restoreCheckpointFile(decodeCheckpointFile(bytes, 'run.safetensors'), {
      model: fresh.model,
      optimizer: fresh.optimizer,
      scheduler: fresh.scheduler,
      generators: { shuffle: fresh.generator },
    });
    expect(restored).toMatchObject({ epoch: 2, extra: { note: 'mid-run' } });
    expect(snapshot(fresh.model.stateDict())).toEqual(snapshot(saved.model.stateDict()));
    expect(fresh.scheduler.stateDict()).toEqual(saved.scheduler.stateDict());
    expect(fresh.generator.getState()).toEqual(saved.generator.getState());
    // One more epoch from each gives the same weights: the optimizer state came back too.
    for (const run of [saved, fresh]) {
      await fit({ ...run, epochs: 3, startEpoch: 2, schedulerInterval: 'batch' });
    }
    expect(snapshot(fresh.model.stateDict())).toEqual(snapshot(saved.model.stateDict()));
  });

  it('refuses a safetensors file that holds no checkpoint, naming it', () => {
    const weights = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: [1] } });
    expect(() => decodeCheckpointFile(weights, 'weights.safetensors')).toThrow(FileFormatError);
    expect(() => decodeCheckpointFile(weights, 'weights.safetensors')).toThrow(
      /^weights\.safetensors: no resnet-ts-checkpoint metadata/,
    );
    expect(() => decodeCheckpointFile(new Uint8Array(3), 'x.safetensors')).toThrow(
      /^x\.safetensors: safetensors: /,
    );
  });
});

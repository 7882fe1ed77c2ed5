import '@tensorflow/tfjs-backend-cpu';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@resnet-ts/core';
import { loadSafetensors } from '@resnet-ts/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Adam,
  checkpointJsonFromText,
  checkpointJsonToText,
  jsonFromText,
  jsonToText,
  ReduceLROnPlateau,
} from '../index.js';
import { loadCheckpoint, saveCheckpoint } from '../node.js';
import { tinyConvNet } from './fixtures.js';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'resnet-ts-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function trainedSetup(seed: number) {
  const model = tinyConvNet(seed);
  const optimizer = new Adam(model.parameters(), { lr: 0.01, amsgrad: true });
  const scheduler = new ReduceLROnPlateau(optimizer, { patience: 0 });
  const grads = model.parameters().map((p) => tf.onesLike(p));
  optimizer.step(grads);
  optimizer.step(grads);
  tf.dispose(grads);
  return { model, optimizer, scheduler };
}

describe('checkpoints', () => {
  it('round-trip model, optimizer, scheduler (with an infinite best) and generators', async () => {
    const a = trainedSetup(1);
    a.scheduler.step(2);
    a.scheduler.step(3); // a plateau: the rate drops to 1e-3
    const shuffle = new Generator(9);
    shuffle.random();
    await saveCheckpoint(join(dir, 'rt'), {
      ...a,
      generators: { shuffle },
      epoch: 2,
      extra: { note: 'x' },
    });

    const b = trainedSetup(2);
    const fresh = new ReduceLROnPlateau(b.optimizer, { patience: 0 });
    expect(fresh.best).toBe(Number.POSITIVE_INFINITY);
    const shuffle2 = new Generator(0);
    const restored = await loadCheckpoint(join(dir, 'rt'), {
      model: b.model,
      optimizer: b.optimizer,
      scheduler: fresh,
      generators: { shuffle: shuffle2 },
    });
    expect(restored.epoch).toBe(2);
    expect(restored.extra).toEqual({ note: 'x' });
    expect(fresh.best).toBe(2);
    expect(b.optimizer.paramGroups[0].lr).toBeCloseTo(1e-3, 12);
    expect(shuffle2.random()).toBe(shuffle.random());
    for (const [k, t] of Object.entries(a.model.stateDict())) {
      expect(Array.from(b.model.stateDict()[k].dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
    const sa = a.optimizer.stateDict();
    const sb = b.optimizer.stateDict();
    expect(Object.keys(sb.state)).toEqual(Object.keys(sa.state));
    for (const [i, st] of Object.entries(sa.state)) {
      expect(sb.state[i].step).toBe(2);
      for (const name of ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq']) {
        expect(Array.from((sb.state[i][name] as tf.Tensor).dataSync())).toEqual(
          Array.from((st[name] as tf.Tensor).dataSync()),
        );
      }
    }
    for (const s of [a, b]) {
      s.optimizer.dispose();
      s.model.dispose();
    }
  });

  it('saves with asynchronous reads only, as GPU backends in Node require', async () => {
    const a = trainedSetup(3);
    // webgpu in Node fails every synchronous read ("OffscreenCanvas is not defined").
    const sync = vi.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(() => {
      throw new Error('OffscreenCanvas is not defined');
    });
    try {
      await saveCheckpoint(join(dir, 'async'), { ...a, epoch: 1 });
    } finally {
      sync.mockRestore();
    }
    const json = JSON.parse(await readFile(join(dir, 'async', 'checkpoint.json'), 'utf8'));
    const file = await loadSafetensors(join(dir, 'async', json.tensorsFile));
    expect(file.tensors['model.1.num_batches_tracked'].dtype).toBe('I64');
    const b = trainedSetup(4);
    await loadCheckpoint(join(dir, 'async'), { model: b.model, optimizer: b.optimizer });
    for (const [k, t] of Object.entries(a.model.stateDict())) {
      expect(Array.from(b.model.stateDict()[k].dataSync()), k).toEqual(Array.from(t.dataSync()));
    }
    for (const s of [a, b]) {
      s.optimizer.dispose();
      s.model.dispose();
    }
  });

  it('keeps one tensor file and leaves the previous checkpoint readable until replaced', async () => {
    const a = trainedSetup(3);
    const d = join(dir, 'atomic');
    await saveCheckpoint(d, { model: a.model, epoch: 1 });
    const first = JSON.parse(await readFile(join(d, 'checkpoint.json'), 'utf8'));
    await saveCheckpoint(d, { model: a.model, epoch: 2 });
    const files = await readdir(d);
    const second = JSON.parse(await readFile(join(d, 'checkpoint.json'), 'utf8'));
    expect(second.epoch).toBe(2);
    expect(files.filter((f) => f.endsWith('.safetensors'))).toEqual([second.tensorsFile]);
    expect(second.tensorsFile).not.toBe(first.tensorsFile);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    a.optimizer.dispose();
    a.model.dispose();
  });

  it('explains a missing or foreign checkpoint', async () => {
    const a = trainedSetup(4);
    await expect(loadCheckpoint(join(dir, 'nothing'), { model: a.model })).rejects.toThrow(
      /no checkpoint in/,
    );
    const d = join(dir, 'foreign');
    await saveCheckpoint(d, { model: a.model });
    await writeFile(join(d, 'checkpoint.json'), JSON.stringify({ format: 'other' }));
    await expect(loadCheckpoint(d, { model: a.model })).rejects.toThrow(
      /does not name its tensor file|not a resnet-ts checkpoint/,
    );
    await saveCheckpoint(d, { model: a.model });
    await expect(loadCheckpoint(d, { model: a.model, optimizer: a.optimizer })).rejects.toThrow(
      /no optimizer state/,
    );
    a.optimizer.dispose();
    a.model.dispose();
  });

  it('JSON keeps non-finite numbers', () => {
    const json = {
      format: 'resnet-ts-checkpoint',
      version: 1,
      epoch: 0,
      model: [],
      extra: [Infinity, -Infinity, NaN, 1],
    } as const;
    const back = checkpointJsonFromText(checkpointJsonToText(json as any));
    expect(back.extra).toEqual([Infinity, -Infinity, NaN, 1]);
    const run = { best: -Infinity, losses: [NaN, 0.5], note: { $number: 3 } };
    expect(JSON.parse(jsonToText(run)).best).toEqual({ $number: '-Infinity' });
    expect(jsonFromText(jsonToText(run, 2))).toEqual(run);
  });
});

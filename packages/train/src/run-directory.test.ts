import '@tensorflow/tfjs-backend-cpu';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, Generator, Module } from '@resnet-ts/core';
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
  SGD,
  StepLR,
} from './index.js';
import {
  cleanRunDirectory,
  findCheckpoint,
  latestCheckpoint,
  loadCheckpoint,
  readMetrics,
  resolveInside,
  saveCheckpoint,
  writeMetrics,
} from './node.js';
import { tinyConvNet } from './testing/fixtures.js';

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

function dispose(...setups: Array<{ model: Module; optimizer: { dispose(): void } }>) {
  for (const s of setups) {
    s.optimizer.dispose();
    s.model.dispose();
  }
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('run directory checkpoints', () => {
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
    expect(restored.dir).toBe(join(dir, 'rt', 'checkpoints', 'epoch-2'));
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
    dispose(a, b);
  });

  it("writes the CLI's layout: a pointer, one epoch directory, weights with their metadata", async () => {
    const a = trainedSetup(3);
    const run = join(dir, 'layout');
    // webgpu in Node fails every synchronous read ("OffscreenCanvas is not defined").
    const sync = vi.spyOn(tf.Tensor.prototype, 'dataSync').mockImplementation(() => {
      throw new Error('OffscreenCanvas is not defined');
    });
    try {
      await saveCheckpoint(run, { ...a, epoch: 1 }, { weightsMetadata: { note: 'one' } });
      await saveCheckpoint(run, { ...a, epoch: 2 }, { weightsMetadata: { note: 'two' } });
    } finally {
      sync.mockRestore();
    }
    expect(readJson(join(run, 'checkpoint.json'))).toEqual({
      latest: 'checkpoints/epoch-2',
      epoch: 2,
    });
    expect(readdirSync(join(run, 'checkpoints'))).toEqual(['epoch-2']);
    const epochDir = join(run, 'checkpoints', 'epoch-2');
    expect(readdirSync(epochDir).sort()).toEqual([
      'model.safetensors',
      'optimizer.safetensors',
      'state.json',
    ]);
    const weights = await loadSafetensors(join(epochDir, 'model.safetensors'));
    expect(weights.metadata.note).toBe('two');
    expect(Object.keys(weights.tensors)).toEqual(Object.keys(a.model.stateDict()));
    expect(weights.tensors['1.num_batches_tracked'].dtype).toBe('I64');
    const optimizer = await loadSafetensors(join(epochDir, 'optimizer.safetensors'));
    expect(Object.keys(optimizer.tensors)).toContain('optimizer.0.exp_avg');
    expect(readJson(join(epochDir, 'state.json')).epoch).toBe(2);
    expect(await findCheckpoint(run)).toEqual({
      runDir: run,
      dir: epochDir,
      weights: join(epochDir, 'model.safetensors'),
    });
    dispose(a);
  });

  it('explains a missing, foreign or incomplete checkpoint, naming the file and field', async () => {
    const a = trainedSetup(4);
    await expect(loadCheckpoint(join(dir, 'nothing'), { model: a.model })).rejects.toThrow(
      /no file at .*nothing.*state\.json; expected a checkpoint state/,
    );
    const run = join(dir, 'foreign');
    await saveCheckpoint(run, { model: a.model, epoch: 1 });
    const state = join(run, 'checkpoints', 'epoch-1', 'state.json');
    writeFileSync(state, JSON.stringify({ format: 'other' }));
    await expect(loadCheckpoint(run, { model: a.model })).rejects.toThrow(
      /state\.json: format: .*resnet-ts-checkpoint/,
    );
    writeFileSync(state, 'null');
    await expect(loadCheckpoint(run, { model: a.model })).rejects.toThrow(/state\.json: /);
    await saveCheckpoint(run, { model: a.model, epoch: 1 });
    await expect(loadCheckpoint(run, { model: a.model, optimizer: a.optimizer })).rejects.toThrow(
      /no optimizer state/,
    );
    const tensors = join(run, 'checkpoints', 'epoch-1', 'optimizer.safetensors');
    await rm(tensors);
    symlinkSync('/dev/zero', tensors);
    await expect(loadCheckpoint(run, { model: a.model })).rejects.toThrow(
      /optimizer\.safetensors is a character device \(through a symbolic link\)/,
    );
    dispose(a);
  });

  it.each([
    ['"../../victim"', { latest: '../../victim', epoch: 1 }],
    ['"."', { latest: '.', epoch: 1 }],
    ['an absolute path', { latest: '/tmp', epoch: 1 }],
    ['a path through ..', { latest: 'checkpoints/epoch-1/../../..', epoch: 1 }],
    ['null', null],
    ['a number for latest', { latest: 3, epoch: 1 }],
  ])(
    'refuses a pointer to %s and never removes anything outside the run',
    async (name, pointer) => {
      const root = join(dir, `hostile-${name.replace(/\W/g, '')}`);
      const victim = join(root, 'victim');
      mkdirSync(join(victim, 'inside'), { recursive: true });
      writeFileSync(join(victim, 'inside', 'keep.txt'), 'keep');
      const run = join(root, 'runs', 'a');
      const a = trainedSetup(5);
      await saveCheckpoint(run, { model: a.model, epoch: 1 });
      writeFileSync(join(run, 'checkpoint.json'), JSON.stringify(pointer));
      await expect(latestCheckpoint(run)).rejects.toThrow(/checkpoint\.json: /);
      await expect(loadCheckpoint(run, { model: a.model })).rejects.toThrow(/checkpoint\.json: /);
      await expect(cleanRunDirectory(run)).rejects.toThrow(/checkpoint\.json: /);
      // A save replaces the pointer and removes only its own superseded epoch directories.
      await saveCheckpoint(run, { model: a.model, epoch: 2 });
      expect(readFileSync(join(victim, 'inside', 'keep.txt'), 'utf8')).toBe('keep');
      expect(existsSync(join(run, 'checkpoints', 'epoch-2', 'model.safetensors'))).toBe(true);
      dispose(a);
    },
  );

  it('refuses an epoch directory that is a link out of the run, and leaves its target alone', async () => {
    const root = join(dir, 'linked');
    const outside = join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    const run = join(root, 'run');
    const a = trainedSetup(6);
    await saveCheckpoint(run, { model: a.model, epoch: 1 });
    await rm(join(run, 'checkpoints', 'epoch-1'), { recursive: true });
    symlinkSync(outside, join(run, 'checkpoints', 'epoch-1'));
    await expect(latestCheckpoint(run)).rejects.toThrow(/leads outside/);
    await saveCheckpoint(run, { model: a.model, epoch: 2 });
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep');
    dispose(a);
  });

  it('resolveInside keeps paths from files inside their directory', () => {
    expect(resolveInside('/r', 'checkpoints/epoch-1', 'f')).toBe('/r/checkpoints/epoch-1');
    for (const bad of ['', '.', './', '..', 'a/../..', '/etc', 'C:\\x', 'a\\..\\..', 'a\0b']) {
      expect(() => resolveInside('/r', bad, 'f.json'), bad).toThrow(/^f\.json: path /);
    }
  });

  it('cleans what a killed process left: temporary files, stale epochs, "running" metrics', async () => {
    const a = trainedSetup(7);
    const run = join(dir, 'leftovers');
    await saveCheckpoint(run, { model: a.model, epoch: 1 });
    await writeMetrics(run, { epochs: [], status: 'running' });
    // A crash mid-save of epoch 2: the directory exists, the pointer still says epoch 1.
    mkdirSync(join(run, 'checkpoints', 'epoch-2'));
    writeFileSync(join(run, 'checkpoints', 'epoch-2', 'model.safetensors'), 'partial');
    writeFileSync(join(run, '.checkpoint.json.99999999.0123456789ab.tmp'), '{');
    writeFileSync(join(run, 'checkpoints', 'epoch-1', '.state.json.99999999.abcdefabcdef.tmp'), '');
    writeFileSync(join(run, 'notes.tmp'), 'the user');
    mkdirSync(join(run, 'checkpoints', 'mine'));
    const removed = await cleanRunDirectory(run);
    expect(removed.map((p) => p.slice(run.length + 1)).sort()).toEqual([
      '.checkpoint.json.99999999.0123456789ab.tmp',
      'checkpoints/epoch-1/.state.json.99999999.abcdefabcdef.tmp',
      'checkpoints/epoch-2',
    ]);
    expect(existsSync(join(run, 'notes.tmp'))).toBe(true);
    expect(existsSync(join(run, 'checkpoints', 'mine'))).toBe(true);
    expect((await readMetrics(run))?.status).toBe('interrupted');
    dispose(a);
  });

  it('restores a run directory written by the 0.1.0 command line', async () => {
    const fixture = fileURLToPath(
      new URL('../../../apps/node-trainer/src/__fixtures__/run-made-by-0.1.0', import.meta.url),
    );
    const epochDir = join(fixture, 'checkpoints', 'epoch-1');
    expect(await latestCheckpoint(fixture)).toBe(epochDir);
    // A module with the saved names and shapes, in the saved order (the optimizer's indices).
    const header = decodeSafetensors(readFileSync(join(epochDir, 'model.safetensors')));
    const names = readJson(join(epochDir, 'state.json')).model as string[];
    const model = new Module();
    const children = new Map<string, Module>();
    for (const key of names) {
      const [child, param] = key.split('.');
      if (!children.has(child)) children.set(child, model.registerModule(child, new Module()));
      children.get(child)!.registerParameter(param, tf.zeros(header.tensors[key].shape));
    }
    const optimizer = new SGD(model.parameters(), { lr: 1, momentum: 0.5 });
    const scheduler = new StepLR(optimizer, { stepSize: 1, gamma: 0.1 });
    const loader = new Generator(0);
    const restored = await loadCheckpoint(fixture, {
      model,
      optimizer,
      scheduler,
      generators: { loader, augment: new Generator(0) },
    });
    expect(restored.epoch).toBe(1);
    expect(restored.history).toHaveLength(1);
    expect((restored.extra as { recipe: { optimizer: string } }).recipe.optimizer).toBe('sgd');
    expect(optimizer.paramGroups[0].momentum).toBe(0.9);
    const w = header.tensors['fc2.bias'];
    const saved = new Float32Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + 40));
    expect(Array.from(model.stateDict()['fc2.bias'].dataSync())).toEqual(Array.from(saved));
    optimizer.dispose();
    model.dispose();
  });
});

describe('checkpoint JSON', () => {
  it('keeps non-finite numbers', () => {
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

  it('refuses deep nesting before parsing, and wrong fields with their path', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => jsonFromText(deep, 'deep.json')).toThrow(
      /^deep\.json: refused: JSON nesting is deeper than 128/,
    );
    expect(() => jsonFromText('{"a": "[[[["}', 'ok.json')).not.toThrow();
    expect(() => checkpointJsonFromText('{', 'bad.json')).toThrow(/^bad\.json: not valid JSON/);
    const wrongEpoch = JSON.stringify({
      format: 'resnet-ts-checkpoint',
      version: 1,
      epoch: -1,
      model: [],
    });
    expect(() => checkpointJsonFromText(wrongEpoch, 's.json')).toThrow(/^s\.json: epoch: /);
    const wrongGenerator = JSON.stringify({
      format: 'resnet-ts-checkpoint',
      version: 1,
      epoch: 1,
      model: [],
      generators: { loader: { algorithm: 'xoshiro128**', state: [1, 2, 3] } },
    });
    expect(() => checkpointJsonFromText(wrongGenerator, 's.json')).toThrow(
      /^s\.json: generators\.loader\.state\[3\]: /,
    );
  });
});

describe('metrics files', () => {
  it('writes CSV and JSON atomically and reads them back validated', async () => {
    const run = join(dir, 'metrics');
    mkdirSync(run);
    await writeMetrics(run, {
      epochs: [
        {
          epoch: 1,
          trainLoss: 0.5,
          trainAccuracy: 0.9,
          valLoss: null,
          valAccuracy: null,
          lr: 0.01,
          imagesPerSec: 100,
          seconds: 2,
        },
      ],
      status: 'completed',
    });
    expect(await readFile(join(run, 'metrics.csv'), 'utf8')).toBe(
      'epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,images_per_sec,seconds\n1,0.5,0.9,,,0.01,100,2\n',
    );
    expect((await readMetrics(run))?.epochs[0].valLoss).toBeNull();
    expect(readdirSync(run).sort()).toEqual(['metrics.csv', 'metrics.json']);
    writeFileSync(join(run, 'metrics.json'), '{"epochs": [], "status": "done"}');
    await expect(readMetrics(run)).rejects.toThrow(/metrics\.json: status: /);
  });
});

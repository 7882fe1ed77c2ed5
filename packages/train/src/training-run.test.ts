import '@tensorflow/tfjs-backend-cpu';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EpochLogs, SGD } from './index.js';
import { openRun, ResumeError, scheduleFixesEpochs, TrainingRun } from './node.js';
import { LinearProbe, tinyConvNet } from './testing/fixtures.js';

let parent: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  parent = await mkdtemp(join(tmpdir(), 'resnet-ts-run-'));
});
afterAll(() => rm(parent, { recursive: true, force: true }));

const runSchema = v.object({ recipe: v.object({ epochs: v.number() }) });

const logs = (epoch: number): EpochLogs => ({
  epoch,
  trainLoss: 1 / (epoch + 1),
  trainAcc: 0.5 + epoch / 10,
  valLoss: Number.NaN,
  valAcc: Number.NaN,
  lr: 0.1,
  imagesPerSec: 100,
  seconds: 2,
});

function setup(seed: number) {
  const model = tinyConvNet(seed);
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  return { model, optimizer, generators: { loader: new Generator(seed) } };
}

/** A run of `epochs` epochs of which `done` were recorded and checkpointed, then `status`. */
async function runWith(done: number, epochs: number, status?: 'completed' | 'interrupted') {
  const t = setup(1);
  const run = await TrainingRun.create(parent, { recipe: { epochs } });
  const saved: number[] = [];
  const recorder = run.recorder();
  const hook = run.checkpoint({
    generators: t.generators,
    extra: { note: 'x' },
    weightsMetadata: (epoch) => ({ epoch: String(epoch) }),
    onSaved: (_dir, epoch) => saved.push(epoch),
  });
  const history: EpochLogs[] = [];
  for (let e = 0; e < done; e++) {
    history.push(logs(e));
    await recorder.onEpochEnd!(e, logs(e));
    await hook.save({ ...t, epoch: e + 1, history });
  }
  if (status) await run.finish(status);
  t.model.dispose();
  return { run, saved };
}

describe('TrainingRun', () => {
  it('records every epoch in metrics.json/.csv and a checkpoint the pointer names', async () => {
    const { run, saved } = await runWith(2, 3);
    expect(saved).toEqual([1, 2]);
    expect(run.lastCheckpoint).toEqual({
      dir: join(run.runDir, 'checkpoints', 'epoch-2'),
      epoch: 2,
    });
    const metrics = JSON.parse(readFileSync(join(run.runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('running');
    expect(metrics.epochs.map((m: { epoch: number }) => m.epoch)).toEqual([1, 2]);
    expect(metrics.epochs[1].trainLoss).toBe(0.5);
    expect(readFileSync(join(run.runDir, 'metrics.csv'), 'utf8').split('\n')[2]).toBe(
      '2,0.5,0.6,,,0.1,100,2',
    );
    expect(JSON.parse(readFileSync(join(run.runDir, 'checkpoint.json'), 'utf8'))).toEqual({
      latest: 'checkpoints/epoch-2',
      epoch: 2,
    });
    await run.finish('completed', { accuracy: 0.75, loss: 0.5, correct: 3, total: 4 });
    const after = JSON.parse(readFileSync(join(run.runDir, 'metrics.json'), 'utf8'));
    expect(after.status).toBe('completed');
    expect(after.test).toEqual({ accuracy: 0.75, loss: 0.5, correct: 3, total: 4 });
  });

  it('resumes from the latest checkpoint with its epochs, history and weights', async () => {
    const { run } = await runWith(2, 3, 'interrupted');
    const reference = setup(1);
    const t = setup(99);
    const { run: resumed, removed } = await TrainingRun.resume(run.runDir, t, { epochs: 3 });
    expect(removed).toEqual([]);
    expect(resumed.startEpoch).toBe(2);
    expect(resumed.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(resumed.metrics).toEqual({
      epochs: [expect.objectContaining({ epoch: 1 }), expect.objectContaining({ epoch: 2 })],
      status: 'running',
    });
    expect(resumed.lastCheckpoint?.epoch).toBe(2);
    const [a, b] = [t.model.parameters()[0], reference.model.parameters()[0]];
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    t.model.dispose();
    reference.model.dispose();
  });

  it('cleans what a killed save left, but only after the checkpoint was read', async () => {
    const { run } = await runWith(1, 3);
    const stale = join(run.runDir, 'checkpoints', 'epoch-2');
    // A write of a process that is gone (no pid is this large).
    const temp = join(run.runDir, '.metrics.json.4194305.0123456789ab.tmp');
    writeFileSync(temp, 'partial');
    mkdirSync(stale);
    const t = setup(1);
    const { removed } = await TrainingRun.resume(run.runDir, t, { epochs: 3 });
    t.model.dispose();
    expect(removed).toContain(stale);
    expect(removed).toContain(temp);
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(stale)).toBe(false);
    // A run that was still "running" when it was killed is recorded as interrupted.
    const metrics = JSON.parse(readFileSync(join(run.runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('interrupted');
  });

  it('refuses fewer epochs than were done, and a completed run at its total', async () => {
    const { run } = await runWith(2, 2, 'completed');
    const t = setup(1);
    const fewer = await TrainingRun.resume(run.runDir, t, { epochs: 1 }).catch((e) => e);
    expect(fewer).toBeInstanceOf(ResumeError);
    expect(fewer).toMatchObject({ problem: 'fewer-epochs', epoch: 2 });
    const done = await TrainingRun.resume(run.runDir, t, {
      epochs: 2,
      showPath: () => 'RUN',
    }).catch((e) => e);
    expect(done).toMatchObject({ problem: 'done', epoch: 2 });
    expect(done.message).toBe('RUN already completed 2 of 2 epochs');
    const more = await TrainingRun.resume(run.runDir, t, { epochs: 4 });
    expect(more.run.startEpoch).toBe(2);
    t.model.dispose();
  });

  it('names the file when a checkpoint does not fit the model given', async () => {
    const { run } = await runWith(1, 2);
    const other = { model: new LinearProbe(0) };
    const e = await TrainingRun.resume(run.runDir, other, { epochs: 2 }).catch((x) => x);
    expect(e).toBeInstanceOf(ResumeError);
    expect(e.problem).toBe('unreadable');
    expect(e.message).toMatch(new RegExp(`^cannot resume ${run.runDir}: `));
    other.model.dispose();
  });
});

describe('openRun', () => {
  it('returns the validated run.json and pointer of a run with a checkpoint', async () => {
    const { run } = await runWith(1, 5);
    const opened = await openRun(run.runDir, runSchema);
    expect(opened.run).toEqual({ recipe: { epochs: 5 } });
    expect(opened.pointer).toEqual({ latest: 'checkpoints/epoch-1', epoch: 1 });
  });

  it('says why a directory cannot be resumed', async () => {
    const problem = (dir: string) =>
      openRun(dir, runSchema).then(
        () => 'opened',
        (e: ResumeError) => [e.problem, e.message],
      );
    expect(await problem(parent)).toEqual([
      'not-a-run',
      `cannot resume ${parent}: no run.json there (expected a directory made by resnet-ts train)`,
    ]);
    const { run: fresh } = await runWith(0, 2);
    expect(await problem(fresh.runDir)).toEqual([
      'no-checkpoint',
      `cannot resume ${fresh.runDir}: no epoch was completed, so there is no checkpoint; start a new run`,
    ]);
    writeFileSync(join(fresh.runDir, 'run.json'), '{"recipe":{"epochs":"many"}}');
    const [kind, message] = (await problem(fresh.runDir)) as string[];
    expect(kind).toBe('unreadable');
    expect(message).toContain('recipe.epochs');
  });
});

describe('scheduleFixesEpochs', () => {
  it('is true only for the schedules planned over the total epochs', () => {
    expect(
      ['onecycle', 'cosine', 'step', 'multistep', 'plateau', 'none'].map((n) =>
        scheduleFixesEpochs(n as 'step'),
      ),
    ).toEqual([true, true, false, false, false, false]);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonEvents, runCli } from './run-cli.js';

// A slice small enough for seconds on the wasm path, big enough that every stage runs.
const SLICE = [
  '--limit-train',
  '320',
  '--limit-test',
  '128',
  '--batch-size',
  '32',
  '--backend',
  'wasm',
];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'resnet-ts-train-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('train --json', () => {
  let events: Array<Record<string, any>>;
  let runDir: string;

  beforeAll(async () => {
    const r = await runCli([
      'train',
      '--epochs',
      '2',
      '--json',
      '--out',
      join(tmp, 'runs'),
      ...SLICE,
    ]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    events = jsonEvents(r.stdout);
    runDir = events.find((e) => e.event === 'done')!.runDir;
  });

  it('reports the backend it picked and every one it tried', () => {
    const backend = events.find((e) => e.event === 'backend')!;
    expect(backend.name).toBe('wasm');
    expect(backend.tried).toEqual([{ name: 'wasm', ok: true, reason: expect.any(String) }]);
  });

  it('emits one event per epoch with the figures of the table', () => {
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of epochs) {
      expect(e.epochs).toBe(2);
      expect(e.trainLoss).toBeGreaterThan(0);
      expect(e.trainAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.trainAccuracy).toBeLessThanOrEqual(1);
      expect(e.valLoss).toBeGreaterThan(0);
      expect(e.imagesPerSec).toBeGreaterThan(0);
      expect(e.seconds).toBeGreaterThan(0);
    }
    // Learning happened: the second epoch's training loss is below the first's.
    expect(epochs[1].trainLoss).toBeLessThan(epochs[0].trainLoss);
  });

  it('ends with the test accuracy on the held-out slice', () => {
    const done = events.find((e) => e.event === 'done')!;
    expect(done.total).toBe(128);
    expect(done.correct).toBe(Math.round(done.accuracy * 128));
    // Two epochs on 288 digits are far above the 10% of guessing.
    expect(done.accuracy).toBeGreaterThan(0.3);
    expect(events.at(-1)!.event).toBe('done');
  });

  it('writes run.json, the checkpoint and the metrics under runs/<timestamp>/', () => {
    expect(runDir.startsWith(join(tmp, 'runs'))).toBe(true);
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(run.model).toEqual({ name: 'vanresnet', inChannels: 1, inputSize: 28, numClasses: 10 });
    expect(run.recipe.epochs).toBe(2);
    const pointer = JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8'));
    expect(pointer).toEqual({ latest: 'checkpoints/epoch-2', epoch: 2 });
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
      expect(existsSync(join(runDir, 'checkpoints/epoch-2', f))).toBe(true);
    }
    // Only the latest epoch is kept.
    expect(existsSync(join(runDir, 'checkpoints/epoch-1'))).toBe(false);
    const csv = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,images_per_sec,seconds',
    );
    expect(csv).toHaveLength(3);
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('completed');
    expect(metrics.epochs).toHaveLength(2);
    const done = events.find((e) => e.event === 'done')!;
    expect(metrics.test.accuracy).toBe(done.accuracy);
  });

  it('eval on the run gives the same test accuracy and a consistent confusion matrix', async () => {
    const r = await runCli(['eval', runDir, '--limit-test', '128', '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    const ev = jsonEvents(r.stdout).find((e) => e.event === 'eval')!;
    const done = events.find((e) => e.event === 'done')!;
    expect(ev.total).toBe(128);
    expect(ev.accuracy).toBeCloseTo(done.accuracy, 10);
    const m: number[][] = ev.confusionMatrix;
    expect(m).toHaveLength(10);
    expect(m.flat().reduce((a, b) => a + b, 0)).toBe(128);
    expect(m.reduce((s, row, i) => s + row[i], 0)).toBe(ev.correct);
  });

  it('eval prints the confusion matrix as a table for people', async () => {
    const r = await runCli([
      'eval',
      join(runDir, 'checkpoints/epoch-2/model.safetensors'),
      '--limit-test',
      '64',
      '--backend',
      'wasm',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Confusion matrix \(rows: true class, columns: predicted\)/);
    expect(r.stdout).toMatch(/Test accuracy: \d+\.\d\d% \(\d+\/64\)/);
  });
});

describe('train without --json', () => {
  it('prints the backend report, a line per epoch, the table and the test accuracy', async () => {
    const r = await runCli(['train', '--epochs', '1', '--out', join(tmp, 'plain'), ...SLICE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm\n {2}✓ wasm/);
    expect(r.stdout).toMatch(/epoch 1\/1 {2}train loss \d\.\d{4} acc [\d.]+% {2}val loss/);
    expect(r.stdout).toMatch(/epoch +train loss +train acc +val loss +val acc +lr +img\/s +time/);
    expect(r.stdout).toMatch(/Test accuracy: \d+\.\d\d% \(\d+\/128\)/);
    // No progress bar redraws in a pipe.
    expect(r.stdout).not.toContain('\r');
  });

  it('--quiet prints only the result', async () => {
    const r = await runCli([
      'train',
      '--epochs',
      '1',
      '--quiet',
      '--out',
      join(tmp, 'quiet'),
      ...SLICE,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stdout).toMatch(/^Test accuracy: /);
  });
});

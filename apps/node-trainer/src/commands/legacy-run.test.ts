import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

// A run directory written by resnet-ts 0.1.0 (before train/node owned the format):
// `train --epochs 1 --optimizer sgd --scheduler step --limit-train 64 --limit-test 32
// --batch-size 32 --backend wasm --seed 3`. Runs made before the change must keep working.
const FIXTURE = fileURLToPath(new URL('../__fixtures__/run-made-by-0.1.0', import.meta.url));

const tmp = tempDir('legacy');
let runDir: string;
beforeAll(() => {
  runDir = join(tmp, 'run');
  cpSync(FIXTURE, runDir, { recursive: true });
});

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('a run directory written by resnet-ts 0.1.0', () => {
  it('evaluates to the test accuracy it recorded', async () => {
    const recorded = readJson(join(FIXTURE, 'metrics.json')).test;
    const r = await runCli(['eval', runDir, '--limit-test', '32', '--backend', 'wasm', '--json']);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const ev = jsonEvents(r.stdout).find((e) => e.event === 'eval')!;
    expect(ev.total).toBe(recorded.total);
    expect(ev.correct).toBe(recorded.correct);
    expect(ev.loss).toBeCloseTo(recorded.loss, 4);
  });

  it('resumes for a second epoch, keeping its recipe and moving the pointer', async () => {
    const r = await runCli([
      'train',
      '--resume',
      runDir,
      '--epochs',
      '2',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const events = jsonEvents(r.stdout);
    const start = events.find((e) => e.event === 'start')!;
    expect(start.startEpoch).toBe(1);
    expect(start.recipe).toMatchObject({ optimizer: 'sgd', scheduler: 'step', seed: 3, epochs: 2 });
    expect(events.filter((e) => e.event === 'epoch').map((e) => e.epoch)).toEqual([2]);
    expect(readJson(join(runDir, 'checkpoint.json'))).toEqual({
      latest: 'checkpoints/epoch-2',
      epoch: 2,
    });
    expect(existsSync(join(runDir, 'checkpoints/epoch-1'))).toBe(false);
    const metrics = readJson(join(runDir, 'metrics.json'));
    expect(metrics.status).toBe('completed');
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);
    expect(readJson(join(runDir, 'run.json')).recipe.epochs).toBe(2);

    const ev = await runCli(['eval', runDir, '--limit-test', '32', '--backend', 'wasm', '--json']);
    expect(ev.code).toBe(0);
    const done = events.find((e) => e.event === 'done')!;
    expect(jsonEvents(ev.stdout).find((e) => e.event === 'eval')!.correct).toBe(done.correct);
  });
});

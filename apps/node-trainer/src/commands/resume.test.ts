import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonEvents, runCli, startCli, tempDir, waitForOutput } from '../testing/run-cli.js';

const RUN = [
  'train',
  '--epochs',
  '3',
  '--limit-train',
  '128',
  '--limit-test',
  '64',
  '--batch-size',
  '16',
  '--backend',
  'wasm',
  '--seed',
  '7',
  '--json',
  '--log-every',
  '1',
];

/**
 * 64 batches an epoch: a signal sent when epoch 2's second batch is reported must land inside
 * epoch 2 although a batch takes a few milliseconds (at 8 batches an epoch it once landed
 * after the epoch's last batch).
 */
const LONG_EPOCHS = ['--limit-train', '512', '--batch-size', '8'];

const tmp = tempDir('resume');

const lines = (out: string) => jsonEvents(out.slice(0, out.lastIndexOf('\n') + 1));

describe('Ctrl-C and --resume', () => {
  it('stops at the end of a batch with exit 130, and --resume finishes exactly like an uninterrupted run', async () => {
    const p = startCli([...RUN, ...LONG_EPOCHS, '--out', join(tmp, 'interrupted')]);
    // Interrupt in the middle of epoch 2, after epoch 1's checkpoint is on disk.
    await waitForOutput(p, (out) =>
      lines(out).some((e) => e.event === 'batch' && e.epoch === 2 && e.batch === 2),
    );
    p.child.kill('SIGINT');
    const stopped = await p.done;
    expect(stopped.code).toBe(130);
    const events = jsonEvents(stopped.stdout);
    const finished = events.filter((e) => e.event === 'epoch').length;
    const interrupted = events.find((e) => e.event === 'interrupted')!;
    expect(interrupted).toMatchObject({ epoch: finished, resumable: true });
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThan(3);
    // It stopped at the end of a batch: no further epoch started its batches after the signal.
    const lastBatch = events.filter((e) => e.event === 'batch').at(-1)!;
    expect(lastBatch.epoch).toBe(finished + 1);
    expect(lastBatch.batch).toBeLessThan(lastBatch.batches);
    const runDir: string = interrupted.runDir;
    expect(JSON.parse(readFileSync(join(runDir, 'checkpoint.json'), 'utf8')).epoch).toBe(finished);
    expect(JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')).status).toBe(
      'interrupted',
    );

    const resumed = await runCli(['train', '--resume', runDir, '--json', '--backend', 'wasm']);
    expect(resumed.stderr).not.toMatch(/^error:/m);
    expect(resumed.code).toBe(0);
    const after = jsonEvents(resumed.stdout);
    expect(after.find((e) => e.event === 'start')!.startEpoch).toBe(finished);
    expect(after.filter((e) => e.event === 'epoch').map((e) => e.epoch)).toEqual(
      [1, 2, 3].slice(finished),
    );
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('completed');
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3]);

    // OneCycle's every step depends on the total, so the total cannot change on resume.
    const longer = await runCli([
      'train',
      '--resume',
      runDir,
      '--epochs',
      '4',
      '--backend',
      'wasm',
    ]);
    expect(longer.code).toBe(2);
    expect(longer.stderr).toMatch(
      /--epochs cannot change when resuming a run with the onecycle schedule/,
    );

    const straight = await runCli([...RUN, ...LONG_EPOCHS, '--out', join(tmp, 'straight')]);
    expect(straight.code).toBe(0);
    const reference = jsonEvents(straight.stdout);
    const refEpochs = reference.filter((e) => e.event === 'epoch');
    expect(metrics.epochs.map((e: { trainLoss: number }) => e.trainLoss)).toEqual(
      refEpochs.map((e) => e.trainLoss),
    );
    const done = after.find((e) => e.event === 'done')!;
    const refDone = reference.find((e) => e.event === 'done')!;
    expect(done.correct).toBe(refDone.correct);
    expect(done.loss).toBe(refDone.loss);
  });

  it('after SIGKILL, --resume clears the leftovers of the crash and finishes the run', async () => {
    const p = startCli([...RUN, ...LONG_EPOCHS, '--out', join(tmp, 'killed')]);
    await waitForOutput(p, (out) =>
      lines(out).some((e) => e.event === 'batch' && e.epoch === 2 && e.batch === 2),
    );
    p.child.kill('SIGKILL');
    await p.done;
    const runDir: string = lines(p.stdout()).find((e) => e.event === 'start')!.runDir;
    expect(JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')).status).toBe('running');
    // What a kill in the middle of the next save leaves: temporary files, a partial epoch.
    writeFileSync(join(runDir, '.checkpoint.json.99999999.0123456789ab.tmp'), '{"lat');
    mkdirSync(join(runDir, 'checkpoints', 'epoch-9'));
    writeFileSync(join(runDir, 'checkpoints', 'epoch-9', 'model.safetensors'), 'partial');
    writeFileSync(join(runDir, 'checkpoints', '.x.99999999.abcdefabcdef.tmp'), '');

    const resumed = await runCli(['train', '--resume', runDir, '--backend', 'wasm']);
    expect(resumed.stderr).not.toMatch(/^error:/m);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/Removed what an interrupted save left: .*epoch-9/);
    expect(readdirSync(runDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(join(runDir, 'checkpoints'))).toEqual(['epoch-3']);
    const metrics = JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8'));
    expect(metrics.status).toBe('completed');
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2, 3]);
  });

  it('a run killed after its last checkpoint but before its test is finished by --resume', async () => {
    const straight = await runCli([...RUN, '--epochs', '1', '--out', join(tmp, 'last')]);
    expect(straight.code).toBe(0);
    const done = jsonEvents(straight.stdout).find((e) => e.event === 'done')!;
    const metricsFile = join(done.runDir, 'metrics.json');
    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8'));
    writeFileSync(metricsFile, JSON.stringify({ epochs: metrics.epochs, status: 'running' }));
    const resumed = await runCli(['train', '--resume', done.runDir, '--backend', 'wasm', '--json']);
    expect(resumed.code).toBe(0);
    const events = jsonEvents(resumed.stdout);
    expect(events.filter((e) => e.event === 'epoch')).toEqual([]);
    expect(events.find((e) => e.event === 'done')!.correct).toBe(done.correct);
    expect(JSON.parse(readFileSync(metricsFile, 'utf8'))).toEqual(metrics);
  });

  it('before the first epoch completes, says nothing was saved and refuses --resume', async () => {
    // A longer epoch, so that the signal surely lands inside the first one.
    const p = startCli([...RUN, '--limit-train', '2048', '--out', join(tmp, 'early')]);
    await waitForOutput(p, (out) => lines(out).some((e) => e.event === 'batch'));
    p.child.kill('SIGINT');
    const stopped = await p.done;
    expect(stopped.code).toBe(130);
    const interrupted = jsonEvents(stopped.stdout).find((e) => e.event === 'interrupted')!;
    expect(interrupted).toMatchObject({ epoch: 0, resumable: false });
    const again = await runCli(['train', '--resume', interrupted.runDir, '--backend', 'wasm']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no epoch was completed/);
  });

  it('stops a diverging run with a clear message and exit code 1', async () => {
    const r = await runCli([
      'train',
      '--optimizer',
      'sgd',
      '--lr',
      '1e12',
      '--scheduler',
      'none',
      '--epochs',
      '2',
      '--limit-train',
      '64',
      '--limit-test',
      '16',
      '--batch-size',
      '16',
      '--backend',
      'wasm',
      '--out',
      join(tmp, 'nan'),
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /training diverged: the loss became (NaN|-?Infinity) at epoch 1, batch \d+/,
    );
    expect(r.stderr).toMatch(/No epoch had completed, so there is no checkpoint/);
    const runDir = jsonEvents(r.stdout).find((e) => e.event === 'start')!.runDir;
    expect(JSON.parse(readFileSync(join(runDir, 'metrics.json'), 'utf8')).status).toBe('failed');
    expect(existsSync(join(runDir, 'checkpoint.json'))).toBe(false);
  });
});

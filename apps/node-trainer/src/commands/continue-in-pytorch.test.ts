import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, selectBackend } from '@resnet-ts/core';
import { parseMnistDigits } from '@resnet-ts/data';
import {
  fromTorchOptimizerState,
  fromTorchSchedulerState,
  loadTorchStateDict,
  readTorchFile,
  type TorchValue,
  VanResNet,
} from '@resnet-ts/models';
import { SGD, StepLR } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

// Debian's interpreter by default: python3-torch installs there, not in a pyenv or venv.
const PYTHON = process.env.RESNET_TS_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(
  new URL('../../../../examples/continue-in-pytorch/continue-ddp.py', import.meta.url),
);
const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
  encoding: 'utf8',
});
const torchVersion = probe.status === 0 ? probe.stdout.trim() : null;
const SKIP_REASON = `needs ${PYTHON} with torch (Debian's python3-torch): ${probe.error?.message ?? probe.stderr?.trim().split('\n').pop() ?? 'not found'}`;

const tmp = tempDir('continue');

describe('examples/continue-in-pytorch', () => {
  it('a run exported with its training state continues under DDP in 2 PyTorch processes and comes back', async (ctx) => {
    if (!torchVersion) ctx.skip(SKIP_REASON);
    const train = await runCli([
      'train',
      '--epochs',
      '1',
      '--limit-train',
      '512',
      '--limit-test',
      '64',
      '--batch-size',
      '32',
      '--optimizer',
      'sgd',
      '--lr',
      '0.05',
      '--momentum',
      '0.9',
      '--scheduler',
      'step',
      '--backend',
      'wasm',
      '--seed',
      '1',
      '--json',
      '--out',
      join(tmp, 'runs'),
    ]);
    expect(train.code, train.stderr).toBe(0);
    const runDir = jsonEvents(train.stdout).find((e) => e.event === 'start')!.runDir;
    const ckpt = join(tmp, 'ckpt.pth');
    const exported = await runCli([
      'export',
      runDir,
      '--format',
      'pth',
      '--training-state',
      '--out',
      ckpt,
      '--backend',
      'cpu',
    ]);
    expect(exported.code, exported.stderr).toBe(0);

    const digits = createRequire(import.meta.url).resolve('@resnet-ts/data/mnist-digits.bin');
    const continued = join(tmp, 'continued.pth');
    const reportFile = join(tmp, 'continued.json');
    const py = spawnSync(
      PYTHON,
      [
        SCRIPT,
        '--checkpoint',
        ckpt,
        '--digits',
        digits,
        '--out',
        continued,
        '--report',
        reportFile,
        '--epochs',
        '2',
        '--world-size',
        '2',
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(py.status, py.stderr).toBe(0);
    expect(py.stdout).toMatch(/continued epochs 1\.\.3 in 2 processes/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.worldSize).toBe(2);
    // The run went on learning in PyTorch: well above the 10% of chance on held-out digits.
    expect(report.accuracy).toBeGreaterThan(0.5);

    // Back in resnet-ts: the same weights give PyTorch's logits, and the optimizer and
    // schedule resume where PyTorch left them.
    await selectBackend(['wasm']);
    const file = readTorchFile(new Uint8Array(readFileSync(continued))) as Map<string, TorchValue>;
    expect(file.get('epoch')).toBe(3);
    const model = new VanResNet({ inChannels: 1, inputSize: 28, generator: new Generator(0) });
    loadTorchStateDict(model, file, { key: 'model' });
    const { images } = parseMnistDigits(readFileSync(digits));
    const pixels = new Float32Array(16 * 784);
    (report.testIndices as number[]).forEach((index, n) => {
      for (let i = 0; i < 784; i++)
        pixels[n * 784 + i] = (images[index * 784 + i] / 255 - 0.1307) / 0.3081;
    });
    model.eval();
    const logits = tf.tidy(() => model.forward(tf.tensor4d(pixels, [16, 28, 28, 1])));
    const ours = logits.dataSync();
    let d = 0;
    for (let i = 0; i < ours.length; i++) d = Math.max(d, Math.abs(ours[i] - report.logits[i]));
    console.log(
      `continue-in-pytorch (torch ${torchVersion}): largest |ours - PyTorch| logit after DDP: ${d.toExponential(2)}`,
    );
    expect(d).toBeLessThan(1e-4);
    logits.dispose();

    const optimizer = new SGD(model.parameters(), { lr: 1, momentum: 0.5 });
    const state = fromTorchOptimizerState(model, file.get('optimizer')!);
    optimizer.loadStateDict(state);
    for (const s of Object.values(state.state))
      tf.dispose(Object.values(s).filter((v) => v instanceof tf.Tensor));
    expect(optimizer.paramGroups[0].momentum).toBe(0.9);
    const scheduler = new StepLR(optimizer, { stepSize: 1 });
    scheduler.loadStateDict(fromTorchSchedulerState(file.get('scheduler')!));
    expect(scheduler.getLastLr()[0]).toBeCloseTo(report.lr[0], 12);
    expect(optimizer.paramGroups[0].lr).toBeCloseTo(report.lr[0], 12);
    optimizer.dispose?.();
    model.dispose();
  }, 600_000);
});

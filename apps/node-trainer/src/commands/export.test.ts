import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, type SafetensorsTensor } from '@resnet-ts/core';
import { readTorchFile, type TorchValue } from '@resnet-ts/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

const tmp = tempDir('export');
let runDir: string;

/** A one-epoch SGD run of 64 digits with `scheduler`, written under `out`; its run directory. */
async function tinyRun(scheduler: string, out: string): Promise<string> {
  const r = await runCli([
    'train',
    '--epochs',
    '1',
    '--limit-train',
    '64',
    '--limit-test',
    '32',
    '--batch-size',
    '16',
    '--optimizer',
    'sgd',
    '--momentum',
    '0.9',
    '--scheduler',
    scheduler,
    '--backend',
    'wasm',
    '--seed',
    '3',
    '--json',
    '--out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return jsonEvents(r.stdout).find((e) => e.event === 'start')!.runDir;
}

beforeAll(async () => {
  runDir = await tinyRun('step', tmp);
}, 120_000);

async function exportRun(...args: string[]) {
  const r = await runCli(['export', runDir, '--json', '--backend', 'cpu', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const event = jsonEvents(r.stdout).find((e) => e.event === 'export')!;
  return { event, bytes: new Uint8Array(readFileSync(event.file)) };
}

describe('resnet-ts export', () => {
  it('writes .pth and PyTorch-layout safetensors holding the same tensors', async () => {
    const pth = await exportRun('--format', 'pth');
    expect(pth.event.file).toBe(join(runDir, 'checkpoints', 'epoch-1', 'model.pth'));
    const st = await exportRun('--format', 'safetensors', '--out', join(tmp, 'w.safetensors'));
    const fromPth = readTorchFile(pth.bytes) as Map<string, SafetensorsTensor>;
    const fromSt = decodeSafetensors(st.bytes).tensors;
    expect([...fromPth.keys()]).toEqual(Object.keys(fromSt));
    expect(fromPth.get('conv1.weight')!.shape).toEqual([32, 1, 3, 3]); // OIHW
    expect(fromPth.get('fc1.weight')!.shape).toEqual([32, 576]); // [out, in]
    for (const [key, t] of fromPth) {
      expect(t.dtype, key).toBe(fromSt[key].dtype);
      expect(Buffer.from(t.data.buffer).equals(Buffer.from(fromSt[key].data.buffer)), key).toBe(
        true,
      );
    }
    expect(JSON.parse(decodeSafetensors(st.bytes).metadata['resnet-ts']).model.name).toBe(
      'vanresnet',
    );
  });

  it('writes a training checkpoint with the optimizer and scheduler in PyTorch state_dict() format', async () => {
    const { bytes } = await exportRun(
      '--format',
      'pth',
      '--training-state',
      '--out',
      join(tmp, 'ckpt.pth'),
    );
    const file = readTorchFile(bytes) as Map<string, TorchValue>;
    expect([...file.keys()]).toEqual(['epoch', 'model', 'optimizer', 'scheduler']);
    expect(file.get('epoch')).toBe(1);
    const optimizer = file.get('optimizer') as Map<string, TorchValue>;
    const group = (optimizer.get('param_groups') as Array<Map<string, TorchValue>>)[0];
    expect(group.get('momentum')).toBe(0.9);
    expect(group.get('params')).toEqual([...Array(10).keys()]);
    const state = optimizer.get('state') as Map<number, Map<string, { shape: number[] }>>;
    expect(state.get(0)!.get('momentum_buffer')!.shape).toEqual([32, 1, 3, 3]);
    const scheduler = file.get('scheduler') as Map<string, TorchValue>;
    expect(scheduler.get('last_epoch')).toBe(1);
    expect(scheduler.get('step_size')).toBe(1);
  });

  it('writes ONNX, and refuses --training-state without a run directory', async () => {
    const { bytes, event } = await exportRun(
      '--format',
      'onnx',
      '--opset',
      '11',
      '--out',
      join(tmp, 'm.onnx'),
    );
    expect(event.bytes).toBe(bytes.length);
    expect(bytes[0]).toBe(0x08); // field 1 (ir_version), varint
    expect(bytes[1]).toBe(6); // opset 11's IR version
    const file = join(runDir, 'checkpoints', 'epoch-1', 'model.safetensors');
    const r = await runCli([
      'export',
      file,
      '--format',
      'pth',
      '--training-state',
      '--backend',
      'cpu',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--training-state needs a run directory/);
  });
});

describe('resnet-ts export --training-state of the default onecycle schedule', () => {
  let oneCycleRun: string;
  beforeAll(async () => {
    oneCycleRun = await tinyRun('onecycle', join(tmp, 'onecycle'));
  }, 120_000);

  it("holds exactly the fields of PyTorch 1.13's OneCycleLR.state_dict() but its bound anneal_func", async () => {
    const out = join(tmp, 'onecycle.pth');
    const r = await runCli([
      'export',
      oneCycleRun,
      '--json',
      '--backend',
      'cpu',
      '--format',
      'pth',
      '--training-state',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const file = readTorchFile(new Uint8Array(readFileSync(out))) as Map<string, TorchValue>;
    const scheduler = file.get('scheduler') as Map<string, TorchValue>;
    expect([...scheduler.keys()].sort()).toEqual([
      '_get_lr_called_within_step',
      '_last_lr',
      '_schedule_phases',
      '_step_count',
      'base_lrs',
      'cycle_momentum',
      'last_epoch',
      'total_steps',
      'use_beta1',
      'verbose',
    ]);
    // 64 samples in batches of 16: four steps, all of the schedule.
    expect(scheduler.get('total_steps')).toBe(4);
    expect(scheduler.get('last_epoch')).toBe(4);
    expect(scheduler.get('use_beta1')).toBe(false);
    const phases = scheduler.get('_schedule_phases') as Array<Map<string, TorchValue>>;
    expect(phases.map((p) => [p.get('start_lr'), p.get('end_lr'), p.get('end_momentum')])).toEqual([
      ['initial_lr', 'max_lr', 'base_momentum'],
      ['max_lr', 'min_lr', 'max_momentum'],
    ]);
    const optimizer = file.get('optimizer') as Map<string, TorchValue>;
    const group = (optimizer.get('param_groups') as Array<Map<string, TorchValue>>)[0];
    for (const k of ['initial_lr', 'max_lr', 'min_lr', 'max_momentum', 'base_momentum'])
      expect(typeof group.get(k), k).toBe('number');
  });
});

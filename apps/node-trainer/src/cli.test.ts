import { describe, expect, it } from 'vitest';
import { runCli } from './testing/run-cli.js';

describe('command line', () => {
  it('lists the commands in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['train', 'eval', 'predict', 'backends']) expect(r.stdout).toContain(cmd);
  });

  it.each([
    [
      'train',
      [
        '--model',
        '--dataset',
        '--data-dir',
        '--download',
        '--epochs',
        '--batch-size',
        '--lr',
        '--optimizer',
        '--scheduler',
        '--weight-decay',
        '--seed',
        '--backend',
        '--out',
        '--resume',
        '--json',
        '--quiet',
      ],
    ],
    ['eval', ['<checkpoint>', '--dataset', '--backend', '--json']],
    ['predict', ['<checkpoint>', '<image...>', '--top', '--backend']],
    ['backends', ['--backend', '--json']],
  ])('documents every option of %s in its --help', async (cmd, options) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    for (const o of options) expect(r.stdout).toContain(o);
  });

  it.each([
    ['an unknown option', ['train', '--epoch', '3'], /unknown option '--epoch'/],
    [
      'a non-numeric epoch count',
      ['train', '--epochs', 'three'],
      /--epochs <n>.*'three' is invalid|expected a whole number/,
    ],
    ['zero epochs', ['train', '--epochs', '0'], /expected a whole number >= 1/],
    ['a negative learning rate', ['train', '--lr', '-1'], /expected a number > 0/],
    [
      'an unknown model',
      ['train', '--model', 'resnet19'],
      /Allowed choices are vanresnet, resnet18/,
    ],
    [
      'an unknown backend',
      ['backends', '--backend', 'cuda'],
      /Allowed choices are auto, tensorflow, webgpu, wasm, cpu/,
    ],
    ['an unknown command', ['trian'], /unknown command|too many arguments/],
    ['predict without images', ['predict', 'runs/x'], /missing required argument 'image/],
  ])('rejects %s with the usage and exit code 2', async (_what, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/Usage: resnet-ts/);
  });
});

describe('missing data', () => {
  it('names the directory and --download, exit code 1', async () => {
    const dir = '/tmp/resnet-ts-no-such-dir/cifar';
    const r = await runCli([
      'train',
      '--dataset',
      'cifar10',
      '--data-dir',
      dir,
      '--backend',
      'cpu',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir}: dataset directory does not exist`);
    expect(r.stderr).toContain('--download');
  });
});

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The command line as a user installs it: the node-trainer's packed tarball alone,
 * installed globally (into a temporary prefix) with npm, then run from an empty directory.
 * The workspace packages are bundled into it; tfjs and its backends come from npm.
 */

const run = promisify(execFile);
const app = resolve(import.meta.dirname, '../../../apps/node-trainer');
const repo = resolve(app, '../..');
const execPath = process.env.npm_execpath;
const packageManager = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).packageManager;
const PNPM: [string, string[]] =
  execPath && /pnpm/.test(execPath)
    ? [process.execPath, [execPath]]
    : ['npx', ['-y', packageManager]];
// pnpm's bin shims set NODE_PATH to the workspace's store; a user's shell has none.
const { NODE_PATH: _nodePath, ...userEnv } = process.env;

let tmp: string;
let installed: string;
let train: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  if (!existsSync(join(app, 'dist', 'cli.js'))) {
    throw new Error('apps/node-trainer is not built; run `pnpm build` (turbo builds it first)');
  }
  tmp = mkdtempSync(join(tmpdir(), 'resnet-ts-cli-'));
  await run(PNPM[0], [...PNPM[1], 'pack', '--pack-destination', join(tmp, 'tarball')], {
    cwd: app,
  });
  const [tarball] = readdirSync(join(tmp, 'tarball'));
  const prefix = join(tmp, 'prefix');
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      join(tmp, 'tarball', tarball),
    ],
    { env: userEnv, maxBuffer: 16 << 20 },
  );
  installed = join(prefix, 'lib', 'node_modules', '@resnet-ts', 'node-trainer');
  const work = mkdtempSync(join(tmp, 'work-'));
  const bin = join(prefix, 'bin', 'resnet-ts');
  const args = ['train', '--epochs', '1', '--limit-train', '256', '--json', '--out', 'runs'];
  train = await run(bin, args, { cwd: work, env: userEnv, maxBuffer: 16 << 20 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('resnet-ts installed globally from its tarball alone', () => {
  it('needs no @resnet-ts package from a registry: they are bundled', () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    const deps = Object.keys(pkg.dependencies ?? {});
    expect(deps.filter((d) => d.startsWith('@resnet-ts/'))).toEqual([]);
    expect(deps).toContain('@tensorflow/tfjs-core');
    expect(existsSync(join(installed, 'node_modules', '@resnet-ts'))).toBe(false);
    expect(existsSync(join(installed, 'assets', 'mnist-digits.bin'))).toBe(true);
  });

  it('trains one epoch on 256 embedded digits and saves a checkpoint', () => {
    expect(train.stderr).not.toMatch(/^error:/m);
    expect(train.code).toBe(0);
    const events = train.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l));
    const backend = events.find((e) => e.event === 'backend');
    expect(backend.name).toBe('wasm');
    const epoch = events.find((e) => e.event === 'epoch');
    expect(Number.isFinite(epoch.trainLoss)).toBe(true);
    const done = events.find((e) => e.event === 'done');
    expect(done.backend).toBe('wasm');
    expect(existsSync(join(done.checkpoint, 'model.safetensors'))).toBe(true);
  });
});

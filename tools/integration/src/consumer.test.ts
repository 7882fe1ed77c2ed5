import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Proves that "install the packages you need from npm" works: every publishable package is
 * packed as it would be published (`pnpm pack` turns `workspace:^` into real versions),
 * installed with npm into a project outside the workspace, and used from plain Node ESM.
 * Turbo builds the packages first (this package depends on all of them).
 */

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../../..');
const ALL = ['core', 'layers', 'data', 'train', 'models'];
// A package with no source yet has nothing to publish; every package with source is packed.
// RESNET_TS_CONSUMER_PACKAGES=core,layers narrows the run while another package is mid-change.
const only = process.env.RESNET_TS_CONSUMER_PACKAGES?.split(',');
const PACKAGES = ALL.filter(
  (p) => existsSync(join(repo, 'packages', p, 'src', 'index.ts')) && (!only || only.includes(p)),
);
// Under `pnpm test` (CI runs pnpm through npx, so it may not be on PATH) reuse that pnpm.
const execPath = process.env.npm_execpath;
const PNPM: [string, string[]] =
  execPath && /pnpm/.test(execPath) ? [process.execPath, [execPath]] : ['pnpm', []];
const TFJS = ['@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-cpu@4.22.0'];

const CONSUMER = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Generator, Module, loadSafetensorsIntoModule } from '@resnet-ts/core';
import { loadSafetensors, saveSafetensors } from '@resnet-ts/core/node';

await tf.setBackend('cpu');

class Linear extends Module {
  constructor(inFeatures, outFeatures, gen) {
    super();
    this.weight = this.registerParameter('weight', gen.normalTensor([inFeatures, outFeatures], 0, 0.5));
    this.bias = this.registerParameter('bias', tf.zeros([outFeatures]));
  }
  forward(x) {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }
}

const model = new Linear(3, 2, new Generator(1));
const x = tf.tensor2d([[1, 2, 3], [0, -1, 1], [2, 0, -1], [1, 1, 1]]);
const y = tf.tensor2d([[1, 0], [0, 1], [1, 1], [0, 0]]);
const loss = () => tf.mean(tf.square(tf.sub(model.forward(x), y)));

const before = loss().dataSync()[0];
const { value, grads } = tf.variableGrads(loss, model.parameters());
tf.tidy(() => {
  for (const p of model.parameters()) p.assign(tf.sub(p, tf.mul(grads[p.name], 0.05)));
});
tf.dispose([value, ...Object.values(grads)]);
const after = loss().dataSync()[0];

const path = join(mkdtempSync(join(tmpdir(), 'consumer-weights-')), 'linear.safetensors');
await saveSafetensors(path, model.stateDict(), { step: '1' });
const copy = new Linear(3, 2, new Generator(2));
const differedBefore = copy.getParameter('weight').dataSync()[0] !== model.getParameter('weight').dataSync()[0];
const file = await loadSafetensors(path);
const result = loadSafetensorsIntoModule(copy, file);
const same = Object.entries(model.stateDict()).every(([k, t]) => {
  const a = t.dataSync();
  const b = copy.stateDict()[k].dataSync();
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
});

const others = {};
for (const name of process.argv.slice(2)) {
  others[name] = Object.keys(await import(name)).length;
}

console.log(JSON.stringify({
  before, after, same, differedBefore, result, metadata: { ...file.metadata },
  keys: Object.keys(file.tensors), gradientKeys: Object.keys(grads).length, others,
}));
`;

/** The file paths an exports map resolves to (its values, not its subpath keys). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

/** A TypeScript consumer: proves the `types` conditions resolve under NodeNext. */
const TYPED_CONSUMER = `
import { Module, type SafetensorsFile, decodeSafetensors } from '@resnet-ts/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@resnet-ts/core/node';

const m: Module = new Module();
const save: (path: string, tensors: ReturnType<Module['stateDict']>) => Promise<void> = saveSafetensors;
const load: (path: string) => Promise<SafetensorsFile> = loadSafetensors;
const write: (path: string, bytes: Uint8Array) => Promise<void> = writeFileAtomic;
const n: number = decodeSafetensors(new Uint8Array()).tensors.x.shape.length;
export { m, save, load, write, n };
`;

/** A package's main entry and its `./node` subpath, if it has one: what Node users import. */
function nodeEntryPoints(p: string): string[] {
  const pkg = join(project, 'node_modules', '@resnet-ts', p, 'package.json');
  const { exports } = JSON.parse(readFileSync(pkg, 'utf8'));
  return ['.', './node']
    .filter((key) => Object.hasOwn(exports ?? {}, key))
    .map((key) => `@resnet-ts/${p}${key.slice(1)}`);
}

let project: string;
let entryPoints: string[];
let typecheck: { code: number; output: string };
let report: {
  before: number;
  after: number;
  same: boolean;
  differedBefore: boolean;
  result: { missingKeys: string[]; unexpectedKeys: string[] };
  metadata: Record<string, string>;
  keys: string[];
  gradientKeys: number;
  others: Record<string, number>;
};

beforeAll(async () => {
  for (const p of PACKAGES) {
    if (!existsSync(join(repo, 'packages', p, 'dist', 'index.js'))) {
      throw new Error(`packages/${p} is not built; run \`pnpm build\` (turbo builds it first)`);
    }
  }
  project = mkdtempSync(join(tmpdir(), 'resnet-ts-consumer-'));
  const tarballs = join(project, 'tarballs');
  for (const p of PACKAGES) {
    await run(PNPM[0], [...PNPM[1], 'pack', '--pack-destination', tarballs], {
      cwd: join(repo, 'packages', p),
    });
  }
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  expect(files).toHaveLength(PACKAGES.length);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'resnet-ts-consumer', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...files,
      ...TFJS,
    ],
    { cwd: project, maxBuffer: 16 << 20 },
  );
  writeFileSync(join(project, 'consumer.mjs'), CONSUMER);
  entryPoints = PACKAGES.flatMap(nodeEntryPoints);
  const { stdout } = await run('node', ['consumer.mjs', ...entryPoints], { cwd: project });
  report = JSON.parse(stdout.trim().split('\n').at(-1)!);

  writeFileSync(join(project, 'typed.ts'), TYPED_CONSUMER);
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
  typecheck = await run(process.execPath, [tsc, ...flags, '--target', 'es2022', 'typed.ts'], {
    cwd: project,
  }).then(
    () => ({ code: 0, output: '' }),
    (e: { code: number; stdout: string }) => ({ code: e.code, output: e.stdout }),
  );
}, 600_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('packed packages installed with npm outside the workspace', () => {
  it('installs real versions, not workspace links', () => {
    for (const p of PACKAGES) {
      const dir = join(project, 'node_modules', '@resnet-ts', p);
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const deps = JSON.stringify(pkg.dependencies ?? {});
      expect(deps, `@resnet-ts/${p}`).not.toContain('workspace:');
      expect(existsSync(join(dir, 'src')), `@resnet-ts/${p} ships only dist`).toBe(false);
    }
  });

  it('ships every file its exports map points at', () => {
    for (const p of PACKAGES) {
      const dir = join(project, 'node_modules', '@resnet-ts', p);
      const { exports } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      for (const rel of exportTargets(exports)) {
        expect(existsSync(join(dir, rel)), `@resnet-ts/${p} ${rel}`).toBe(true);
      }
    }
  });

  it('type-checks a TypeScript consumer of @resnet-ts/core and @resnet-ts/core/node', () => {
    expect(typecheck.output).toBe('');
    expect(typecheck.code).toBe(0);
  });

  it('takes a gradient step that lowers the loss (gradients registered by core)', () => {
    expect(report.gradientKeys).toBe(2);
    expect(report.after).toBeLessThan(report.before);
  });

  it('round-trips the weights through safetensors files', () => {
    expect(report.keys).toEqual(['weight', 'bias']);
    expect(report.metadata).toEqual({ step: '1' });
    expect(report.result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(report.differedBefore).toBe(true);
    expect(report.same).toBe(true);
  });

  it('loads the entry points of every package in plain Node', () => {
    expect(entryPoints).toContain('@resnet-ts/core/node');
    expect(Object.keys(report.others).sort()).toEqual([...entryPoints].sort());
    for (const [name, count] of Object.entries(report.others)) {
      expect(count, `${name} exports`).toBeGreaterThan(0);
    }
  });
});

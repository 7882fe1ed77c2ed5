import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Proves that "install the packages you need from npm" works: every publishable package is
 * packed as it would be published (`pnpm pack` turns `workspace:^` into real versions),
 * installed with npm into a project outside the workspace next to the user's own
 * tfjs-core and one backend (cpu), and used from plain Node ESM, from `require()`, from
 * TypeScript and from a Vite browser build. Turbo builds the packages first (this package
 * depends on all of them).
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
// Under `pnpm test` (CI runs pnpm through npx, so it may not be on PATH) reuse that pnpm;
// run directly, the root package.json's `packageManager` through npx.
const execPath = process.env.npm_execpath;
const packageManager = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).packageManager;
const PNPM: [string, string[]] =
  execPath && /pnpm/.test(execPath)
    ? [process.execPath, [execPath]]
    : ['npx', ['-y', packageManager]];
// pnpm's bin shims set NODE_PATH to the workspace's store, where require() would find
// every backend: the consumer runs without it, as a user's process would.
const { NODE_PATH: _nodePath, ...consumerEnv } = process.env;
// The user's own tfjs-core and the one backend they chose; @resnet-ts brings no other.
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

/** A CommonJS consumer: every entry point through require(), the same modules as import. */
const REQUIRE_CONSUMER = `
const entries = process.argv.slice(2);
const loaded = {};
for (const name of entries) loaded[name] = Object.keys(require(name)).length;
const core = require('@resnet-ts/core');
import('@resnet-ts/core').then(async (esm) => {
  const selection = await core.selectBackend(['wasm', 'cpu']);
  console.log(JSON.stringify({ loaded, sameModule: esm.Module === core.Module, selection }));
});
`;

/** A browser app as a user would write it: their tfjs-core and backend, then resnet-ts. */
const BROWSER_APP = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { formatBackendReport, selectBackend } from '@resnet-ts/core';
import { VanResNet } from '@resnet-ts/models';
import { crossEntropy } from '@resnet-ts/train';

const selection = await selectBackend();
const model = new VanResNet({ inChannels: 1, inputSize: 28 });
const x = tf.randomNormal([2, 28, 28, 1]);
const y = tf.tensor1d([3, 7], 'int32');
const { grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), model.parameters());
document.body.textContent = formatBackendReport(selection) + Object.keys(grads).length;
`;

/** Every file under dir, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Each installed copy of a package: its directory under node_modules, at any depth. */
function copiesOf(root: string, name: string): string[] {
  const found: string[] = [];
  const visit = (nodeModules: string) => {
    if (!existsSync(nodeModules)) return;
    for (const entry of readdirSync(nodeModules)) {
      const dirs = entry.startsWith('@')
        ? readdirSync(join(nodeModules, entry)).map((n) => join(nodeModules, entry, n))
        : [join(nodeModules, entry)];
      for (const dir of dirs) {
        if (dir.endsWith(join(...name.split('/')))) found.push(dir);
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(root, 'node_modules'));
  return found;
}

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
let required: {
  loaded: Record<string, number>;
  sameModule: boolean;
  selection: { name: string; tried: Array<{ name: string; ok: boolean; reason: string }> };
};
let bundle: string;
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
    { cwd: project, env: consumerEnv, maxBuffer: 16 << 20 },
  );
  writeFileSync(join(project, 'consumer.mjs'), CONSUMER);
  entryPoints = PACKAGES.flatMap(nodeEntryPoints);
  const { stdout } = await run('node', ['consumer.mjs', ...entryPoints], {
    cwd: project,
    env: consumerEnv,
  });
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

  writeFileSync(join(project, 'consumer.cjs'), REQUIRE_CONSUMER);
  const cjs = await run('node', ['consumer.cjs', ...entryPoints], {
    cwd: project,
    env: consumerEnv,
  });
  required = JSON.parse(cjs.stdout.trim().split('\n').at(-1)!);

  const web = join(project, 'web');
  mkdirSync(web);
  writeFileSync(join(web, 'index.html'), '<script type="module" src="./main.js"></script>\n');
  writeFileSync(join(web, 'main.js'), BROWSER_APP);
  const vite = join(import.meta.dirname, '..', 'node_modules', 'vite', 'bin', 'vite.js');
  await run(process.execPath, [vite, 'build', '--logLevel', 'error', '--outDir', 'dist'], {
    cwd: web,
    env: consumerEnv,
    maxBuffer: 16 << 20,
  });
  bundle = walk(join(web, 'dist'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
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
  it("installs exactly one tfjs-core (the user's) and no backend the user did not choose", () => {
    expect(copiesOf(project, '@tensorflow/tfjs-core')).toEqual([
      join(project, 'node_modules', '@tensorflow', 'tfjs-core'),
    ]);
    const tfjs = readdirSync(join(project, 'node_modules', '@tensorflow')).sort();
    expect(tfjs).toEqual(['tfjs-backend-cpu', 'tfjs-core']);
    for (const p of PACKAGES) {
      const pkg = JSON.parse(
        readFileSync(join(project, 'node_modules', '@resnet-ts', p, 'package.json'), 'utf8'),
      );
      expect(pkg.peerDependencies['@tensorflow/tfjs-core'], `@resnet-ts/${p}`).toBe('^4.22.0');
      expect(
        Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@tensorflow/')),
        p,
      ).toEqual([]);
    }
  });

  it('loads every entry point with require() as the same modules import gives', () => {
    expect(Object.keys(required.loaded).sort()).toEqual([...entryPoints].sort());
    for (const [name, count] of Object.entries(required.loaded)) {
      expect(count, `${name} exports`).toBeGreaterThan(0);
    }
    expect(required.sameModule).toBe(true);
  });

  it('picks the installed backend and names the install command of a missing one', () => {
    expect(required.selection.name).toBe('cpu');
    expect(required.selection.tried[0]).toEqual({
      name: 'wasm',
      ok: false,
      reason: '@tensorflow/tfjs-backend-wasm is not installed: npm i @tensorflow/tfjs-backend-wasm',
    });
  });

  it('ships source maps that carry their sources, and no map that points at absent files', () => {
    for (const p of PACKAGES) {
      const dir = join(project, 'node_modules', '@resnet-ts', p, 'dist');
      const maps = walk(dir).filter((f) => f.endsWith('.map'));
      expect(maps.length, `@resnet-ts/${p} maps`).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources, sourcesContent } = JSON.parse(readFileSync(map, 'utf8'));
        expect(sourcesContent?.length, map).toBe(sources.length);
        expect(
          sourcesContent.every((c: unknown) => typeof c === 'string'),
          map,
        ).toBe(true);
      }
    }
  });

  it('builds a browser app with Vite whose bundle holds one tfjs engine', () => {
    // A message only tfjs-core's engine has: a second copy of tfjs-core would repeat it.
    expect(bundle.match(/The highest priority backend/g)?.length).toBe(1);
    // The backend the app imported is in (its advert for tfjs-node); the others are not.
    expect(bundle).toContain('looks like you are running TensorFlow.js in Node.js');
    expect(bundle).not.toMatch(/WEBGL_VERSION|tfjs-backend-wasm\.wasm|WEBGPU_DEFERRED_SUBMIT/);
  });
});

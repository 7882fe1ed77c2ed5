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
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { transformSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every ```ts block of the READMEs is an example a user will paste: each is extracted,
 * type-checked against the built packages (strict, NodeNext, as a user's project would)
 * and run with Node, so an example cannot rot unnoticed.
 */

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../../..');
// Beside this package, so the examples' imports resolve to the workspace packages.
const dir = resolve(import.meta.dirname, '..', '.readme-examples');

interface Example {
  /** `packages/core/README.md:42`, where the block starts. */
  where: string;
  file: string;
  code: string;
}

function readmes(): string[] {
  const found = [join(repo, 'README.md')];
  for (const group of ['packages', 'apps', 'tools']) {
    for (const name of readdirSync(join(repo, group))) {
      const readme = join(repo, group, name, 'README.md');
      if (existsSync(readme)) found.push(readme);
    }
  }
  return found;
}

function extract(): Example[] {
  const examples: Example[] = [];
  for (const readme of readmes()) {
    const lines = readFileSync(readme, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i])) continue;
      const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
      const where = `${relative(repo, readme)}:${i + 1}`;
      const file = `${where.replace(/README\.md:/, 'readme-').replace(/[^\w-]+/g, '-')}.ts`;
      examples.push({ where, file, code: `${lines.slice(i + 1, end).join('\n')}\nexport {};\n` });
      i = end;
    }
  }
  return examples;
}

const examples = extract();
let diagnostics = '';

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const e of examples) writeFileSync(join(dir, e.file), e.code);
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--types',
    'node',
  ];
  diagnostics = await run(process.execPath, [tsc, ...flags, ...examples.map((e) => e.file)], {
    cwd: dir,
  }).then(
    () => '',
    (e: { stdout: string }) => e.stdout,
  );
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('README examples', () => {
  it('finds the examples of the root README and of every package', () => {
    const readmesWithExamples = new Set(examples.map((e) => e.where.split(':')[0]));
    for (const p of ['core', 'layers', 'data', 'train', 'models']) {
      expect(readmesWithExamples, p).toContain(`packages/${p}/README.md`);
    }
    expect(readmesWithExamples).toContain('README.md');
  });

  for (const example of examples) {
    it(`${example.where} type-checks and runs`, { timeout: 300_000 }, async () => {
      const errors = diagnostics
        .split('\n')
        .filter((l) => l.startsWith(example.file))
        .join('\n');
      expect(errors, `type errors in the example at ${example.where}`).toBe('');
      const js = join(dir, example.file.replace(/\.ts$/, '.mjs'));
      writeFileSync(js, transformSync(example.code, { loader: 'ts', format: 'esm' }).code);
      // Examples may write files (checkpoints, weights): each runs in its own directory.
      const cwd = mkdtempSync(join(tmpdir(), 'resnet-ts-example-'));
      try {
        const { stderr } = await run(process.execPath, [js], { cwd, maxBuffer: 16 << 20 });
        expect(stderr, `stderr of the example at ${example.where}`).not.toMatch(/Error/);
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`the example at ${example.where} failed:\n${e.stderr ?? e.message}`);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    });
  }
});

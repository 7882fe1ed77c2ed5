import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The package's src/, which snippets import from. */
const src = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(src, '../node_modules/.isolated');

/** What a snippet run by {@link runIsolated} reported. */
export interface IsolatedResult {
  status: number | null;
  /** The message of the error the snippet threw, or '' when it finished. */
  error: string;
  /** The error's class name. */
  errorName: string;
  /** Peak resident memory of the child process, in MB. */
  peakRssMb: number;
  stderr: string;
}

/**
 * Runs `body` (an async function body that may `await`, with this package's sources imported
 * by `imports`, paths relative to src/) in a fresh Node process and reports how it ended and the process's peak
 * memory, so a test can show that a hostile file is refused without the memory it would cost.
 */
export async function runIsolated(
  name: string,
  imports: string,
  body: string,
  timeoutMs = 60_000,
): Promise<IsolatedResult> {
  mkdirSync(outDir, { recursive: true });
  const entry = join(src, `.isolated-${name}.ts`);
  const source = `${imports}
let error = '', errorName = '';
try { await (async () => { ${body} })(); }
catch (e) { error = String(e?.message ?? e); errorName = String(e?.name ?? ''); }
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(JSON.stringify({ error, errorName, peakRssMb }));
`;
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    stdin: { contents: source, resolveDir: src, sourcefile: entry, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  const child = spawnSync(process.execPath, [outfile], {
    encoding: 'utf8',
    timeout: timeoutMs,
    cwd: outDir,
  });
  let parsed = { error: '', errorName: '', peakRssMb: Number.NaN };
  try {
    parsed = JSON.parse(child.stdout);
  } catch {
    parsed.error = `no result (exit ${child.status}, signal ${child.signal}): ${child.stderr}`;
  }
  return { status: child.status, stderr: child.stderr, ...parsed };
}

/**
 * Bundles `source` (TypeScript importing this package's sources, paths relative to src/) into
 * an ES module that plain Node can import, as worker threads must, and returns its path.
 */
export async function bundleModule(name: string, source: string): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}.mjs`);
  await build({
    stdin: {
      contents: source,
      resolveDir: src,
      sourcefile: join(src, `.${name}.ts`),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Writes `bytes` to `path`, creating its folder. */
export function put(path: string, bytes: Uint8Array | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

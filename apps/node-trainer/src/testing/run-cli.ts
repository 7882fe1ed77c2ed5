import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The built CLI: tests exercise what users run, so `pnpm build` (or turbo's test task) comes first. */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A fresh temporary directory for the calling test file, removed after its tests. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `resnet-ts-${name}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a finished CLI process left behind. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running CLI process, with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  done: Promise<CliResult>;
}

/** Starts `node dist/cli.js …args` without a terminal, so output is in its plain form. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, stdout: () => stdout, done };
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}

/** Parses `--json` output: every line must be one JSON object with an `event`. */
export function jsonEvents(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const e = JSON.parse(l);
      if (typeof e.event !== 'string') throw new Error(`not an event: ${l}`);
      return e;
    });
}

/** Resolves once `predicate` holds for the process's output so far. */
export async function waitForOutput(
  p: CliProcess,
  predicate: (out: string) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const start = Date.now();
  while (!predicate(p.stdout())) {
    if (p.child.exitCode !== null)
      throw new Error(
        `CLI exited (${p.child.exitCode}) before the expected output:\n${p.stdout()}`,
      );
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for output:\n${p.stdout()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

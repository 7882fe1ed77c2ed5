import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors } from '@resnet-ts/core';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CLI, jsonEvents, tempDir } from './testing/run-cli.js';

// Each case runs the CLI in a child process against a run directory (a copy of one written
// by resnet-ts 0.1.0) or a weights file made hostile in one way, and checks: a non-zero exit
// with a one-line message, nothing outside the run touched, peak memory below 512 MB, and
// completion before a hard deadline.
const FIXTURE = fileURLToPath(new URL('./__fixtures__/run-made-by-0.1.0', import.meta.url));
const MAX_RSS_KB = 512 * 1024;
const DEADLINE_MS = 45_000;
// Records the child's peak resident memory when it exits, whatever the exit path.
const RSS_PROBE = `data:text/javascript,${encodeURIComponent(
  'import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(process.env.RSS_FILE, String(process.resourceUsage().maxRSS)));',
)}`;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  maxRssKb: number;
  timedOut: boolean;
}

function runMeasured(args: string[], rssFile: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RSS_PROBE, CLI, ...args], {
      env: { ...process.env, FORCE_COLOR: '0', RSS_FILE: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, DEADLINE_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let maxRssKb = Number.NaN;
      try {
        maxRssKb = Number(readFileSync(rssFile, 'utf8'));
      } catch {}
      resolve({ code, stdout, stderr, maxRssKb, timedOut });
    });
  });
}

/** Every path under `dir` (but `skip`) with its size and modification time. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (p === skip) continue;
      const s = statSync(p, { throwIfNoEntry: false });
      out.push(`${relative(dir, p)} ${s?.size} ${s?.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const tmp = tempDir('hostile');
let caseNo = 0;

/** A fresh sandbox: `root/run` (a valid run), `root/victim/keep.txt` beside it. */
function sandbox() {
  const root = join(tmp, `case-${++caseNo}`);
  const run = join(root, 'runs', 'run');
  mkdirSync(join(root, 'victim'), { recursive: true });
  writeFileSync(join(root, 'victim', 'keep.txt'), 'keep');
  cpSync(FIXTURE, run, { recursive: true });
  return { root, run, rss: join(tmp, `rss-${caseNo}`) };
}

const weightsOf = (run: string) => join(run, 'checkpoints', 'epoch-1', 'model.safetensors');

/** Rewrites the weights' "resnet-ts" metadata through `change`. */
function rewriteMeta(run: string, change: (meta: any) => void): void {
  const file = decodeSafetensors(readFileSync(weightsOf(run)));
  const meta = JSON.parse(file.metadata['resnet-ts']);
  change(meta);
  writeFileSync(
    weightsOf(run),
    encodeSafetensors(file.tensors, { 'resnet-ts': JSON.stringify(meta) }),
  );
}

const RESUME = (run: string) => ['train', '--resume', run, '--epochs', '2', '--backend', 'wasm'];
const EVAL = (run: string) => ['eval', run, '--limit-test', '8', '--backend', 'wasm'];

type Case = [
  name: string,
  prepare: (run: string, root: string) => void,
  args: (run: string) => string[],
  message: RegExp,
];

const CASES: Case[] = [
  [
    'a pointer to ../../victim (resume)',
    (run) => writeFileSync(join(run, 'checkpoint.json'), '{"latest":"../../victim","epoch":1}'),
    RESUME,
    /checkpoint\.json: latest: expected .*epoch-.*, got "\.\.\/\.\.\/victim"/,
  ],
  [
    'a pointer to ../../victim (eval)',
    (run) => writeFileSync(join(run, 'checkpoint.json'), '{"latest":"../../victim","epoch":1}'),
    EVAL,
    /checkpoint\.json: latest: /,
  ],
  [
    'a pointer to "." (the run itself)',
    (run) => writeFileSync(join(run, 'checkpoint.json'), '{"latest":".","epoch":1}'),
    RESUME,
    /checkpoint\.json: latest: /,
  ],
  [
    'a pointer to an absolute path',
    (_run, root) =>
      writeFileSync(
        join(root, 'runs', 'run', 'checkpoint.json'),
        JSON.stringify({ latest: join(root, 'victim'), epoch: 1 }),
      ),
    RESUME,
    /checkpoint\.json: latest: /,
  ],
  [
    'a pointer that is null',
    (run) => writeFileSync(join(run, 'checkpoint.json'), 'null'),
    RESUME,
    /checkpoint\.json: expected Object, got null/,
  ],
  [
    'a pointer nested 2,000 deep',
    (run) => writeFileSync(join(run, 'checkpoint.json'), `${'['.repeat(2000)}${']'.repeat(2000)}`),
    EVAL,
    /checkpoint\.json: refused: JSON nesting is deeper than 128/,
  ],
  [
    'a 10 MB pointer',
    (run) => writeFileSync(join(run, 'checkpoint.json'), ' '.repeat(10 << 20)),
    RESUME,
    /checkpoint\.json is \d+ bytes, more than the 4096-byte limit/,
  ],
  [
    'a pointer that is a FIFO',
    (run) => {
      rmSync(join(run, 'checkpoint.json'));
      execFileSync('mkfifo', [join(run, 'checkpoint.json')]);
    },
    RESUME,
    /checkpoint\.json is a FIFO \(named pipe\); expected a regular checkpoint pointer/,
  ],
  [
    'an epoch directory linked out of the run',
    (run, root) => {
      rmSync(join(run, 'checkpoints', 'epoch-1'), { recursive: true });
      cpSync(join(FIXTURE, 'checkpoints', 'epoch-1'), join(root, 'victim', 'epoch'), {
        recursive: true,
      });
      symlinkSync(join(root, 'victim', 'epoch'), join(run, 'checkpoints', 'epoch-1'));
    },
    RESUME,
    /checkpoints\/epoch-1 leads outside/,
  ],
  [
    'run.json that is null',
    (run) => writeFileSync(join(run, 'run.json'), 'null'),
    RESUME,
    /run\.json: expected Object, got null/,
  ],
  [
    'run.json that is {}',
    (run) => writeFileSync(join(run, 'run.json'), '{}'),
    RESUME,
    /run\.json: createdAt: /,
  ],
  [
    'run.json of 0 bytes (a kill during an in-place write)',
    (run) => writeFileSync(join(run, 'run.json'), ''),
    RESUME,
    /run\.json: not valid JSON/,
  ],
  [
    'run.json asking for a million classes',
    (run) => {
      const r = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
      r.model.numClasses = 1_000_000;
      writeFileSync(join(run, 'run.json'), JSON.stringify(r));
    },
    RESUME,
    /run\.json: model\.numClasses: /,
  ],
  [
    'run.json whose model does not fit its data',
    (run) => {
      const r = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
      r.model.numClasses = 1000;
      writeFileSync(join(run, 'run.json'), JSON.stringify(r));
    },
    RESUME,
    /cannot resume: run\.json describes the model .* but its dataset mnist needs/,
  ],
  [
    'run.json naming an unknown dataset',
    (run) => {
      const r = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
      r.data.name = 'imagenet';
      writeFileSync(join(run, 'run.json'), JSON.stringify(r));
    },
    RESUME,
    /run\.json: data\.name: /,
  ],
  [
    'a truncated checkpoint state with --epochs changed',
    (run) => writeFileSync(join(run, 'checkpoints', 'epoch-1', 'state.json'), '{"format":'),
    RESUME,
    /state\.json: not valid JSON/,
  ],
  [
    'optimizer tensors that are a link to /dev/zero',
    (run) => {
      const file = join(run, 'checkpoints', 'epoch-1', 'optimizer.safetensors');
      rmSync(file);
      symlinkSync('/dev/zero', file);
    },
    RESUME,
    /optimizer\.safetensors is a character device \(through a symbolic link\)/,
  ],
  [
    'weights that are a FIFO',
    (run) => {
      rmSync(weightsOf(run));
      execFileSync('mkfifo', [weightsOf(run)]);
    },
    EVAL,
    /model\.safetensors is a FIFO/,
  ],
  [
    'a checkpoint state of another format',
    (run) =>
      writeFileSync(join(run, 'checkpoints', 'epoch-1', 'state.json'), '{"format":"pickle"}'),
    RESUME,
    /state\.json: format: /,
  ],
  [
    'weights whose metadata has fewer class names than classes',
    (run) =>
      rewriteMeta(run, (m) => {
        m.dataset.classes = ['0', '1'];
      }),
    EVAL,
    /resnet-ts\.dataset\.classes: expected 10 labels \(model\.numClasses\), got 2/,
  ],
  [
    'weights whose metadata names an unknown dataset',
    (run) =>
      rewriteMeta(run, (m) => {
        m.dataset.name = 'imagenet';
      }),
    EVAL,
    /was trained on "imagenet", which eval cannot load by name; pass --dataset/,
  ],
  [
    'weights whose metadata has a zero standard deviation',
    (run) =>
      rewriteMeta(run, (m) => {
        m.dataset.input.std = [0];
      }),
    EVAL,
    /resnet-ts\.dataset\.input\.std\[0\]: expected >0, got 0/,
  ],
  [
    'weights whose metadata is null',
    (run) =>
      rewriteMeta(run, (m) => {
        for (const k of Object.keys(m)) delete m[k];
      }),
    EVAL,
    /resnet-ts\.model: missing/,
  ],
];

describe('hostile run directories and weights files', () => {
  it.each(CASES)(
    '%s: refused with one typed line, nothing else touched',
    async (_name, prepare, args, message) => {
      const { root, run, rss } = sandbox();
      prepare(run, root);
      const before = snapshot(root, join(root, 'runs'));
      const runJson = readFileSync(join(run, 'run.json'));
      const r = await runMeasured(args(run), rss);
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).not.toMatch(/TypeError|RangeError|Cannot read properties/);
      expect(snapshot(root, join(root, 'runs'))).toEqual(before);
      expect(readFileSync(join(root, 'victim', 'keep.txt'), 'utf8')).toBe('keep');
      // Nothing in the run was rewritten before the failure.
      expect(readFileSync(join(run, 'run.json'))).toEqual(runJson);
      expect(r.maxRssKb).toBeLessThan(MAX_RSS_KB);
    },
  );
});

/** The control characters in `text` other than line breaks. */
function controlCharacters(text: string): number[] {
  return [...text]
    .map((c) => c.charCodeAt(0))
    .filter((c) => c !== 0x0a && (c < 0x20 || (c >= 0x7f && c <= 0x9f)));
}

describe('output from files is escaped and hints lead somewhere', () => {
  it('prints class labels with terminal escapes as text', async () => {
    const { root, run, rss } = sandbox();
    const evil = '\u001b[2J\u001b]0;pwned\u0007';
    rewriteMeta(run, (m) => {
      m.dataset.classes = m.dataset.classes.map((c: string) => `${c}${evil}`);
      m.model.name = 'vanresnet';
    });
    const png = new PNG({ width: 28, height: 28 });
    png.data.fill(255);
    const image = join(root, 'white.png');
    writeFileSync(image, PNG.sync.write(png));
    const r = await runMeasured(['predict', run, image, '--backend', 'wasm'], rss);
    expect(r.code).toBe(0);
    expect(controlCharacters(r.stdout)).toEqual([]);
    expect(r.stdout).toContain('\\x1b[2J\\x1b]0;pwned\\x07');
    const ev = await runMeasured([...EVAL(run)], rss);
    expect(ev.code).toBe(0);
    expect(controlCharacters(ev.stdout)).toEqual([]);
    expect(r.maxRssKb).toBeLessThan(MAX_RSS_KB);
  });

  it('answers a --json usage error with a JSON error event', async () => {
    const { rss } = sandbox();
    const r = await runMeasured(['train', '--epochs', 'zero', '--json'], rss);
    expect(r.code).toBe(2);
    expect(jsonEvents(r.stdout)).toEqual([
      { event: 'error', message: expect.stringMatching(/--epochs/), exitCode: 2 },
    ]);
  });

  it('does not suggest --epochs for a finished onecycle run, which cannot be extended', async () => {
    const { root, rss } = sandbox();
    const out = join(root, 'runs');
    const first = await runMeasured(
      [
        'train',
        '--epochs',
        '1',
        '--limit-train',
        '32',
        '--limit-test',
        '8',
        '--batch-size',
        '16',
        '--backend',
        'wasm',
        '--out',
        out,
        '--json',
      ],
      rss,
    );
    expect(first.code).toBe(0);
    const runDir = jsonEvents(first.stdout).find((e) => e.event === 'done')!.runDir;
    const again = await runMeasured(['train', '--resume', runDir, '--backend', 'wasm'], rss);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /already completed 1 of 1 epochs; its onecycle schedule .* cannot be extended; start a new run/,
    );
    expect(again.stderr).not.toMatch(/pass --epochs/);
  });

  it('refuses to resume with fewer epochs than were done, leaving run.json as it was', async () => {
    const { root, rss } = sandbox();
    const first = await runMeasured(
      [
        'train',
        '--epochs',
        '2',
        '--scheduler',
        'step',
        '--limit-train',
        '32',
        '--limit-test',
        '8',
        '--batch-size',
        '16',
        '--backend',
        'wasm',
        '--out',
        join(root, 'runs'),
        '--json',
      ],
      rss,
    );
    expect(first.code).toBe(0);
    const runDir = jsonEvents(first.stdout).find((e) => e.event === 'done')!.runDir;
    const before = readFileSync(join(runDir, 'run.json'));
    const again = await runMeasured(
      ['train', '--resume', runDir, '--epochs', '1', '--backend', 'wasm'],
      rss,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--epochs 1 is fewer than the 2 epochs .* has already completed/);
    expect(readFileSync(join(runDir, 'run.json'))).toEqual(before);
  });
});

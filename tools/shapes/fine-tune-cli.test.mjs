import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, test } from 'vitest';
import { PRETRAINED, PRETRAINED_MODEL, PRETRAINED_SIZE } from './pretrained.mjs';
import { makeShapesFolder, TARGET_CLASSES } from './shapes.mjs';

/** The built command line, as a user runs it (turbo builds it before this package's tests). */
const CLI = fileURLToPath(new URL('../../apps/node-trainer/dist/cli.js', import.meta.url));

/** Runs the CLI; resolves with its exit code, output, and the event lines of `--json`. */
function cli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      resolve({ code, stdout, events, stderr });
    });
  });
}

let root;
let folder;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shapes-fine-tune-'));
  folder = await makeShapesFolder(join(root, 'data'), { seed: 0 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

test('the command line fine-tunes weights pretrained on other shapes to >= 95% held-out accuracy', {
  timeout: 240_000,
}, async () => {
  const train = await cli([
    'train',
    '--dataset',
    'folder',
    '--data-dir',
    join(root, 'data/train'),
    '--val-dir',
    join(root, 'data/val'),
    '--model',
    PRETRAINED_MODEL,
    '--image-size',
    String(PRETRAINED_SIZE),
    '--weights',
    PRETRAINED,
    '--skip-bad-files',
    '--epochs',
    '4',
    '--backend',
    'wasm',
    '--out',
    join(root, 'runs'),
  ]);
  assert.equal(train.code, 0, train.stderr);
  // The corrupt file is named and skipped; the pretrained backbone loads, the head is new.
  assert.match(train.stdout, /skipped \S*corrupt\.jpg: /);
  assert.match(
    train.stdout,
    /Weights: 120 tensors from .*; newly initialised: fc\.weight, fc\.bias\n/,
  );
  const runDir = /^Run saved to (.+)$/m.exec(train.stdout)?.[1];
  assert.ok(runDir, train.stdout);

  const ev = await cli([
    'eval',
    runDir,
    '--data-dir',
    join(root, 'data/val'),
    '--backend',
    'wasm',
    '--json',
  ]);
  assert.equal(ev.code, 0, ev.stderr);
  const result = ev.events.find((e) => e.event === 'eval');
  // torchvision 0.14's ImageFolder on this folder: classes sorted, indexed 0..3 in that order.
  assert.deepEqual(result.classes, ['circle', 'cross', 'square', 'triangle']);
  assert.deepEqual(result.classes, [...TARGET_CLASSES].sort());
  assert.equal(result.total, folder.files.val.length);
  assert.ok(result.accuracy >= 0.95, `held-out accuracy ${result.accuracy}`);
});

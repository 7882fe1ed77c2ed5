import { execFileSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { idx } from '../testing/formats.js';
import { put, runIsolated } from '../testing/isolated.js';

const LOAD_MNIST = "import { loadMnist } from './node/mnist.js';";
const MAX_RSS_MB = 512;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
});

function labels(n: number, into = dir) {
  writeFileSync(join(into, 'train-labels-idx1-ubyte'), idx([n], new Uint8Array(n)));
}

/**
 * A gzip file of `head` followed by `mb` MiB of zeros: one compressed 16 MiB member repeated
 * (gzip allows members end to end), so a gigabyte costs a few kilobytes to make.
 */
function gzipBomb(head: Uint8Array, mb: number): Uint8Array {
  const first = new Uint8Array(16 << 20);
  first.set(head);
  const parts = [gzipSync(first, { level: 9 })];
  const zeros = gzipSync(new Uint8Array(16 << 20), { level: 9 });
  for (let i = 16; i < mb; i += 16) parts.push(zeros);
  return Buffer.concat(parts);
}

describe('hostile dataset files (each in a child process, peak memory measured)', () => {
  it('stops a gzip bomb at the size its IDX header promises', async () => {
    const bomb = gzipBomb(idx([2, 28, 28], new Uint8Array(0)), 1024);
    expect(bomb.length).toBeLessThan(2 << 20);
    put(join(dir, 'train-images-idx3-ubyte.gz'), bomb);
    labels(2);
    const r = await runIsolated(
      'gzip-bomb',
      LOAD_MNIST,
      `await loadMnist(${JSON.stringify(dir)});`,
    );
    expect(r.errorName).toBe('DatasetFileError');
    expect(r.error).toMatch(
      /train-images-idx3-ubyte\.gz: decompresses to more than the 1584 bytes its header promises/,
    );
    expect(r.peakRssMb).toBeLessThan(MAX_RSS_MB);
  });

  it('refuses an IDX header that promises more than the size limit, before inflating it', async () => {
    put(
      join(dir, 'train-images-idx3-ubyte.gz'),
      gzipBomb(idx([0xffffffff, 28, 28], new Uint8Array(0)), 1024),
    );
    labels(2);
    const r = await runIsolated('idx-huge', LOAD_MNIST, `await loadMnist(${JSON.stringify(dir)});`);
    expect(r.error).toMatch(/shape \[4294967295,28,28\] .*more than the \d+-byte limit/);
    expect(r.peakRssMb).toBeLessThan(MAX_RSS_MB);
  });

  it('refuses FIFOs, devices and directories instead of hanging or reading forever', async () => {
    execFileSync('mkfifo', [join(dir, 'train-images-idx3-ubyte')]);
    labels(2);
    const zero = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
    symlinkSync('/dev/zero', join(zero, 'train-images-idx3-ubyte'));
    labels(2, zero);
    const folder = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
    put(join(folder, 'train-images-idx3-ubyte', 'x'), 'x');
    labels(2, folder);
    const r = await runIsolated(
      'non-regular',
      LOAD_MNIST,
      `const out = [];
       for (const d of ${JSON.stringify([dir, zero, folder])}) {
         try { await loadMnist(d); out.push('loaded'); } catch (e) { out.push(e.message); }
       }
       throw new Error(out.join('\\n'));`,
      20_000,
    );
    const [a, b, c] = r.error.split('\n');
    expect(a).toMatch(
      /train-images-idx3-ubyte is a FIFO \(named pipe\); expected a regular dataset file/,
    );
    expect(b).toMatch(
      /train-images-idx3-ubyte is a character device \(through a symbolic link\); expected a regular/,
    );
    expect(c).toMatch(/train-images-idx3-ubyte is a directory; expected a regular dataset file/);
    expect(r.peakRssMb).toBeLessThan(MAX_RSS_MB);
  });
});

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeSafetensors, SafetensorsError, safetensorsToTensors } from './index.js';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from './node.js';

let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-node-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates and replaces a file, leaving nothing else in the directory', async () => {
    const path = join(dir, 'w.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, new Uint8Array([4, 5]));
    expect([...readFileSync(path)]).toEqual([4, 5]);
    expect(readdirSync(dir)).toEqual(['w.bin']);
  });

  it('removes its temporary file and keeps the target when the rename fails', async () => {
    // A non-empty directory cannot be replaced by a file: the rename is what fails.
    const path = join(dir, 'target');
    mkdirSync(path);
    writeFileSync(join(path, 'keep'), 'old');
    await expect(writeFileAtomic(path, new Uint8Array(1024))).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['target']);
    expect(readFileSync(join(path, 'keep'), 'utf8')).toBe('old');
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'nope', 'x.bin'), new Uint8Array(1))).rejects.toThrow(
      /ENOENT/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('saveSafetensors and loadSafetensors', () => {
  it('round-trips tensors and metadata through a file', async () => {
    const path = join(dir, 'model.safetensors');
    const w = tf.tensor2d([
      [1, -2],
      [3.5, 4],
    ]);
    const n = tf.scalar(3, 'int32');
    await saveSafetensors(path, { w, n }, { epoch: '1' }, { int64: ['n'] });
    expect(decodeSafetensors(readFileSync(path)).tensors.n.dtype).toBe('I64');
    const file = await loadSafetensors(path);
    expect(file.metadata.epoch).toBe('1');
    const back = safetensorsToTensors(file);
    expect(back.w.arraySync()).toEqual(w.arraySync());
    expect(back.n.arraySync()).toBe(3);
    tf.dispose([w, n, ...Object.values(back)]);
  });

  it('names the path of a missing file', async () => {
    const path = join(dir, 'missing.safetensors');
    await expect(loadSafetensors(path)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(path)).rejects.toThrow(`no file at ${path}`);
  });

  it('names the path of a corrupt file', async () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    await expect(loadSafetensors(path)).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(path)).rejects.toThrow(`${path}: safetensors: header size 200`);
  });
});

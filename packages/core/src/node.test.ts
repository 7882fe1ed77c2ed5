import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as v from 'valibot';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  FileFormatError,
  SafetensorsError,
  safetensorsToTensors,
} from './index.js';
import {
  loadSafetensors,
  makeDirDurable,
  readJsonFile,
  readRegularFile,
  readRegularFileSync,
  removeStaleTempFiles,
  saveSafetensors,
  writeFileAtomic,
} from './node.js';

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

describe('readRegularFile', () => {
  it('reads a regular file, also through a symlink', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, new Uint8Array([1, 2, 3]));
    symlinkSync(path, join(dir, 'link.bin'));
    expect([...(await readRegularFile(path, { maxBytes: 3 }))]).toEqual([1, 2, 3]);
    expect([...(await readRegularFile(join(dir, 'link.bin'), { maxBytes: 3 }))]).toEqual([1, 2, 3]);
  });

  it('refuses a file over maxBytes, a directory, a device and a missing file by name', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, new Uint8Array(10));
    await expect(readRegularFile(path, { maxBytes: 9, what: 'weights file' })).rejects.toThrow(
      `${path} is 10 bytes, more than the 9-byte limit for a weights file`,
    );
    await expect(readRegularFile(dir, { maxBytes: 9 })).rejects.toThrow(
      `${dir} is a directory; expected a regular file`,
    );
    await expect(readRegularFile('/dev/null', { maxBytes: 9 })).rejects.toThrow(FileFormatError);
    await expect(readRegularFile(join(dir, 'none'), { maxBytes: 9 })).rejects.toThrow(
      `no file at ${join(dir, 'none')}`,
    );
  });

  it('refuses a FIFO at once, even with a writer waiting on the other end', async () => {
    const path = join(dir, 'pipe');
    await new Promise((done) => spawn('mkfifo', [path]).on('exit', done));
    expect(existsSync(path)).toBe(true);
    await expect(readRegularFile(path, { maxBytes: 9 })).rejects.toThrow(
      'is a FIFO (named pipe); expected a regular file',
    );
  });
});

describe('readRegularFileSync', () => {
  it('reads what readRegularFile reads and refuses what it refuses, with the same messages', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, new Uint8Array([1, 2, 3]));
    symlinkSync(path, join(dir, 'link.bin'));
    expect([...readRegularFileSync(path, { maxBytes: 3 })]).toEqual([1, 2, 3]);
    expect([...readRegularFileSync(join(dir, 'link.bin'), { maxBytes: 3 })]).toEqual([1, 2, 3]);
    expect(() => readRegularFileSync(path, { maxBytes: 2, what: 'picture' })).toThrow(
      `${path} is 3 bytes, more than the 2-byte limit for a picture`,
    );
    expect(() => readRegularFileSync(dir, { maxBytes: 9 })).toThrow(
      `${dir} is a directory; expected a regular file`,
    );
    expect(() => readRegularFileSync('/dev/null', { maxBytes: 9 })).toThrow(FileFormatError);
    expect(() => readRegularFileSync(join(dir, 'none'), { maxBytes: 9 })).toThrow(
      `no file at ${join(dir, 'none')}`,
    );
    const pipe = join(dir, 'pipe');
    await new Promise((done) => spawn('mkfifo', [pipe]).on('exit', done));
    expect(() => readRegularFileSync(pipe, { maxBytes: 9 })).toThrow(
      'is a FIFO (named pipe); expected a regular file',
    );
  });
});

describe('readJsonFile', () => {
  const Pointer = v.object({ latest: v.string(), epoch: v.number() });

  it('reads and validates a JSON file', async () => {
    const path = join(dir, 'checkpoint.json');
    writeFileSync(path, '{"latest":"checkpoints/epoch-2","epoch":2}');
    expect(await readJsonFile(Pointer, path)).toEqual({ latest: 'checkpoints/epoch-2', epoch: 2 });
  });

  it('names the file and the field, and refuses bytes that are not UTF-8', async () => {
    const path = join(dir, 'checkpoint.json');
    writeFileSync(path, '{"latest":null,"epoch":2}');
    await expect(readJsonFile(Pointer, path)).rejects.toThrow(
      `${path}: latest: expected string, got null`,
    );
    writeFileSync(path, new Uint8Array([0x22, 0xff, 0x22]));
    await expect(readJsonFile(Pointer, path)).rejects.toThrow(`${path}: not valid UTF-8`);
    await expect(readJsonFile(Pointer, path, { maxBytes: 2 })).rejects.toThrow('2-byte limit');
  });
});

describe('durable directories and crash leftovers', () => {
  it('makeDirDurable creates missing parents and accepts an existing directory', async () => {
    const path = join(dir, 'a', 'b', 'c');
    await makeDirDurable(path);
    expect(existsSync(path)).toBe(true);
    await makeDirDurable(path);
    expect(readdirSync(join(dir, 'a'))).toEqual(['b']);
  });

  it("removeStaleTempFiles removes a dead writer's temporary files and nothing else", async () => {
    // A pid far above Linux's pid_max (4194304) belongs to no process.
    const dead = '.w.bin.99999999.0123456789ab.tmp';
    const ours = `.w.bin.${process.pid}.0123456789ab.tmp`;
    for (const name of [dead, ours, 'w.bin', '.w.bin.99999999.nothex.tmp', 'x.tmp']) {
      writeFileSync(join(dir, name), 'x');
    }
    expect(await removeStaleTempFiles(dir)).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual(
      [ours, '.w.bin.99999999.nothex.tmp', 'w.bin', 'x.tmp'].sort(),
    );
  });
});

describe('loadSafetensors checks the header against the file before reading the data', () => {
  it('refuses a truncated file, naming the tensor and the sizes', async () => {
    const whole = encodeSafetensors({ w: { dtype: 'F32', shape: [4], data: [1, 2, 3, 4] } });
    const path = join(dir, 'cut.safetensors');
    writeFileSync(path, whole.subarray(0, whole.length - 4));
    await expect(loadSafetensors(path)).rejects.toThrow(
      /cut\.safetensors: safetensors: tensor "w": data_offsets \[0,16\] out of range; expected begin <= end <= 12/,
    );
    await expect(loadSafetensors(path, { maxBytes: 8 })).rejects.toThrow('8-byte limit');
  });

  it('refuses a file holding only part of the size field', async () => {
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, new Uint8Array(5));
    await expect(loadSafetensors(path)).rejects.toThrow('file is 5 bytes, shorter than the 8-byte');
  });
});

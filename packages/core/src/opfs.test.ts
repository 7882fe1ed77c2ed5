import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileFormatError, ResnetError } from './errors.js';
import {
  opfsAvailable,
  opfsDirectory,
  readOpfsFile,
  removeOpfsFile,
  writeOpfsFileAtomic,
} from './opfs.js';
import { MemoryOpfsDirectory } from './testing/memory-opfs.js';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('writeOpfsFileAtomic', () => {
  it('writes the file through a temporary name and leaves only the file', async () => {
    const dir = new MemoryOpfsDirectory();
    await writeOpfsFileAtomic(dir.asHandle(), 'run.safetensors', bytes(1, 2, 3));
    expect([...dir.files.keys()]).toEqual(['run.safetensors']);
    expect(dir.files.get('run.safetensors')).toEqual(bytes(1, 2, 3));
  });

  it('replaces a longer old file whole, with no tail of the old bytes', async () => {
    const dir = new MemoryOpfsDirectory();
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(9, 9, 9, 9, 9));
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(4, 5));
    expect(dir.files.get('f')).toEqual(bytes(4, 5));
  });

  it('truncates a temporary file a closed page left before writing into it', async () => {
    const dir = new MemoryOpfsDirectory();
    dir.files.set('f.tmp', bytes(7, 7, 7, 7));
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(1));
    expect([...dir.files.entries()]).toEqual([['f', bytes(1)]]);
  });

  it('keeps the old file and removes the temporary one when a write comes up short', async () => {
    const dir = new MemoryOpfsDirectory();
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(1, 2, 3));
    dir.faults.shortWriteBytes = 2;
    await expect(writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(4, 5, 6, 7))).rejects.toThrow(
      /wrote 2 of 4 bytes of f/,
    );
    expect([...dir.files.entries()]).toEqual([['f', bytes(1, 2, 3)]]);
  });

  it('keeps the old file when flushing fails, and rethrows the browser error', async () => {
    const dir = new MemoryOpfsDirectory();
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(1, 2, 3));
    dir.faults.failFlush = true;
    await expect(writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(4))).rejects.toThrow(
      'flush failed',
    );
    expect([...dir.files.entries()]).toEqual([['f', bytes(1, 2, 3)]]);
  });

  it('refuses, naming the file, where handles cannot be moved, and writes nothing', async () => {
    const dir = new MemoryOpfsDirectory();
    dir.files.set('f', bytes(1));
    dir.faults.noMove = true;
    const err = await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(2)).catch((e) => e);
    expect(err).toBeInstanceOf(ResnetError);
    expect(err.message).toMatch(/f cannot be replaced atomically/);
    expect([...dir.files.entries()]).toEqual([['f', bytes(1)]]);
  });

  it('writes through a writable stream outside workers, where there are no sync handles', async () => {
    const dir = new MemoryOpfsDirectory();
    dir.faults.noSyncHandles = true;
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(8, 9));
    expect([...dir.files.entries()]).toEqual([['f', bytes(8, 9)]]);
  });
});

describe('readOpfsFile', () => {
  it('reads back what was written', async () => {
    const dir = new MemoryOpfsDirectory();
    await writeOpfsFileAtomic(dir.asHandle(), 'f', bytes(1, 2, 3));
    expect(await readOpfsFile(dir.asHandle(), 'f', { maxBytes: 3 })).toEqual(bytes(1, 2, 3));
  });

  it('returns null for a missing file', async () => {
    const dir = new MemoryOpfsDirectory();
    expect(await readOpfsFile(dir.asHandle(), 'missing', { maxBytes: 10 })).toBeNull();
  });

  it('refuses a file over the limit from its size, before reading any of it', async () => {
    const dir = new MemoryOpfsDirectory();
    dir.files.set('run.safetensors', new Uint8Array(11));
    const err = await readOpfsFile(dir.asHandle(), 'run.safetensors', {
      maxBytes: 10,
      what: 'checkpoint',
    }).catch((e) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect(err.file).toBe('run.safetensors');
    expect(err.message).toBe(
      'run.safetensors: 11 bytes, more than the 10-byte limit for a checkpoint',
    );
    expect(dir.reads).toEqual([]);
  });

  it('passes on errors other than a missing file', async () => {
    const dir = new MemoryOpfsDirectory();
    const handle = dir.asHandle();
    handle.getFileHandle = async () => {
      throw new DOMException('f is a directory', 'TypeMismatchError');
    };
    await expect(readOpfsFile(handle, 'f', { maxBytes: 10 })).rejects.toThrow('f is a directory');
  });
});

describe('removeOpfsFile', () => {
  it('removes the file and a temporary file left beside it, and nothing else', async () => {
    const dir = new MemoryOpfsDirectory();
    dir.files.set('f', bytes(1));
    dir.files.set('f.tmp', bytes(2));
    dir.files.set('g', bytes(3));
    await removeOpfsFile(dir.asHandle(), 'f');
    expect([...dir.files.keys()]).toEqual(['g']);
  });

  it('is no error when neither is there', async () => {
    const dir = new MemoryOpfsDirectory();
    await expect(removeOpfsFile(dir.asHandle(), 'f')).resolves.toBeUndefined();
  });
});

describe('opfsAvailable and opfsDirectory', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('report no OPFS under Node, which has no navigator.storage', async () => {
    expect(opfsAvailable()).toBe(false);
    await expect(opfsDirectory('app')).rejects.toThrow(/no Origin Private File System/);
  });

  it('open (and create) the named directory under the origin root', async () => {
    const root = new MemoryOpfsDirectory();
    const made: string[] = [];
    const handle = root.asHandle();
    handle.getDirectoryHandle = async (name, options) => {
      made.push(`${name}:${options?.create}`);
      return new MemoryOpfsDirectory(name).asHandle();
    };
    vi.stubGlobal('navigator', { storage: { getDirectory: async () => handle } });
    expect(opfsAvailable()).toBe(true);
    expect((await opfsDirectory('app')).name).toBe('app');
    expect(made).toEqual(['app:true']);
  });
});

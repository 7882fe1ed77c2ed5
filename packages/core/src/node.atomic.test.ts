import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from './node.js';

// Every file handle opened for writing writes half of what it is given, then fails as a
// full disk would: the case where a plain writeFile leaves a truncated target behind.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof fs.open>): Promise<FileHandle> => {
    const handle = await fs.open(...args);
    if (args[1] !== 'wx') return handle;
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'writeFile') {
          return async (bytes: Uint8Array) => {
            await target.write(bytes, 0, bytes.length >> 1);
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          };
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...fs, open, default: { ...fs, open } };
});

const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-atomic-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic when the write fails halfway', () => {
  it('keeps the old target whole and removes the half-written temporary file', async () => {
    const path = join(dir, 'weights.safetensors');
    writeFileSync(path, 'old contents');
    await expect(writeFileAtomic(path, new Uint8Array(4096).fill(7))).rejects.toThrow('ENOSPC');
    expect(readFileSync(path, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['weights.safetensors']);
  });

  it('creates no target at all when there was none', async () => {
    const path = join(dir, 'new.safetensors');
    await expect(writeFileAtomic(path, new Uint8Array(64))).rejects.toThrow('ENOSPC');
    expect(readdirSync(dir)).toEqual(['weights.safetensors']);
  });
});

import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DatasetFileError } from '../errors.js';

/**
 * The first of `names` that exists in `dir`, or a DatasetFileError saying what was looked
 * for and how to get it.
 */
export function findFile(dir: string, names: readonly string[], howToGet: string): string {
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new DatasetFileError(
    join(dir, names[0]),
    `not found (looked for ${names.join(', ')} in ${dir}); ${howToGet}`,
  );
}

/** What kind of file system entry a stat describes, for refusing anything but a file. */
function entryKind(s: import('node:fs').Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The bytes of the regular file at `path` (symlinks followed), refusing directories, FIFOs
 * and devices (which would hang or never end) and files over `maxBytes`, and never reading
 * past the size seen by `stat`, so a file that grows while read cannot exhaust memory.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Uint8Array> {
  let info: import('node:fs').Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw new DatasetFileError(path, `cannot read (${(error as Error).message})`);
  }
  if (!info.isFile()) {
    throw new DatasetFileError(path, `is ${entryKind(info)}, expected a regular file`);
  }
  if (info.size > maxBytes) {
    throw new DatasetFileError(path, `${info.size} bytes is more than the ${maxBytes}-byte limit`);
  }
  const handle = await open(path, 'r');
  try {
    const bytes = new Uint8Array(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesRead } = await handle.read(bytes, offset, bytes.length - offset, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return offset === bytes.length ? bytes : bytes.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/**
 * Decompresses gzip `raw`, asking `expectedLength` for the total size once the first bytes are
 * out (it may throw to refuse the file early) and stopping as soon as the output would pass
 * that size or `maxBytes`, so a small file that inflates to gigabytes costs nothing.
 */
export async function gunzipBounded(
  raw: Uint8Array,
  path: string,
  maxBytes: number,
  expectedLength: (head: Uint8Array) => number | undefined = () => undefined,
): Promise<Uint8Array> {
  const gunzip = createGunzip();
  const chunks: Buffer[] = [];
  let total = 0;
  let limit: number | undefined;
  let head = new Uint8Array(0);
  const done = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (chunk: Buffer) => {
      if (limit === undefined && head.length < 64) {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined.subarray(0, 64);
        try {
          limit = expectedLength(joined);
        } catch (error) {
          gunzip.destroy();
          reject(error);
          return;
        }
      }
      total += chunk.length;
      const cap = Math.min(limit ?? maxBytes, maxBytes);
      if (total > cap) {
        gunzip.destroy();
        reject(
          new DatasetFileError(
            path,
            limit !== undefined && limit <= maxBytes
              ? `decompresses to more than the ${limit} bytes its header promises (corrupt or a decompression bomb)`
              : `decompresses to more than the ${maxBytes}-byte limit`,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    gunzip.on('end', () => resolve());
    gunzip.on('error', (error) =>
      reject(new DatasetFileError(path, `not a valid gzip file (${error.message})`)),
    );
  });
  gunzip.end(raw);
  await done;
  return new Uint8Array(Buffer.concat(chunks, total));
}

/** The most bytes a compressed or plain dataset file may take (MNIST's largest is 47 MB). */
export const MAX_DATASET_FILE_BYTES = 2 ** 31 - 1;

/**
 * A file's bytes, gunzipped when the name ends in .gz; `expectedLength` reads the total size
 * from the first decompressed bytes (a header) so decompression stops at what it promised.
 */
export async function readMaybeGzip(
  path: string,
  expectedLength?: (head: Uint8Array) => number | undefined,
): Promise<Uint8Array> {
  const raw = await readRegularFile(path, MAX_DATASET_FILE_BYTES);
  if (!path.endsWith('.gz')) return raw;
  return gunzipBounded(raw, path, MAX_DATASET_FILE_BYTES, expectedLength);
}

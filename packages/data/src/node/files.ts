import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
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

/** A file's bytes, gunzipped when the name ends in .gz. */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  const raw = await readFile(path);
  if (!path.endsWith('.gz')) return raw;
  try {
    return gunzipSync(raw);
  } catch (error) {
    throw new DatasetFileError(path, `not a valid gzip file (${(error as Error).message})`);
  }
}

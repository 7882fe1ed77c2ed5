/**
 * @resnet-ts/core/node: file helpers that need Node's `fs`, kept out of the main entry so
 * that browser bundles of @resnet-ts/core never see a `node:` import.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  decodeSafetensors,
  type EncodableTensor,
  type EncodeSafetensorsOptions,
  encodeSafetensors,
  SafetensorsError,
  type SafetensorsFile,
} from './safetensors.js';

/**
 * Writes `bytes` to `path` so that readers see either the old file or the whole new one:
 * the data goes to a temporary file in the same directory, is flushed to disk, then renamed
 * over `path`. The temporary file is removed when anything fails.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (e) {
    await handle?.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw e;
  }
  await syncDirectory(dir);
}

/** Makes the rename itself durable; some platforms (Windows) cannot open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Durability of the directory entry is best effort; the data is already on disk.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Encodes tensors as safetensors (see `encodeSafetensors`) and writes them atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, EncodableTensor>,
  metadata?: Record<string, string>,
  options?: EncodeSafetensorsOptions,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, options));
}

/** Reads and decodes a safetensors file; errors name the path. */
export async function loadSafetensors(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SafetensorsError(`safetensors: no file at ${path}`);
    throw new SafetensorsError(`safetensors: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new SafetensorsError(`${path}: ${e.message}`);
    }
    throw e;
  }
}

export { type ThreadedWasmOptions, useThreadedWasm } from './kernels/threaded_wasm_node.js';

/**
 * @resnet-ts/core/node: file helpers that need Node's `fs`, kept out of the main entry so
 * that browser bundles of @resnet-ts/core never see a `node:` import.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { GenericSchema } from 'valibot';
import { capMessage, FileFormatError } from './errors.js';
import {
  decodeSafetensorsData,
  decodeSafetensorsHeader,
  type EncodableTensor,
  type EncodeSafetensorsOptions,
  encodeSafetensors,
  SafetensorsError,
  type SafetensorsFile,
  safetensorsHeaderLength,
} from './safetensors.js';
import { parseJson } from './schema.js';

/** Options of {@link readRegularFile}. */
export interface ReadRegularFileOptions {
  /** The largest file accepted, in bytes; checked from `stat` before anything is read. */
  maxBytes: number;
  /** What the file should be, for messages ("weights file"); default "file". */
  what?: string;
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** An open regular file and the size `stat` saw, which is all that will ever be read. */
interface OpenedFile {
  handle: FileHandle;
  size: number;
}

/**
 * Opens `path` only if it is a regular file (symlinks followed) of at most `maxBytes`:
 * `stat` comes first, so a FIFO is never opened (opening one blocks) and a device or
 * directory is refused by name; the open is non-blocking and re-checked with `fstat`, so a
 * file swapped in between is caught too.
 */
async function openRegularFile(
  path: string,
  { maxBytes, what = 'file' }: ReadRegularFileOptions,
  error: (message: string) => Error,
): Promise<OpenedFile> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw error(`no file at ${path}; expected a ${what}`);
    throw error(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (!info.isFile()) {
    const link = await lstat(path).then(
      (l) => (l.isSymbolicLink() ? ' (through a symbolic link)' : ''),
      () => '',
    );
    throw error(`${path} is ${kindOf(info)}${link}; expected a regular ${what}`);
  }
  if (info.size > maxBytes) {
    throw error(
      `${path} is ${info.size} bytes, more than the ${maxBytes}-byte limit for a ${what}`,
    );
  }
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const opened = await handle.stat();
  if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
    await handle.close();
    throw error(`${path} changed while it was being opened; expected a regular ${what}`);
  }
  return { handle, size: info.size };
}

/** Reads bytes `[position, position + into.length)`; a file that shrank since `stat` throws. */
async function readExactly(
  { handle }: OpenedFile,
  into: Uint8Array,
  position: number,
  path: string,
  error: (message: string) => Error,
): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) {
      throw error(`${path} ended at byte ${position + done}, before the size stat reported`);
    }
    done += bytesRead;
  }
}

/**
 * Reads a whole file that must be a regular file of at most `maxBytes` bytes. FIFOs,
 * devices (also behind a symlink, such as a link to /dev/zero) and directories are refused
 * with a {@link FileFormatError} naming the path, and nothing past the size `stat` reported
 * is ever read, so a file cannot make the reader wait or grow without end.
 */
export async function readRegularFile(
  path: string,
  options: ReadRegularFileOptions,
): Promise<Uint8Array> {
  const error = (message: string) => new FileFormatError(message);
  const file = await openRegularFile(path, options, error);
  try {
    const bytes = new Uint8Array(file.size);
    await readExactly(file, bytes, 0, path, error);
    return bytes;
  } finally {
    await file.handle.close();
  }
}

/**
 * {@link readRegularFile} without the event loop, with the same checks and errors: for
 * worker threads that read many small files, where each asynchronous step would be a round
 * trip through libuv's thread pool and the thread has nothing else to do meanwhile.
 */
export function readRegularFileSync(path: string, options: ReadRegularFileOptions): Uint8Array {
  const { maxBytes, what = 'file' } = options;
  const error = (message: string) => new FileFormatError(message);
  let info: Stats;
  try {
    info = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw error(`no file at ${path}; expected a ${what}`);
    throw error(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (!info.isFile()) {
    let link = '';
    try {
      link = lstatSync(path).isSymbolicLink() ? ' (through a symbolic link)' : '';
    } catch {}
    throw error(`${path} is ${kindOf(info)}${link}; expected a regular ${what}`);
  }
  if (info.size > maxBytes) {
    throw error(
      `${path} is ${info.size} bytes, more than the ${maxBytes}-byte limit for a ${what}`,
    );
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw error(`${path} changed while it was being opened; expected a regular ${what}`);
    }
    const bytes = new Uint8Array(info.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) throw error(`${path} ended at byte ${done}, before the size stat reported`);
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Options of {@link readJsonFile}. */
export interface ReadJsonFileOptions {
  /** The largest file accepted, in bytes (default 16 MiB). */
  maxBytes?: number;
}

/**
 * Reads a JSON file through {@link readRegularFile} and validates it with a valibot
 * schema: any problem (not a regular file, too big, not UTF-8, not JSON, nesting too deep,
 * a field of the wrong type) is a {@link FileFormatError} naming the file and the field.
 */
export async function readJsonFile<T>(
  schema: GenericSchema<unknown, T>,
  path: string,
  { maxBytes = 16 * 1024 * 1024 }: ReadJsonFileOptions = {},
): Promise<T> {
  const bytes = await readRegularFile(path, { maxBytes, what: 'JSON file' });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FileFormatError('not valid UTF-8', { file: path });
  }
  return parseJson(schema, text, path);
}

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

/**
 * Flushes a directory's entries to disk, so that a file created or renamed in it survives a
 * power cut. Best effort: some platforms (Windows) cannot open a directory.
 */
export async function syncDirectory(dir: string): Promise<void> {
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

/**
 * Creates `path` and any missing parents, as `mkdir -p`, then flushes the parent of each
 * directory it created, so the new directories survive a crash along with what is later
 * written into them.
 */
export async function makeDirDurable(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true });
  if (first === undefined) return;
  const top = resolve(first);
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    await syncDirectory(dirname(dir));
    if (dir === top || dirname(dir) === dir) break;
  }
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that {@link writeFileAtomic} left in `dir` when its process
 * was killed mid-write, and returns their names. A file whose writer is still running (this
 * process or another live one) is left alone, and so is everything not named as those are.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = TEMP_NAME.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile()) continue;
    await unlink(path).catch(() => {});
    removed.push(name);
  }
  if (removed.length) await syncDirectory(dir);
  return removed;
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

/** Options of {@link loadSafetensors}. */
export interface LoadSafetensorsOptions {
  /** The largest file accepted, in bytes (default 2 GiB). */
  maxBytes?: number;
}

/**
 * Reads and decodes a safetensors file; errors name the path. Only a regular file is read
 * (see {@link readRegularFile}); the size field and the header come first and are checked
 * against the file's size, so a truncated or lying file is refused before its data is read.
 */
export async function loadSafetensors(
  path: string,
  { maxBytes = 2 ** 31 }: LoadSafetensorsOptions = {},
): Promise<SafetensorsFile> {
  const error = (message: string) => new SafetensorsError(capMessage(`safetensors: ${message}`));
  const file = await openRegularFile(path, { maxBytes, what: 'safetensors file' }, error);
  try {
    const prefix = new Uint8Array(Math.min(8, file.size));
    await readExactly(file, prefix, 0, path, error);
    const headerLength = safetensorsHeaderLength(prefix, file.size);
    const headerBytes = new Uint8Array(headerLength);
    headerBytes.set(prefix);
    await readExactly(file, headerBytes.subarray(8), 8, path, error);
    const header = decodeSafetensorsHeader(headerBytes, file.size);
    const bytes = new Uint8Array(file.size);
    bytes.set(headerBytes);
    await readExactly(file, bytes.subarray(headerLength), headerLength, path, error);
    return decodeSafetensorsData(header, bytes);
  } catch (e) {
    if (e instanceof SafetensorsError && !e.message.includes(path)) {
      throw new SafetensorsError(capMessage(`${path}: ${e.message}`));
    }
    throw e;
  } finally {
    await file.handle.close();
  }
}

export { type ThreadedWasmOptions, useThreadedWasm } from './kernels/threaded-wasm-node.js';

/**
 * Files in the browser's Origin Private File System (OPFS), written the way
 * `@resnet-ts/core/node`'s `writeFileAtomic` writes them on disk: to a temporary file that is
 * then moved over the old name, so a reader finds the old file or the whole new one, never a
 * page closed half-way through a save. Browser-safe: `navigator` and the OPFS handles are
 * touched only inside the functions.
 */
import { FileFormatError, ResnetError } from './errors.js';

/** What OPFS offers beyond the DOM library's types: sync handles (workers only) and `move`. */
interface SyncAccessHandle {
  truncate(size: number): void;
  write(data: Uint8Array, options: { at: number }): number;
  flush(): void;
  close(): void;
}
interface OpfsFileHandle extends FileSystemFileHandle {
  createSyncAccessHandle?(): Promise<SyncAccessHandle>;
  move?(name: string): Promise<void>;
}

/** Options of {@link readOpfsFile}. */
export interface ReadOpfsFileOptions {
  /** The largest file accepted, in bytes; checked from the file's size before it is read. */
  maxBytes: number;
  /** What the file should be, for messages ("checkpoint"); default "file". */
  what?: string;
}

/** The name {@link writeOpfsFileAtomic} writes `name` under before moving it into place. */
function opfsTempName(name: string): string {
  return `${name}.tmp`;
}

function isNotFound(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'NotFoundError';
}

/** Whether this context has the Origin Private File System (a page over plain http has not). */
export function opfsAvailable(): boolean {
  return typeof globalThis.navigator?.storage?.getDirectory === 'function';
}

/**
 * The directory `name` at the top of this origin's private file system, created if missing;
 * a {@link ResnetError} when the browser has no OPFS.
 */
export async function opfsDirectory(name: string): Promise<FileSystemDirectoryHandle> {
  if (!opfsAvailable()) {
    throw new ResnetError('this browser has no Origin Private File System');
  }
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(name, { create: true });
}

/** Writes the whole of `bytes` to `handle` and flushes it to disk before the handle closes. */
async function writeWhole(handle: OpfsFileHandle, bytes: Uint8Array, name: string): Promise<void> {
  if (typeof handle.createSyncAccessHandle === 'function') {
    const access = await handle.createSyncAccessHandle();
    try {
      access.truncate(0);
      const written = access.write(bytes, { at: 0 });
      if (written !== bytes.length) {
        throw new ResnetError(
          `wrote ${written} of ${bytes.length} bytes of ${name} (is the storage quota full?)`,
        );
      }
      access.flush();
    } finally {
      access.close();
    }
    return;
  }
  // Outside a worker there are no sync handles; a writable stream is committed on close.
  const stream = await handle.createWritable();
  try {
    await stream.write(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    await stream.abort().catch(() => {});
    throw err;
  }
  await stream.close();
}

/**
 * Writes `bytes` as `name` in `dir` so that readers see either the old file or the whole new
 * one: the data goes to `<name>.tmp`, is flushed, then moved over `name`. The
 * temporary file is removed when anything fails, and the old file is left as it was.
 */
export async function writeOpfsFileAtomic(
  dir: FileSystemDirectoryHandle,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const tempName = opfsTempName(name);
  const temp = (await dir.getFileHandle(tempName, { create: true })) as OpfsFileHandle;
  try {
    if (typeof temp.move !== 'function') {
      throw new ResnetError(
        `this browser cannot move files in its private file system, so ${name} cannot be replaced atomically`,
      );
    }
    await writeWhole(temp, bytes, name);
    await temp.move(name);
  } catch (err) {
    await dir.removeEntry(tempName).catch(() => {});
    throw err;
  }
}

/**
 * The contents of `name` in `dir`, or null when there is no such file. A file larger than
 * `maxBytes` is refused from its size, before any of it is read, with a
 * {@link FileFormatError} naming the file, its size and the limit.
 */
export async function readOpfsFile(
  dir: FileSystemDirectoryHandle,
  name: string,
  { maxBytes, what = 'file' }: ReadOpfsFileOptions,
): Promise<Uint8Array | null> {
  let handle: FileSystemFileHandle;
  try {
    handle = await dir.getFileHandle(name);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  const file = await handle.getFile();
  if (file.size > maxBytes) {
    throw new FileFormatError(
      `${file.size} bytes, more than the ${maxBytes}-byte limit for a ${what}`,
      { file: name },
    );
  }
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * Removes `name` from `dir` together with the temporary file an interrupted
 * {@link writeOpfsFileAtomic} left beside it; a file that is not there is no error.
 */
export async function removeOpfsFile(dir: FileSystemDirectoryHandle, name: string): Promise<void> {
  for (const entry of [name, opfsTempName(name)]) {
    await dir.removeEntry(entry).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  }
}

/**
 * An in-memory stand-in for an OPFS directory, enough of the handle API for the atomic writer:
 * files are byte arrays, sync access handles write into them directly (as the real ones do),
 * writable streams commit on close, and `move` renames over an existing name.
 */

function notFound(name: string): DOMException {
  return new DOMException(`${name} not found`, 'NotFoundError');
}

/** Ways to make the next writes go wrong, and what was read. */
export interface MemoryOpfsFaults {
  /** A sync handle's `write` stores only this many bytes and reports so (a full quota). */
  shortWriteBytes?: number;
  /** `flush` throws, after the bytes were written into the temporary file. */
  failFlush?: boolean;
  /** File handles have no `move` (as in browsers without it). */
  noMove?: boolean;
  /** File handles have no `createSyncAccessHandle` (a page's main thread). */
  noSyncHandles?: boolean;
}

/** One directory of the fake file system; `files` is its content, by name. */
export class MemoryOpfsDirectory {
  readonly kind = 'directory';
  readonly files = new Map<string, Uint8Array>();
  readonly faults: MemoryOpfsFaults = {};
  /** Names whose contents were read through `getFile().arrayBuffer()`. */
  readonly reads: string[] = [];

  constructor(readonly name = 'root') {}

  async getFileHandle(name: string, options: { create?: boolean } = {}) {
    if (!this.files.has(name)) {
      if (!options.create) throw notFound(name);
      this.files.set(name, new Uint8Array(0));
    }
    return this.fileHandle(name);
  }

  async removeEntry(name: string): Promise<void> {
    if (!this.files.delete(name)) throw notFound(name);
  }

  private fileHandle(initial: string) {
    const dir = this;
    let name = initial;
    const content = () => {
      const bytes = dir.files.get(name);
      if (!bytes) throw notFound(name);
      return bytes;
    };
    const handle: Record<string, unknown> = {
      kind: 'file',
      get name() {
        return name;
      },
      async getFile() {
        const bytes = content();
        return {
          size: bytes.length,
          arrayBuffer: async () => {
            dir.reads.push(name);
            return bytes.slice().buffer;
          },
        };
      },
      async createWritable() {
        let staged = new Uint8Array(0);
        return {
          async write(data: Uint8Array) {
            staged = data.slice();
          },
          async close() {
            dir.files.set(name, staged);
          },
          async abort() {},
        };
      },
    };
    if (!dir.faults.noSyncHandles) {
      handle.createSyncAccessHandle = async () => ({
        truncate(size: number) {
          dir.files.set(name, content().slice(0, size));
        },
        write(data: Uint8Array, { at }: { at: number }) {
          const count = Math.min(data.length, dir.faults.shortWriteBytes ?? data.length);
          const old = content();
          const next = new Uint8Array(Math.max(old.length, at + count));
          next.set(old);
          next.set(data.subarray(0, count), at);
          dir.files.set(name, next);
          return count;
        },
        flush() {
          if (dir.faults.failFlush) throw new DOMException('flush failed', 'InvalidStateError');
        },
        close() {},
      });
    }
    if (!dir.faults.noMove) {
      handle.move = async (to: string) => {
        dir.files.set(to, content());
        dir.files.delete(name);
        name = to;
      };
    }
    return handle;
  }

  /** This directory typed as the DOM's handle, for the functions under test. */
  asHandle(): FileSystemDirectoryHandle {
    return this as unknown as FileSystemDirectoryHandle;
  }
}

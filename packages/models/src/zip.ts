import { formatValue } from '@resnet-ts/core';
import { TorchFileError } from './torch-file-error.js';

/** One file of a zip archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** Offset of the entry's data in the archive (after its local header). */
  dataOffset: number;
  size: number;
  crc32: number;
}

/** Limits of {@link readZip}: what an archive may hold before it is refused unread. */
export interface ZipLimits {
  /** Most entries (default 65,536). */
  maxEntries?: number;
  /** Longest entry name in bytes (default 1,024). */
  maxNameBytes?: number;
}

/** A zip archive read by {@link readZip}: its entries by name, each read on demand. */
export interface ZipArchive {
  readonly entries: readonly ZipEntry[];
  /** The entry called `name`, if any. */
  get(name: string): ZipEntry | undefined;
  /** The entry's bytes (a view of the archive), checked against its CRC-32. */
  read(entry: ZipEntry): Uint8Array;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const STORED = 0;

function fail(message: string): never {
  throw new TorchFileError('zip', `zip: ${message}`);
}

let crcTable: Uint32Array | undefined;

/** The CRC-32 (IEEE) of `bytes`, as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u64(view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${value} is beyond any file size`);
  return Number(value);
}

/** Names from a file become paths: only plain relative names are allowed. */
function checkName(name: string): void {
  const parts = name.split('/');
  if (
    name.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[A-Za-z]:/.test(name) ||
    parts.some((p) => p === '..' || p === '.')
  ) {
    fail(`entry name ${formatValue(name)} is not a plain relative path; refusing the archive`);
  }
}

function findEndOfCentralDirectory(view: DataView): number {
  const last = view.byteLength - 22;
  // The record is followed by a comment of at most 65,535 bytes.
  for (let at = last; at >= 0 && at >= last - 0xffff; at--) {
    if (view.getUint32(at, true) === EOCD) return at;
  }
  return fail(
    `no end-of-central-directory record in ${view.byteLength} bytes: not a zip archive, or truncated`,
  );
}

interface Directory {
  count: number;
  offset: number;
  size: number;
  end: number;
}

function readDirectory(view: DataView): Directory {
  const at = findEndOfCentralDirectory(view);
  let count = view.getUint16(at + 10, true);
  let size = view.getUint32(at + 12, true);
  let offset = view.getUint32(at + 16, true);
  let end = at;
  if (view.getUint16(at + 4, true) !== 0 || view.getUint16(at + 6, true) !== 0) {
    fail('multi-disk archives are not supported');
  }
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = at - 20;
    if (locator < 0 || view.getUint32(locator, true) !== EOCD64_LOCATOR) {
      fail('zip64 end-of-central-directory locator missing');
    }
    const at64 = u64(view, locator + 8, 'zip64 record offset');
    if (at64 + 56 > locator || view.getUint32(at64, true) !== EOCD64) {
      fail(`zip64 end-of-central-directory record not at offset ${at64}`);
    }
    count = u64(view, at64 + 32, 'entry count');
    size = u64(view, at64 + 40, 'central directory size');
    offset = u64(view, at64 + 48, 'central directory offset');
    end = at64;
  }
  if (offset + size > end) {
    fail(
      `central directory (offset ${offset}, ${size} bytes) runs past its end record at ${end}: truncated or corrupt`,
    );
  }
  return { count, offset, size, end };
}

/** Sizes and offset of a central entry, widened by its zip64 extra field where needed. */
function zip64Fields(
  view: DataView,
  extraStart: number,
  extraEnd: number,
  fields: { size: number; compressed: number; local: number },
): void {
  for (let p = extraStart; p + 4 <= extraEnd; ) {
    const id = view.getUint16(p, true);
    const len = view.getUint16(p + 2, true);
    if (p + 4 + len > extraEnd) fail('extra field runs past its entry');
    if (id === 0x0001) {
      let q = p + 4;
      const take = (what: string) => {
        if (q + 8 > p + 4 + len) fail(`zip64 extra field too short for the ${what}`);
        const v = u64(view, q, what);
        q += 8;
        return v;
      };
      if (fields.size === 0xffffffff) fields.size = take('size');
      if (fields.compressed === 0xffffffff) fields.compressed = take('compressed size');
      if (fields.local === 0xffffffff) fields.local = take('local header offset');
    }
    p += 4 + len;
  }
}

/**
 * Reads the directory of a zip archive held in memory, checking every entry before any is
 * read: names are plain relative paths (no `..`, no absolute or drive paths) and unique,
 * counts and sizes lie within the archive, and only stored (uncompressed) entries are
 * accepted, since `torch.save` writes nothing else and a compressed entry may expand
 * without bound. Throws {@link TorchFileError} (`part: 'zip'`) naming what is wrong.
 */
export function readZip(bytes: Uint8Array, limits: ZipLimits = {}): ZipArchive {
  const { maxEntries = 65_536, maxNameBytes = 1024 } = limits;
  if (bytes.length < 22) fail(`${bytes.length} bytes is too short for a zip archive`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dir = readDirectory(view);
  if (dir.count > maxEntries) fail(`${dir.count} entries, more than the limit of ${maxEntries}`);
  if (dir.count * 46 > dir.size) {
    fail(`${dir.count} entries cannot fit in a central directory of ${dir.size} bytes`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let p = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    if (p + 46 > dir.offset + dir.size || view.getUint32(p, true) !== CENTRAL) {
      fail(`central directory entry ${i} at offset ${p} is missing or corrupt`);
    }
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const fields = {
      compressed: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      local: view.getUint32(p + 42, true),
    };
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > dir.offset + dir.size) fail(`central directory entry ${i} runs past the directory`);
    if (nameLen > maxNameBytes) fail(`entry ${i} has a ${nameLen}-byte name, over ${maxNameBytes}`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    } catch {
      return fail(`entry ${i} has a name that is not UTF-8`);
    }
    checkName(name);
    zip64Fields(view, p + 46 + nameLen, p + 46 + nameLen + extraLen, fields);
    if (flags & 1) fail(`entry ${formatValue(name)} is encrypted`);
    if (method !== STORED || fields.compressed !== fields.size) {
      fail(
        `entry ${formatValue(name)} is compressed (method ${method}, ${fields.compressed} → ${fields.size} bytes); torch.save stores entries uncompressed and compressed ones are refused`,
      );
    }
    const local = fields.local;
    if (local + 30 > dir.offset || view.getUint32(local, true) !== LOCAL) {
      fail(`entry ${formatValue(name)}: no local header at offset ${local}`);
    }
    const dataOffset =
      local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataOffset + fields.size > dir.offset) {
      fail(
        `entry ${formatValue(name)}: ${fields.size} bytes at offset ${dataOffset} run past the data area (${dir.offset} bytes): truncated or corrupt`,
      );
    }
    if (byName.has(name)) fail(`entry name ${formatValue(name)} appears twice`);
    const entry = { name, dataOffset, size: fields.size, crc32: crc };
    entries.push(entry);
    byName.set(name, entry);
    p = next;
  }
  return {
    entries,
    get: (name) => byName.get(name),
    read(entry) {
      const data = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.size);
      if (crc32(data) !== entry.crc32)
        fail(`entry ${formatValue(entry.name)} fails its CRC-32 check`);
      return data;
    },
  };
}

/** One file for {@link writeZip}. */
export interface ZipFile {
  name: string;
  data: Uint8Array;
}

/**
 * A zip archive of `files`, stored uncompressed with each entry's data aligned to 64 bytes
 * (as PyTorch's writer does, so readers may map tensors in place). No zip64: the archive
 * must stay under 4 GiB.
 */
export function writeZip(files: readonly ZipFile[]): Uint8Array {
  if (files.length > 0xffff) fail(`${files.length} entries need zip64, which this writer lacks`);
  const encoder = new TextEncoder();
  const names = files.map((f) => encoder.encode(f.name));
  const locals: number[] = [];
  const pads: number[] = [];
  let size = 0;
  files.forEach((f, i) => {
    checkName(f.name);
    locals.push(size);
    const header = 30 + names[i].length + 4;
    const pad = (64 - ((size + header) % 64)) % 64;
    pads.push(pad);
    size += header + pad + f.data.length;
  });
  const centralStart = size;
  for (const n of names) size += 46 + n.length;
  const total = size + 22;
  if (total > 0xffffffff) fail(`archive of ${total} bytes needs zip64, which this writer lacks`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const crcs = files.map((f) => crc32(f.data));
  files.forEach((f, i) => {
    let p = locals[i];
    view.setUint32(p, LOCAL, true);
    view.setUint16(p + 4, 20, true);
    view.setUint16(p + 8, STORED, true);
    view.setUint32(p + 14, crcs[i], true);
    view.setUint32(p + 18, f.data.length, true);
    view.setUint32(p + 22, f.data.length, true);
    view.setUint16(p + 26, names[i].length, true);
    view.setUint16(p + 28, 4 + pads[i], true);
    out.set(names[i], p + 30);
    p += 30 + names[i].length;
    // An extra field of PyTorch's own id ("FB") carries the alignment padding.
    view.setUint16(p, 0x4246, true);
    view.setUint16(p + 2, pads[i], true);
    out.set(f.data, p + 4 + pads[i]);
  });
  let p = centralStart;
  files.forEach((f, i) => {
    view.setUint32(p, CENTRAL, true);
    view.setUint16(p + 4, 20, true);
    view.setUint16(p + 6, 20, true);
    view.setUint16(p + 10, STORED, true);
    view.setUint32(p + 16, crcs[i], true);
    view.setUint32(p + 20, f.data.length, true);
    view.setUint32(p + 24, f.data.length, true);
    view.setUint16(p + 28, names[i].length, true);
    view.setUint32(p + 42, locals[i], true);
    out.set(names[i], p + 46);
    p += 46 + names[i].length;
  });
  view.setUint32(p, EOCD, true);
  view.setUint16(p + 8, files.length, true);
  view.setUint16(p + 10, files.length, true);
  view.setUint32(p + 12, p - centralStart, true);
  view.setUint32(p + 16, centralStart, true);
  return out;
}

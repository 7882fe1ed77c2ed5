import { type Tensor, tensor } from '@tensorflow/tfjs-core';
import {
  dtypeByteSize,
  isInt64Buffer,
  isSafetensorsDtype,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  safetensorsDtypeOf,
  tfjsDtypeOf,
} from './dtypes.js';
import { capMessage, formatValue, ResnetError, ValueError } from './errors.js';
import { checkJsonLimits, type JsonLimits } from './json-limits.js';
import type { LoadResult, Module, StateDict } from './module.js';
import { isTensor } from './tensors.js';

export type { SafetensorsDtype } from './dtypes.js';

/**
 * One decoded tensor: floats of every width as `Float32Array`, signed integers as
 * `Int32Array` (I64 range-checked), U8 and BOOL as `Uint8Array`. Row-major, as stored.
 */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** A decoded safetensors file: the `__metadata__` map and the tensors, in file order. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Record<string, SafetensorsTensor>;
}

/** A tensor given to {@link encodeSafetensors} as plain data rather than a tfjs tensor. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** Anything {@link encodeSafetensors} can write: a tfjs tensor or a {@link RawTensor}. */
export type EncodableTensor = Tensor | RawTensor;

/** Options of {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /**
   * int32 tensors to write as I64, by name or predicate: PyTorch keeps counters such as
   * BatchNorm's `num_batches_tracked` as int64 and expects them back that way.
   */
  int64?: readonly string[] | ((name: string) => boolean);
}

/** Thrown for every safetensors file or tensor that does not follow the format. */
export class SafetensorsError extends ResnetError {
  override name = 'SafetensorsError';
}

/** Rust's reference implementation refuses larger headers too; beyond it a file is hostile. */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * What a header may hold, checked by one linear scan before `JSON.parse` sees it: nesting as
 * the reference implementation (128), shapes of at most 1024 dimensions, and enough members
 * for ~50,000 tensors, so a hostile header costs neither stack nor gigabytes to refuse.
 */
const HEADER_LIMITS: JsonLimits = {
  maxDepth: 128,
  maxMembers: 200_000,
  maxArrayLength: 1024,
  maxKeyBytes: 4096,
  maxStringBytes: 16 * 1024 * 1024,
};

/** The largest finite float32; an F64 value beyond it would silently become Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const isDtype = isSafetensorsDtype;
const DTYPES = SAFETENSORS_DTYPES;

function fail(message: string): never {
  throw new SafetensorsError(capMessage(`safetensors: ${message}`));
}

function checkKey(key: string, where: string): void {
  if (FORBIDDEN_KEYS.has(key)) {
    fail(`${where} key ${formatValue(key)} is not allowed (it would reach Object.prototype)`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// ---------------------------------------------------------------------------------------
// 16-bit floats. tfjs has no f16/bf16 dtype, so both widen to float32 on read and are
// rounded (to nearest, ties to even) from float32 on write.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

let halfTable: Float32Array | undefined;

function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) halfTable[h] = sign * frac * 2 ** -24;
    else if (exp === 31) halfTable[h] = frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else halfTable[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return halfTable;
}

function floatToHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function floatToBfloat16(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------
// Decoding

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
  order: number;
}

/** Bytes before the data of a safetensors file: the 8-byte size field plus the JSON header. */
export function safetensorsHeaderLength(prefix: Uint8Array, fileSize: number): number {
  if (!(prefix instanceof Uint8Array)) {
    fail(`expected a Uint8Array, got ${formatValue(prefix)}`);
  }
  if (fileSize < 8 || prefix.length < 8) {
    fail(`file is ${fileSize} bytes, shorter than the 8-byte header size field`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerSize = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (headerSize > MAX_HEADER_BYTES) {
    fail(`header size ${headerSize} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  if (headerSize > fileSize - 8) {
    fail(`header size ${headerSize} runs past the end of the ${fileSize}-byte file`);
  }
  if (headerSize === 0) fail('header is empty; expected a JSON object');
  return 8 + headerSize;
}

function parseJsonHeader(headerBytes: Uint8Array): Record<string, unknown> {
  if (headerBytes[0] !== 0x7b) fail(`header must start with '{', found byte ${headerBytes[0]}`);
  // Before JSON.parse: its recursion and allocations are what a hostile header attacks.
  checkJsonLimits(headerBytes, (problem) => fail(`header refused: ${problem}`), HEADER_LIMITS);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) fail(`header must be a JSON object, got ${formatValue(parsed)}`);
  return parsed;
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    fail(`__metadata__ must be an object of strings, got ${formatValue(value)}`);
  }
  const metadata: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(value)) {
    checkKey(k, '__metadata__');
    if (typeof v !== 'string') {
      fail(`__metadata__ value for ${formatValue(k)} must be a string, got ${formatValue(v)}`);
    }
    metadata[k] = v;
  }
  return metadata;
}

function parseEntry(name: string, value: unknown, bufferSize: number, order: number) {
  const where = `tensor ${formatValue(name)}`;
  if (!isPlainObject(value)) {
    fail(`${where}: expected {dtype, shape, data_offsets}, got ${formatValue(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (dtype === undefined) fail(`${where}: missing "dtype"`);
  if (shape === undefined) fail(`${where}: missing "shape"`);
  if (offsets === undefined) fail(`${where}: missing "data_offsets"`);
  if (!isDtype(dtype)) {
    fail(`${where}: unsupported dtype ${formatValue(dtype)}; expected one of ${DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`${where}: shape must be an array of non-negative integers, got ${formatValue(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`${where}: data_offsets must be [begin, end] byte offsets, got ${formatValue(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > bufferSize) {
    fail(
      `${where}: data_offsets ${formatValue(offsets)} out of range; expected begin <= end <= ${bufferSize} (the data size)`,
    );
  }
  const expected = numel(shape) * dtypeByteSize(dtype);
  if (end - begin !== expected) {
    fail(
      `${where}: ${dtype} shape ${formatValue(shape)} needs ${expected} bytes, data_offsets ${formatValue(offsets)} hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...shape], begin, end, order } satisfies HeaderEntry;
}

/** Checks that the tensors tile the data buffer exactly, as the format requires. */
function checkCoverage(entries: HeaderEntry[], bufferSize: number): void {
  let at = 0;
  let previous: HeaderEntry | undefined;
  for (const e of entries) {
    if (e.begin < at) {
      fail(
        `tensor ${formatValue(e.name)} (bytes ${e.begin}..${e.end}) overlaps tensor ${formatValue(previous!.name)} (bytes ${previous!.begin}..${previous!.end})`,
      );
    }
    if (e.begin > at) {
      fail(
        `bytes ${at}..${e.begin} of the data belong to no tensor (gap before tensor ${formatValue(e.name)})`,
      );
    }
    at = e.end;
    previous = e;
  }
  if (at !== bufferSize) {
    fail(`bytes ${at}..${bufferSize} of the data belong to no tensor (trailing gap)`);
  }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

function decodeData(e: HeaderEntry, raw: Uint8Array): SafetensorsTensor['data'] {
  // A copy starts at offset 0 of its own buffer, so every typed view of it is aligned.
  const bytes = new Uint8Array(raw.length);
  bytes.set(raw);
  const size = dtypeByteSize(e.dtype);
  if (!LITTLE_ENDIAN && size > 1) swapBytes(bytes, e.dtype === 'I64' ? 4 : size);
  const n = raw.length / size;
  switch (e.dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer);
    case 'F64': {
      const wide = new Float64Array(bytes.buffer);
      const out = new Float32Array(wide);
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(out[i]) && Number.isFinite(wide[i])) {
          fail(
            `tensor ${formatValue(e.name)}: F64 value ${wide[i]} at index ${i} is beyond float32's range (±${FLOAT32_MAX}); tfjs computes in float32`,
          );
        }
      }
      return out;
    }
    case 'F16': {
      const table = halfToFloatTable();
      const half = new Uint16Array(bytes.buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[half[i]];
      return out;
    }
    case 'BF16': {
      const half = new Uint16Array(bytes.buffer);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = half[i] << 16;
      return out;
    }
    case 'I32':
      return new Int32Array(bytes.buffer);
    case 'I16':
      return new Int32Array(new Int16Array(bytes.buffer));
    case 'I8':
      return new Int32Array(new Int8Array(bytes.buffer));
    case 'I64': {
      // Words are swapped to little-endian order above, so [low, high] pairs on any host.
      const words = new Int32Array(bytes.buffer);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = words[2 * i];
        const high = words[2 * i + 1];
        if (high !== low >> 31) {
          const value = (BigInt(high) << 32n) | BigInt(low >>> 0);
          fail(
            `tensor ${formatValue(e.name)}: I64 value ${value} at index ${i} does not fit in int32 (tfjs has no int64)`,
          );
        }
        out[i] = low;
      }
      return out;
    }
    case 'U8':
      return bytes;
    case 'BOOL': {
      const bad = bytes.findIndex((b) => b > 1);
      if (bad >= 0) {
        fail(
          `tensor ${formatValue(e.name)}: BOOL byte ${bytes[bad]} at index ${bad}; expected 0 or 1`,
        );
      }
      return bytes;
    }
  }
}

/** One tensor of a {@link SafetensorsHeader}: where its data lies, before it is read. */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** `[begin, end)` byte offsets within the data section. */
  dataOffsets: [number, number];
}

/**
 * A checked safetensors header: everything about a file except its tensor data. The data
 * section is `dataBytes` long and starts at byte `headerLength`.
 */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** The tensors in the order their data lies in the file. */
  tensors: SafetensorsHeaderEntry[];
  headerLength: number;
  dataBytes: number;
}

/**
 * Reads and checks the header of a safetensors file of `fileSize` bytes from its first
 * bytes (`prefix` holds at least the size field and the header) without touching the data:
 * a caller reading from disk learns whether the data the header promises fits the file
 * before reading it. Throws {@link SafetensorsError} as {@link decodeSafetensors} does.
 */
export function decodeSafetensorsHeader(prefix: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = safetensorsHeaderLength(prefix, fileSize);
  if (prefix.length < headerLength) {
    fail(`got ${prefix.length} bytes of a ${headerLength}-byte header`);
  }
  const parsed = parseJsonHeader(prefix.subarray(8, headerLength));
  const bufferSize = fileSize - headerLength;
  let metadata: Record<string, string> = Object.create(null);
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    checkKey(name, 'tensor');
    if (name === '__metadata__') metadata = parseMetadata(value);
    else entries.push(parseEntry(name, value, bufferSize, entries.length));
  }
  // JSON.parse moves integer-like keys to the front, so the data order is the file order.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || a.order - b.order);
  checkCoverage(entries, bufferSize);
  return {
    metadata,
    tensors: entries.map((e) => ({
      name: e.name,
      dtype: e.dtype,
      shape: e.shape,
      dataOffsets: [e.begin, e.end],
    })),
    headerLength,
    dataBytes: bufferSize,
  };
}

/**
 * The tensors of a file whose header {@link decodeSafetensorsHeader} checked; `bytes` is the
 * whole file.
 */
export function decodeSafetensorsData(
  header: SafetensorsHeader,
  bytes: Uint8Array,
): SafetensorsFile {
  if (bytes.length !== header.headerLength + header.dataBytes) {
    fail(
      `file is ${bytes.length} bytes; its header promises ${header.headerLength + header.dataBytes}`,
    );
  }
  const tensors: Record<string, SafetensorsTensor> = Object.create(null);
  header.tensors.forEach((t, order) => {
    const [begin, end] = t.dataOffsets;
    const raw = bytes.subarray(header.headerLength + begin, header.headerLength + end);
    const e: HeaderEntry = { ...t, begin, end, order };
    tensors[t.name] = { dtype: t.dtype, shape: t.shape, data: decodeData(e, raw) };
  });
  return { metadata: header.metadata, tensors };
}

/**
 * Decodes a safetensors file (https://github.com/huggingface/safetensors), listing tensors
 * in the order their data lies in the file. Every deviation from the format throws a
 * {@link SafetensorsError} naming the tensor and what was expected, in at most a few
 * hundred characters; the header is bounded (nesting 128, members, key and string lengths,
 * no repeated names) before it is parsed, and nothing is allocated beyond the size of
 * `bytes`.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${formatValue(bytes)}`);
  return decodeSafetensorsData(decodeSafetensorsHeader(bytes, bytes.length), bytes);
}

// ---------------------------------------------------------------------------------------
// Encoding

function wantsInt64(options: EncodeSafetensorsOptions, name: string): boolean {
  const { int64 } = options;
  if (!int64) return false;
  return typeof int64 === 'function' ? int64(name) : int64.includes(name);
}

/** The safetensors dtype a tfjs tensor is written as, as a {@link SafetensorsError}. */
function tfDtypeToSafetensors(name: string, dtype: string, int64: boolean): SafetensorsDtype {
  try {
    return safetensorsDtypeOf(dtype as Tensor['dtype'], { name, int64 });
  } catch (e) {
    if (e instanceof ValueError) fail(e.message);
    throw e;
  }
}

function toRaw(name: string, value: EncodableTensor, int64: boolean): RawTensor {
  const where = `tensor ${formatValue(name)}`;
  if (isTensor(value)) {
    const dtype = tfDtypeToSafetensors(name, value.dtype, int64);
    return { dtype, shape: value.shape, data: value.dataSync() as ArrayLike<number> };
  }
  if (typeof value !== 'object' || value === null) {
    fail(`${where}: expected a tfjs Tensor or {dtype, shape, data}, got ${formatValue(value)}`);
  }
  if (!isDtype(value.dtype)) {
    fail(
      `${where}: unsupported dtype ${formatValue(value.dtype)}; expected one of ${DTYPES.join(', ')}`,
    );
  }
  if (int64 && value.dtype !== 'I32' && value.dtype !== 'I64') {
    fail(`${where}: only I32 tensors can be written as I64, this one is ${value.dtype}`);
  }
  return int64 ? { ...value, dtype: 'I64' } : value;
}

const INT_RANGE: Partial<Record<SafetensorsDtype, [number, number]>> = {
  I64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-(2 ** 15), 2 ** 15 - 1],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};

function encodeData(name: string, t: RawTensor): Uint8Array {
  const where = `tensor ${formatValue(name)}`;
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) {
    fail(`${where}: shape must be an array of non-negative integers, got ${formatValue(t.shape)}`);
  }
  const n = numel(t.shape);
  const data = t.data;
  if (data === null || typeof data !== 'object' || data.length !== n) {
    fail(
      `${where}: shape ${formatValue(t.shape)} needs ${n} values, got ${data?.length ?? formatValue(data)}`,
    );
  }
  const range = INT_RANGE[t.dtype];
  if (range) {
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        fail(
          `${where}: ${t.dtype} value ${v} at index ${i} is not an integer in [${range[0]}, ${range[1]}]`,
        );
      }
    }
  }
  const out = toTypedArray(t.dtype, data, n);
  const view = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  if (LITTLE_ENDIAN) return view;
  // The view may be the caller's own array (or tfjs's storage): swap a copy.
  const bytes = view.slice();
  swapBytes(bytes, t.dtype === 'I64' ? 4 : dtypeByteSize(t.dtype));
  return bytes;
}

/** The values as the typed array the dtype stores, reusing `data` when it already is one. */
function toTypedArray(
  dtype: SafetensorsDtype,
  data: ArrayLike<number>,
  n: number,
): ArrayBufferView {
  switch (dtype) {
    case 'F64':
      return data instanceof Float64Array ? data : new Float64Array(data);
    case 'F32':
      return data instanceof Float32Array ? data : new Float32Array(data);
    case 'F16':
    case 'BF16': {
      const round = dtype === 'F16' ? floatToHalf : floatToBfloat16;
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = round(data[i]);
      return out;
    }
    case 'I64': {
      const words = new Int32Array(2 * n);
      for (let i = 0; i < n; i++) {
        const high = Math.floor(data[i] / 2 ** 32);
        words[2 * i] = data[i] - high * 2 ** 32;
        words[2 * i + 1] = high;
      }
      return words;
    }
    case 'I32':
      return data instanceof Int32Array ? data : new Int32Array(data);
    case 'I16':
      return data instanceof Int16Array ? data : new Int16Array(data);
    case 'I8':
      return data instanceof Int8Array ? data : new Int8Array(data);
    case 'U8':
    case 'BOOL':
      return data instanceof Uint8Array ? data : new Uint8Array(data);
  }
}

/**
 * Encodes tensors and optional string metadata as a safetensors file. tfjs float32, int32
 * and bool tensors become F32, I32 (or I64, see {@link EncodeSafetensorsOptions.int64}) and
 * BOOL; a {@link RawTensor} is written with the dtype it names.
 */
export function encodeSafetensors(
  tensors: Record<string, EncodableTensor>,
  metadata?: Record<string, string>,
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    if (!isPlainObject(metadata))
      fail(`metadata must be an object of strings, got ${formatValue(metadata)}`);
    header.__metadata__ = parseMetadata(metadata);
  }
  const names = Object.keys(tensors);
  if (Array.isArray(options.int64)) {
    const missing = options.int64.filter((k) => !Object.hasOwn(tensors, k));
    if (missing.length) fail(`int64 names ${formatValue(missing)} are not among the tensors`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    checkKey(name, 'tensor');
    if (name === '__metadata__') fail('"__metadata__" is reserved and cannot name a tensor');
    const raw = toRaw(name, tensors[name], wantsInt64(options, name));
    const bytes = encodeData(name, raw);
    header[name] = {
      dtype: raw.dtype,
      shape: [...raw.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Padding the header to 8 bytes keeps the data aligned for readers that map it in place.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// tfjs and Module helpers

/**
 * tfjs tensors for a decoded file (or raw bytes): floats as float32, integers and U8 as
 * int32, BOOL as bool. The caller owns and disposes them.
 */
export function safetensorsToTensors(file: SafetensorsFile | Uint8Array): Record<string, Tensor> {
  const decoded = file instanceof Uint8Array ? decodeSafetensors(file) : file;
  const out: Record<string, Tensor> = Object.create(null);
  try {
    for (const [name, t] of Object.entries(decoded.tensors)) {
      const dtype = tfjsDtypeOf(t.dtype);
      const data =
        t.data instanceof Uint8Array && dtype === 'int32' ? new Int32Array(t.data) : t.data;
      out[name] = tensor(data, t.shape, dtype);
    }
  } catch (e) {
    for (const t of Object.values(out)) t.dispose();
    throw e;
  }
  return out;
}

/**
 * Reads tfjs tensors into plain {@link RawTensor}s with the asynchronous `data()`, ready for
 * {@link encodeSafetensors}. GPU backends in Node (webgpu) cannot read synchronously, which
 * encoding tfjs tensors directly does; every read starts before any is awaited so a GPU can
 * overlap the downloads. int32 `num_batches_tracked` counters become I64 unless
 * `options.int64` says otherwise.
 *
 * @example
 * await saveSafetensors('model.safetensors', await readTensors(model.stateDict()));
 */
export async function readTensors(
  tensors: Record<string, Tensor>,
  options: EncodeSafetensorsOptions = {},
): Promise<Record<string, RawTensor>> {
  const names = Object.keys(tensors);
  const int64 =
    options.int64 ?? ((name: string) => isInt64Buffer(name) && tensors[name].dtype === 'int32');
  const dtypes = names.map((n) =>
    tfDtypeToSafetensors(n, tensors[n].dtype, wantsInt64({ int64 }, n)),
  );
  const data = await Promise.all(names.map((n) => tensors[n].data()));
  const out: Record<string, RawTensor> = {};
  names.forEach((n, i) => {
    out[n] = { dtype: dtypes[i], shape: tensors[n].shape, data: data[i] as ArrayLike<number> };
  });
  return out;
}

/**
 * A module's state dict as a safetensors file, with `num_batches_tracked` written as I64 so
 * PyTorch reads back the dtypes it saved (override with `options.int64`).
 */
export function stateDictToSafetensors(
  module: Module,
  metadata?: Record<string, string>,
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  const dict: StateDict = module.stateDict();
  const int64 =
    options.int64 ?? ((name: string) => isInt64Buffer(name) && dict[name].dtype === 'int32');
  return encodeSafetensors(dict, metadata, { ...options, int64 });
}

/**
 * Loads a safetensors file (bytes or decoded) into a module with
 * {@link Module.loadStateDict}'s semantics; the temporary tensors are freed either way.
 */
export function loadSafetensorsIntoModule(
  module: Module,
  source: Uint8Array | SafetensorsFile,
  { strict = true } = {},
): LoadResult {
  const tensors = safetensorsToTensors(source);
  try {
    return module.loadStateDict(tensors, { strict });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

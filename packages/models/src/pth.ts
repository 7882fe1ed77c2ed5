import {
  decodeSafetensors,
  dtypeByteSize,
  encodeSafetensors,
  formatValue,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from '@resnet-ts/core';
import {
  type PickleInput,
  type PickleKey,
  type PickleTensor,
  type PickleValue,
  PyCounter,
  PyTuple,
  pickleTorch,
  type StorageRef,
  type TensorRef,
  unpickle,
} from './pickle.js';
import { TorchFileError } from './torch-file-error.js';
import { readZip, writeZip, type ZipArchive, type ZipLimits } from './zip.js';

/** A value read from a `torch.save` file: {@link unpickle}'s values with tensors decoded. */
export type TorchValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | TorchValue[]
  | PyTuple
  | Map<PickleKey, TorchValue>
  | SafetensorsTensor;

/** Limits of {@link readTorchFile}. */
export interface ReadTorchFileOptions extends ZipLimits {}

function fail(message: string): never {
  throw new TorchFileError('tensor', message);
}

/** The one folder every entry of a `torch.save` archive lies in (its name is arbitrary). */
function archiveRoot(zip: ZipArchive): string {
  const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) {
    throw new TorchFileError(
      'format',
      `a zip archive without <folder>/data.pkl is not a torch.save file (entries: ${formatValue(zip.entries.slice(0, 5).map((e) => e.name))})`,
    );
  }
  return pkl.name.slice(0, -'data.pkl'.length);
}

/**
 * Storage elements as typed arrays, through the one dtype decoder of the safetensors
 * reader: a storage is a 1-D tensor of its bytes. Decoded once per key, shared by views.
 */
function storageReader(zip: ZipArchive, root: string) {
  const decoded = new Map<string, SafetensorsTensor['data']>();
  const littleEndian = zip.get(`${root}byteorder`);
  if (littleEndian && new TextDecoder().decode(zip.read(littleEndian)).trim() !== 'little') {
    throw new TorchFileError('format', 'big-endian torch.save files are not supported');
  }
  return (s: StorageRef): SafetensorsTensor['data'] => {
    const cached = decoded.get(s.key);
    if (cached) return cached;
    const entry = zip.get(`${root}data/${s.key}`);
    if (!entry) fail(`storage ${formatValue(s.key)} is not in the archive (${root}data/${s.key})`);
    const bytes = s.numel * dtypeByteSize(s.dtype);
    if (entry.size !== bytes) {
      fail(
        `storage ${formatValue(s.key)} holds ${entry.size} bytes; ${s.numel} ${s.dtype} elements need ${bytes}`,
      );
    }
    const raw = zip.read(entry);
    const header = new TextEncoder().encode(
      JSON.stringify({ s: { dtype: s.dtype, shape: [s.numel], data_offsets: [0, bytes] } }),
    );
    const file = new Uint8Array(8 + header.length + bytes);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(header, 8);
    file.set(raw, 8 + header.length);
    const data = decodeSafetensors(file).tensors.s.data;
    decoded.set(s.key, data);
    return data;
  };
}

/** Checks that a tensor's view lies inside its storage and is no larger than it. */
function checkView(t: TensorRef): void {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const where = `tensor of size ${formatValue(t.shape)}, stride ${formatValue(t.stride)}, offset ${t.offset} in storage ${formatValue(t.storage.key)}`;
  if (numel > 0) {
    const last = t.offset + t.shape.reduce((a, d, i) => a + (d - 1) * t.stride[i], 0);
    if (t.offset < 0 || last >= t.storage.numel) {
      fail(`${where}: reaches element ${last}, but the storage has ${t.storage.numel}`);
    }
    // Expanded views (stride 0) could multiply a small storage without bound.
    if (numel > t.storage.numel) fail(`${where}: ${numel} elements, more than its storage holds`);
  }
}

/** A tensor's elements copied out of its storage; {@link checkView} first. */
function materialize(t: TensorRef, storage: SafetensorsTensor['data']): SafetensorsTensor {
  const numel = t.shape.reduce((a, b) => a * b, 1);
  const Ctor = storage.constructor as new (n: number) => SafetensorsTensor['data'];
  const out = new Ctor(numel);
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < numel; i++) {
    out[i] = storage[src];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += t.stride[d];
      if (index[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: [...t.shape], data: out };
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

/**
 * Reads a `torch.save` file (the zip format PyTorch writes by default since 1.6): its
 * pickle through the restricted {@link unpickle}, then every tensor from its storage, each
 * checked to lie inside it. Tensors come back as `{dtype, shape, data}` records in
 * PyTorch's own layout; dicts as Maps. Throws {@link TorchFileError} for anything that is not
 * a well-formed file within the limits.
 */
export function readTorchFile(bytes: Uint8Array, options: ReadTorchFileOptions = {}): TorchValue {
  const zip = readZip(bytes, options);
  const root = archiveRoot(zip);
  const storage = storageReader(zip, root);
  const tree = unpickle(zip.read(zip.get(`${root}data.pkl`)!));
  // Many views of one storage could multiply it without bound: all tensors together may hold
  // no more elements than the archive's storages have bytes.
  let budget = zip.entries
    .filter((e) => e.name.startsWith(`${root}data/`))
    .reduce((a, e) => a + e.size, 0);
  // Walk with an explicit stack: a pickle's memo can make a value contain itself.
  const seen = new Map<object, TorchValue>();
  const convert = (v: PickleValue, depth: number): TorchValue => {
    if (typeof v !== 'object' || v === null) return v;
    if (depth > 64) throw new TorchFileError('pickle', 'pickle: values nested more than 64 deep');
    const done = seen.get(v);
    if (done !== undefined) return done;
    if (isTensorRef(v)) {
      const elements = storage(v.storage);
      checkView(v);
      budget -= v.shape.reduce((a, b) => a * b, 1);
      if (budget < 0) {
        fail(
          `the tensors hold more elements than the archive's storages have bytes (tensor of size ${formatValue(v.shape)} in storage ${formatValue(v.storage.key)}); refusing views that repeat a storage`,
        );
      }
      const out = materialize(v, elements);
      seen.set(v, out);
      return out;
    }
    if (Array.isArray(v)) {
      const out: TorchValue[] = [];
      seen.set(v, out);
      for (const x of v) out.push(convert(x, depth + 1));
      return out;
    }
    if (v instanceof PyTuple) {
      const items: TorchValue[] = [];
      const out = new PyTuple(items as PickleValue[]);
      seen.set(v, out as TorchValue);
      for (const x of v.items) items.push(convert(x, depth + 1));
      return out;
    }
    if (!(v instanceof Map)) {
      throw new TorchFileError('pickle', 'pickle: a global or storage where a value belongs');
    }
    const out = new Map<PickleKey, TorchValue>();
    seen.set(v, out);
    for (const [k, x] of v) out.set(k, convert(x, depth + 1));
    return out;
  };
  return convert(tree, 0);
}

/** A tensor to write with {@link writeTorchFile}. */
export interface TorchFileTensor {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: ArrayLike<number>;
}

/** What {@link writeTorchFile} writes: records become OrderedDicts, Maps dicts. */
export type TorchFileValue =
  | null
  | boolean
  | number
  | string
  | TorchFileValue[]
  | PyTuple
  | Map<PickleKey, TorchFileValue>
  | TorchFileTensor
  | PyCounter
  | { [key: string]: TorchFileValue };

function isTensorLike(v: unknown): v is TorchFileTensor {
  const t = v as TorchFileTensor;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof t.dtype === 'string' &&
    Array.isArray(t.shape) &&
    typeof t.data === 'object' &&
    t.data !== null &&
    typeof t.data.length === 'number'
  );
}

/** A tensor's bytes as its storage holds them, through the safetensors encoder's conversions. */
function storageBytes(t: TorchFileTensor): Uint8Array {
  const file = encodeSafetensors({ s: { dtype: t.dtype, shape: [...t.shape], data: t.data } });
  const header = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return file.subarray(8 + header);
}

/**
 * A `torch.save` file of `value` (zip, stored entries, protocol-2 pickle) that
 * `torch.load` reads back: records become OrderedDicts (as `state_dict()` returns them),
 * Maps become dicts (integer keys for optimizer state), {@link PyTuple}s tuples, and
 * `{dtype, shape, data}` records tensors, each with its own storage.
 */
export function writeTorchFile(value: TorchFileValue, archiveName = 'archive'): Uint8Array {
  if (!/^[A-Za-z0-9_]+$/.test(archiveName)) {
    throw new TorchFileError(
      'format',
      `archive name ${formatValue(archiveName)} must be a plain name`,
    );
  }
  const storages: Uint8Array[] = [];
  const swap = (v: TorchFileValue): PickleInput => {
    if (typeof v !== 'object' || v === null || v instanceof PyCounter) return v;
    if (isTensorLike(v)) {
      const key = String(storages.length);
      storages.push(storageBytes(v));
      const out: PickleTensor = { kind: 'tensor', dtype: v.dtype, shape: [...v.shape], key };
      return out;
    }
    if (Array.isArray(v)) return v.map(swap);
    if (v instanceof PyTuple)
      return new PyTuple(v.items.map((x) => swap(x as TorchFileValue)) as PickleValue[]);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, swap(x)]));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]));
  };
  const pickle = pickleTorch(swap(value));
  const text = (s: string) => new TextEncoder().encode(s);
  return writeZip([
    { name: `${archiveName}/data.pkl`, data: pickle },
    { name: `${archiveName}/byteorder`, data: text('little') },
    ...storages.map((data, i) => ({ name: `${archiveName}/data/${i}`, data })),
    { name: `${archiveName}/version`, data: text('3\n') },
  ]);
}

import { formatValue, type SafetensorsDtype } from '@resnet-ts/core';
import { TorchFileError, UnsafeGlobalError } from './torch-file-error.js';

/** A Python tuple read from a pickle (lists are arrays, dicts are Maps). */
export class PyTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** A storage a tensor refers to: `data/<key>` of the archive, `numel` elements of `dtype`. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: SafetensorsDtype;
  readonly key: string;
  readonly numel: number;
}

/** A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}

/** The values a state-dict pickle can hold. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleValue[]
  | PyTuple
  | Map<PickleKey, PickleValue>
  | TensorRef;

/** Dict keys the reader accepts. */
export type PickleKey = string | number | bigint | boolean | null;

/**
 * A `collections.Counter` to write: PyTorch's MultiStepLR keeps its milestones in one
 * (epoch → how many times the rate is multiplied there). Read back as a plain Map.
 */
export class PyCounter {
  constructor(readonly counts: Map<PickleKey, number>) {}
}

/** The storage classes of `torch.save` and the element type each holds. */
export const STORAGE_DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** A global the reader knows by name; nothing is imported. */
class Global {
  constructor(readonly qualified: string) {}
}

/**
 * `getattr` rebuilds a bound method, which pickles its whole object: in a training checkpoint
 * that is almost always OneCycleLR's `anneal_func`, which its `state_dict()` keeps.
 */
const BOUND_METHOD_HINT =
  "it rebuilds a bound method, like the anneal_func of PyTorch's OneCycleLR.state_dict(), and with it the whole scheduler and optimizer; save that state without 'anneal_func' (nothing from the file is run)";

/** Every global a state dict needs; any other is refused. */
const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'collections.Counter',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

const MARK = Symbol('mark');
type StackItem = PickleValue | Global | typeof MARK | StorageRef;

/** Limits of {@link unpickle}. */
export interface UnpickleLimits {
  /** Longest string or global name in bytes (default 1 MiB). */
  maxStringBytes?: number;
}

function fail(message: string): never {
  throw new TorchFileError('pickle', `pickle: ${message}`);
}

function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor';
}

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && (v as StorageRef).kind === 'storage';
}

function asInt(v: StackItem, what: string): number {
  if (
    typeof v === 'bigint' &&
    v >= BigInt(Number.MIN_SAFE_INTEGER) &&
    v <= BigInt(Number.MAX_SAFE_INTEGER)
  ) {
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    fail(`${what} must be an integer, got ${formatValue(String(v))}`);
  return v;
}

function intTuple(v: StackItem, what: string): number[] {
  if (!(v instanceof PyTuple)) fail(`${what} must be a tuple of integers`);
  return v.items.map((x, i) => {
    const n = asInt(x, `${what}[${i}]`);
    if (n < 0) fail(`${what}[${i}] is negative (${n})`);
    return n;
  });
}

/** A storage from `torch.save`'s persistent id `('storage', StorageClass, key, location, numel)`. */
function storageFromPid(pid: StackItem): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
    fail("persistent id must be the tuple ('storage', class, key, location, numel)");
  }
  const [, cls, key, , numel] = pid.items as StackItem[];
  if (!(cls instanceof Global) || !cls.qualified.startsWith('torch.')) {
    fail('persistent id names no storage class');
  }
  const dtype = STORAGE_DTYPES[cls.qualified.slice('torch.'.length)];
  if (!dtype) fail(`${cls.qualified} is not a storage class`);
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) {
    fail(`storage key ${formatValue(String(key))} is not a plain name`);
  }
  const n = asInt(numel as StackItem, `storage ${key} size`);
  if (n < 0) fail(`storage ${key} has negative size ${n}`);
  return { kind: 'storage', dtype, key, numel: n };
}

function call(fn: StackItem, args: StackItem): PickleValue {
  if (!(fn instanceof Global)) fail('REDUCE of something that is not a known function');
  if (!(args instanceof PyTuple)) fail(`${fn.qualified} called without an argument tuple`);
  const a = args.items as StackItem[];
  switch (fn.qualified) {
    case 'collections.OrderedDict': {
      const dict = new Map<PickleKey, PickleValue>();
      if (a.length === 0) return dict;
      if (a.length === 1 && Array.isArray(a[0])) {
        for (const pair of a[0]) {
          if (!(pair instanceof PyTuple) || pair.items.length !== 2)
            fail('OrderedDict items must be pairs');
          dict.set(key(pair.items[0]), pair.items[1]);
        }
        return dict;
      }
      return fail('OrderedDict called with unexpected arguments');
    }
    case 'collections.Counter': {
      if (a.length === 0) return new Map();
      if (a.length === 1 && a[0] instanceof Map) return new Map(a[0]);
      return fail('Counter called with unexpected arguments');
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      if (a.length < 4) fail(`${fn.qualified} needs at least 4 arguments, got ${a.length}`);
      const [storage, offset, shape, stride] = a;
      if (!isStorageRef(storage)) fail(`${fn.qualified}: first argument is not a storage`);
      const s = intTuple(shape, 'tensor size');
      const st = intTuple(stride, 'tensor stride');
      if (s.length !== st.length)
        fail(`tensor size ${formatValue(s)} and stride ${formatValue(st)} differ in rank`);
      return {
        kind: 'tensor',
        storage,
        offset: asInt(offset, 'storage offset'),
        shape: s,
        stride: st,
      };
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      if (!isTensorRef(a[0])) fail(`${fn.qualified}: first argument is not a tensor`);
      return a[0];
    }
    default:
      return fail(`${fn.qualified} cannot be called`);
  }
}

function key(v: StackItem): PickleKey {
  if (v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v))
    return v as PickleKey;
  return fail(`dict key of unsupported type ${formatValue(Object.prototype.toString.call(v))}`);
}

/**
 * Runs a pickle (protocols 2–5, the opcodes `torch.save` emits) over a fixed set of building
 * blocks: dicts, OrderedDicts, lists, tuples, numbers, strings, and the tensor, parameter
 * and storage rebuild functions of PyTorch. Every other global (`os.system`,
 * `builtins.eval`, ...) is refused with an {@link UnsafeGlobalError} naming it as soon as
 * the pickle names it; nothing is imported or executed. Tensors come back as
 * {@link TensorRef}s to be read from the archive.
 */
export function unpickle(bytes: Uint8Array, limits: UnpickleLimits = {}): PickleValue {
  const { maxStringBytes = 1 << 20 } = limits;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, StackItem>();
  let pos = 0;
  let ops = 0;

  const need = (n: number, what: string) => {
    if (n < 0 || pos + n > bytes.length) {
      fail(
        `${what} of ${n} bytes at offset ${pos} runs past the end (${bytes.length} bytes): truncated`,
      );
    }
  };
  const take = (n: number, what: string) => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const pop = (): StackItem => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1])) {
      fail(`stack underflow at offset ${pos}`);
    }
    return stack.pop()!;
  };
  const top = (): StackItem => {
    if (stack.length === 0) fail(`stack underflow at offset ${pos}`);
    return stack[stack.length - 1];
  };
  const popMark = (): StackItem[] => {
    const m = marks.pop();
    if (m === undefined) fail(`no MARK before offset ${pos}`);
    return stack.splice(m);
  };
  const text = (n: number, what: string) => {
    if (n > maxStringBytes) fail(`${what} of ${n} bytes is over the limit of ${maxStringBytes}`);
    try {
      return utf8.decode(take(n, what));
    } catch (e) {
      if (e instanceof TorchFileError) throw e;
      return fail(`${what} at offset ${pos} is not UTF-8`);
    }
  };
  const line = (what: string) => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 256)
      fail(`${what} at offset ${pos} has no newline within 256 bytes`);
    const out = text(end - pos, what);
    pos++; // the newline
    return out;
  };
  const global = (module: string, name: string): Global => {
    const qualified = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(qualified)) {
      throw new UnsafeGlobalError(
        qualified,
        qualified === 'builtins.getattr' || qualified === '__builtin__.getattr'
          ? `pickle: global ${formatValue(qualified)} is not allowed: ${BOUND_METHOD_HINT}`
          : `pickle: global ${formatValue(qualified)} is not allowed; a state dict needs only dicts, tensors and storages (nothing from the file is run)`,
      );
    }
    return new Global(qualified);
  };
  const memoIndex = (i: number) => {
    // Writers number memo entries in order, so an index cannot exceed the opcodes read.
    if (i > ops) fail(`memo index ${i} at offset ${pos} is beyond the ${ops} opcodes read so far`);
    return i;
  };
  const get = (i: number) => {
    if (!memo.has(i)) fail(`memo index ${i} at offset ${pos} was never stored`);
    return memo.get(i)!;
  };
  const setItems = (dict: StackItem, items: StackItem[]) => {
    if (!(dict instanceof Map)) fail(`SETITEM(S) on something that is not a dict at offset ${pos}`);
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.set(key(items[i]), items[i + 1] as PickleValue);
  };
  const append = (list: StackItem, items: StackItem[]) => {
    if (!Array.isArray(list)) fail(`APPEND(S) on something that is not a list at offset ${pos}`);
    list.push(...(items as PickleValue[]));
  };
  // A tuple may hold a storage class for a moment: the persistent id of a storage.
  const tuple = (items: StackItem[]) => new PyTuple(items as PickleValue[]);

  for (;;) {
    ops++;
    const op = take(1, 'opcode')[0];
    switch (op) {
      case 0x80: // PROTO
        if (take(1, 'protocol')[0] > 5) fail(`pickle protocol ${bytes[pos - 1]} is newer than 5`);
        break;
      case 0x95: // FRAME
        take(8, 'frame size');
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        if (result instanceof Global || isStorageRef(result))
          fail('the pickle ends in a bare global or storage');
        return result as PickleValue;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        need(4, 'BININT');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(take(1, 'BININT1')[0]);
        break;
      case 0x4d: // BININT2
        need(2, 'BININT2');
        stack.push(view.getUint16(pos, true));
        pos += 2;
        break;
      case 0x8a: {
        // LONG1
        const n = take(1, 'LONG1 size')[0];
        if (n > 8) fail(`integer of ${n} bytes at offset ${pos} is wider than 64 bits`);
        const b = take(n, 'LONG1');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(
          v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
            ? Number(v)
            : v,
        );
        break;
      }
      case 0x47: // BINFLOAT
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        need(4, 'BINUNICODE size');
        pos += 4;
        stack.push(text(view.getUint32(pos - 4, true), 'string'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(take(1, 'string size')[0], 'string'));
        break;
      case 0x8d: {
        // BINUNICODE8
        need(8, 'BINUNICODE8 size');
        const n = view.getBigUint64(pos, true);
        pos += 8;
        if (n > BigInt(maxStringBytes))
          fail(`string of ${n} bytes is over the limit of ${maxStringBytes}`);
        stack.push(text(Number(n), 'string'));
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x6c: // LIST
        stack.push(popMark() as PickleValue[]);
        break;
      case 0x64: {
        // DICT
        const dict = new Map<PickleKey, PickleValue>();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line('global module');
        stack.push(global(module, line('global name')));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail('STACK_GLOBAL of non-strings');
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: an OrderedDict's `_metadata` or a tensor's hooks; neither changes the values.
        const state = pop();
        const target = top();
        if (!(target instanceof Map) && !isTensorRef(target))
          fail(`BUILD on an unsupported object at offset ${pos}`);
        if (state instanceof Global) fail('BUILD with a global as state');
        break;
      }
      case 0x51: // BINPERSID
        stack.push(storageFromPid(pop()));
        break;
      case 0x71: // BINPUT
        memo.set(memoIndex(take(1, 'BINPUT')[0]), top());
        break;
      case 0x72: // LONG_BINPUT
        need(4, 'LONG_BINPUT');
        pos += 4;
        memo.set(memoIndex(view.getUint32(pos - 4, true)), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(take(1, 'BINGET')[0]));
        break;
      case 0x6a: // LONG_BINGET
        need(4, 'LONG_BINGET');
        pos += 4;
        stack.push(get(view.getUint32(pos - 4, true)));
        break;
      default:
        fail(
          `opcode 0x${op.toString(16).padStart(2, '0')} at offset ${pos - 1} is not one a state dict needs`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Writing

/** A tensor for {@link pickleTorch}: its data goes to storage `data/<key>` of the archive. */
export interface PickleTensor {
  readonly kind: 'tensor';
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** The storage key the caller writes the data under. */
  readonly key: string;
}

/** What {@link pickleTorch} writes: dicts (Maps, or objects with string keys), lists, tuples. */
export type PickleInput =
  | null
  | boolean
  | number
  | string
  | PickleInput[]
  | PyTuple
  | Map<PickleKey, PickleInput>
  | PickleTensor
  | PyCounter
  | { [key: string]: PickleInput };

class Pickler {
  private chunks: number[] = [];
  private readonly encoder = new TextEncoder();

  byte(...b: number[]): void {
    for (const x of b) this.chunks.push(x);
  }
  u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  global(module: string, name: string): void {
    this.byte(0x63, ...this.encoder.encode(`${module}\n${name}\n`));
  }
  string(s: string): void {
    const b = this.encoder.encode(s);
    this.byte(0x58);
    this.u32(b.length);
    for (const x of b) this.chunks.push(x);
  }
  int(n: number): void {
    if (n >= 0 && n < 256) this.byte(0x4b, n);
    else if (n >= -(2 ** 31) && n < 2 ** 31) {
      this.byte(0x4a);
      this.u32(n);
    } else {
      let v = BigInt(n);
      const out: number[] = [];
      do {
        out.push(Number(v & 0xffn));
        v >>= 8n;
      } while (
        !(v === 0n && !(out[out.length - 1] & 0x80)) &&
        !(v === -1n && out[out.length - 1] & 0x80)
      );
      this.byte(0x8a, out.length, ...out);
    }
  }
  float(x: number): void {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, x, false);
    this.byte(0x47, ...new Uint8Array(b.buffer));
  }
  orderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.byte(0x29, 0x52); // EMPTY_TUPLE REDUCE
  }
  value(v: PickleInput, depth: number): void {
    if (depth > 64) throw new TorchFileError('pickle', 'pickle: value nested more than 64 deep');
    if (v === null) this.byte(0x4e);
    else if (v === true) this.byte(0x88);
    else if (v === false) this.byte(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && Number.isSafeInteger(v)) this.int(v);
      else this.float(v);
    } else if (typeof v === 'string') this.string(v);
    else if (Array.isArray(v)) {
      this.byte(0x5d, 0x28);
      for (const x of v) this.value(x, depth + 1);
      this.byte(0x65);
    } else if (v instanceof PyTuple) {
      this.byte(0x28);
      for (const x of v.items) this.value(x as PickleInput, depth + 1);
      this.byte(0x74);
    } else if (v instanceof PyCounter) {
      this.global('collections', 'Counter');
      this.value(v.counts, depth + 1);
      this.byte(0x85, 0x52); // TUPLE1 REDUCE
    } else if (v instanceof Map) {
      this.byte(0x7d, 0x28);
      for (const [k, x] of v) {
        this.value(k as PickleInput, depth + 1);
        this.value(x, depth + 1);
      }
      this.byte(0x75);
    } else if (
      (v as PickleTensor).kind === 'tensor' &&
      typeof (v as PickleTensor).key === 'string'
    ) {
      this.tensor(v as PickleTensor);
    } else {
      this.dict(v as Record<string, PickleInput>, depth);
    }
  }
  /** A record becomes an OrderedDict, like every `state_dict()` of PyTorch. */
  dict(v: Record<string, PickleInput>, depth: number): void {
    this.orderedDict();
    this.byte(0x28);
    for (const [k, x] of Object.entries(v)) {
      this.string(k);
      this.value(x, depth + 1);
    }
    this.byte(0x75);
  }
  tensor(t: PickleTensor): void {
    const cls = Object.entries(STORAGE_DTYPES).find(([, d]) => d === t.dtype)?.[0];
    if (!cls) throw new TorchFileError('tensor', `no storage class for dtype ${t.dtype}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.byte(0x28); // MARK
    this.byte(0x28);
    this.string('storage');
    this.global('torch', cls);
    this.string(t.key);
    this.string('cpu');
    this.int(numel);
    this.byte(0x74, 0x51); // TUPLE BINPERSID
    this.int(0);
    const stride: number[] = [];
    for (let i = t.shape.length - 1, s = 1; i >= 0; s *= t.shape[i], i--) stride.unshift(s);
    this.value(new PyTuple([...t.shape]), 0);
    this.value(new PyTuple(stride), 0);
    this.byte(0x89); // requires_grad False
    this.orderedDict(); // backward hooks
    this.byte(0x74, 0x52); // TUPLE REDUCE
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/**
 * A protocol-2 pickle of `value` as `torch.save` writes it: records as OrderedDicts,
 * {@link PickleTensor}s as `_rebuild_tensor_v2` calls on storages named by their keys
 * (contiguous, offset 0). Only the globals {@link unpickle} allows are written.
 */
export function pickleTorch(value: PickleInput): Uint8Array {
  const p = new Pickler();
  p.byte(0x80, 2);
  p.value(value, 0);
  p.byte(0x2e);
  return p.finish();
}

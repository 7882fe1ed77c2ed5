import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensorsIntoModule,
  Module,
  ResnetError,
  readTensors,
  type SafetensorsDtype,
  SafetensorsError,
  safetensorsToTensors,
  stateDictToSafetensors,
} from './index.js';

const fixture = (name: string) => new URL(`./__fixtures__/safetensors/${name}`, import.meta.url);

/** A file from a header (object or raw JSON text) and data bytes, with the size field set. */
function build(header: unknown, data: ArrayLike<number> = [], headerSize?: number): Uint8Array {
  const text = new TextEncoder().encode(
    typeof header === 'string' ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + text.length + data.length);
  const view = new DataView(out.buffer);
  const size = headerSize ?? text.length;
  view.setUint32(0, size % 2 ** 32, true);
  view.setUint32(4, Math.floor(size / 2 ** 32), true);
  out.set(text, 8);
  out.set(Array.from(data), 8 + text.length);
  return out;
}

function expectError(bytes: Uint8Array, ...parts: Array<string | RegExp>): void {
  let error: unknown;
  try {
    decodeSafetensors(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SafetensorsError);
  expect(error).toBeInstanceOf(ResnetError);
  for (const p of parts) expect((error as Error).message).toMatch(p);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('safetensors round trip', () => {
  const cases: Array<[SafetensorsDtype, number[], ArrayLike<number>, ArrayLike<number>?]> = [
    ['F64', [2, 2], [0.5, -1.25, 1e10, -0]],
    ['F32', [3], Float32Array.from([1.5, -0, Math.PI])],
    // F16 keeps 11 significant bits: 0.1 comes back as the nearest half, 0.0999755859375.
    ['F16', [5], [1, -2.5, 65504, 0.1, 2 ** -24], [1, -2.5, 65504, 0.0999755859375, 2 ** -24]],
    // BF16 keeps 8 significant bits: 1.7 comes back as 1.703125 (torch agrees, below).
    ['BF16', [2, 2], [1, -2, 1.7, 1e30], [1, -2, 1.703125, 1.0002555517425873e30]],
    ['I64', [4], [0, -1, 2 ** 31 - 1, -(2 ** 31)]],
    ['I32', [2, 1], [123456789, -5]],
    ['I16', [2], [32767, -32768]],
    ['I8', [3], [127, -128, 0]],
    ['U8', [3], [0, 128, 255]],
    ['BOOL', [1, 3], [1, 0, 1]],
  ];
  for (const [dtype, shape, data, back = data] of cases) {
    it(`keeps ${dtype} dtype, shape and values`, () => {
      const bytes = encodeSafetensors({ t: { dtype, shape, data } }, { note: dtype });
      const file = decodeSafetensors(bytes);
      expect(file.metadata).toEqual({ note: dtype });
      const t = file.tensors.t;
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual(shape);
      const float = dtype.startsWith('F') || dtype === 'BF16';
      const want = Array.from(back).map((v) => (float ? Math.fround(v) : v));
      expect(Array.from(t.data)).toEqual(want);
      const kind = float ? Float32Array : Int32Array;
      expect(t.data).toBeInstanceOf(dtype === 'U8' || dtype === 'BOOL' ? Uint8Array : kind);
    });
  }

  it('pads the header with spaces to 8 bytes and lays data out in insertion order', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'U8', shape: [1], data: [1] },
      a: { dtype: 'F32', shape: [1], data: [2] },
    });
    const size = new DataView(bytes.buffer).getUint32(0, true);
    expect(size % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + size));
    expect(text).toMatch(/^\{.*\} *$/);
    expect(JSON.parse(text)).toEqual({
      b: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
      a: { dtype: 'F32', shape: [1], data_offsets: [1, 5] },
    });
    expect(Object.keys(decodeSafetensors(bytes).tensors)).toEqual(['b', 'a']);
  });

  it('writes tfjs float32, int32 and bool tensors, and chosen int32 ones as I64', () => {
    const tensors = {
      w: tf.tensor2d([
        [1, 2],
        [3, 4.5],
      ]),
      n: tf.scalar(7, 'int32'),
      step: tf.scalar(9, 'int32'),
      m: tf.tensor1d([true, false], 'bool'),
    };
    const file = decodeSafetensors(encodeSafetensors(tensors, undefined, { int64: ['step'] }));
    expect(Object.values(file.tensors).map((t) => t.dtype)).toEqual(['F32', 'I32', 'I64', 'BOOL']);
    expect(Array.from(file.tensors.w.data)).toEqual([1, 2, 3, 4.5]);
    expect(file.tensors.step.shape).toEqual([]);
    expect(Array.from(file.tensors.step.data)).toEqual([9]);
    const back = safetensorsToTensors(file);
    expect(back.w.dtype).toBe('float32');
    expect(back.step.dtype).toBe('int32');
    expect(back.m.dtype).toBe('bool');
    expect(back.w.arraySync()).toEqual([
      [1, 2],
      [3, 4.5],
    ]);
    tf.dispose([...Object.values(tensors), ...Object.values(back)]);
  });

  it('writes a typed-array view (offset into a larger buffer) as its own values only', () => {
    const backing = Float32Array.from([9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({
      v: { dtype: 'F32', shape: [3], data: backing.subarray(1, 4) },
    });
    expect(Array.from(decodeSafetensors(bytes).tensors.v.data)).toEqual([1, 2, 3]);
    expect(Array.from(backing)).toEqual([9, 1, 2, 3, 9]);
  });

  it('writes I64 values beyond int32 and refuses them on read, naming the tensor', () => {
    const bytes = encodeSafetensors({ big: { dtype: 'I64', shape: [2], data: [1, -(2 ** 40)] } });
    expectError(bytes, '"big"', '-1099511627776', 'index 1', 'int32');
  });

  it('rejects encoder input that does not match its dtype or shape', () => {
    const bad: Array<[Record<string, any>, string]> = [
      [{ t: { dtype: 'I8', shape: [1], data: [200] } }, 'I8 value 200'],
      [{ t: { dtype: 'BOOL', shape: [1], data: [2] } }, 'BOOL value 2'],
      [{ t: { dtype: 'I32', shape: [1], data: [0.5] } }, 'not an integer'],
      [{ t: { dtype: 'F32', shape: [2], data: [1] } }, 'needs 2 values, got 1'],
      [{ t: { dtype: 'F32', shape: [-1], data: [] } }, 'non-negative integers'],
      [{ t: { dtype: 'U16', shape: [1], data: [1] } }, 'unsupported dtype "U16"'],
      [{ __metadata__: { dtype: 'U8', shape: [0], data: [] } }, 'reserved'],
      [{ t: tf.tensor1d([1, 2]).toString() }, 'expected a tfjs Tensor'],
    ];
    for (const [tensors, message] of bad) {
      expect(() => encodeSafetensors(tensors)).toThrow(SafetensorsError);
      expect(() => encodeSafetensors(tensors)).toThrow(message);
    }
    const f = tf.scalar(1);
    expect(() => encodeSafetensors({ f }, undefined, { int64: ['f'] })).toThrow(
      'only int32 tensors can be written as I64',
    );
    expect(() => encodeSafetensors({ f }, undefined, { int64: ['g'] })).toThrow('"g"');
    expect(() => encodeSafetensors({ f }, { v: 1 as unknown as string })).toThrow(
      'must be a string',
    );
    f.dispose();
  });
});

describe('safetensors reference file written from PyTorch', () => {
  const expected = JSON.parse(readFileSync(fixture('reference.json'), 'utf8'));
  const file = decodeSafetensors(readFileSync(fixture('reference.safetensors')));
  const number = (v: number | string) =>
    v === 'nan' ? Number.NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number);

  it('has the metadata PyTorch-side code wrote', () => {
    expect({ ...file.metadata }).toEqual(expected.metadata);
  });

  it('lists the tensors in the order their data lies in the file', () => {
    const order = Object.entries(file.tensors).map(([name, t]) => [name, t.dtype]);
    expect(order.slice(0, 2)).toEqual([
      ['bn.num_batches_tracked', 'I64'],
      ['long', 'I64'],
    ]);
    expect(order.at(-1)).toEqual(['mask', 'BOOL']);
    expect(Object.keys(file.tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
  });

  for (const name of Object.keys(expected.tensors)) {
    it(`decodes ${name} exactly`, () => {
      const want = expected.tensors[name];
      const got = file.tensors[name];
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      const values = Array.from(got.data);
      expect(values.length).toBe(want.values.length);
      // Object.is tells -0 from 0 and NaN from everything but NaN.
      for (const [i, v] of values.entries()) {
        expect(Object.is(v, number(want.values[i])), `${name}[${i}]`).toBe(true);
      }
    });
  }

  it('loads into tfjs tensors with the matching dtypes', () => {
    const before = tf.memory().numTensors;
    const t = safetensorsToTensors(file);
    expect(t['conv.weight'].shape).toEqual([3, 2, 3, 3]);
    expect(t['bn.num_batches_tracked'].dtype).toBe('int32');
    expect(t.bytes.dtype).toBe('int32');
    expect(Array.from(t.bytes.dataSync())).toEqual([0, 1, 127, 128, 255]);
    expect(t.mask.dtype).toBe('bool');
    tf.dispose(Object.values(t));
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`rounds float32 to ${dtype} as torch does (ties to even, overflow, subnormals)`, () => {
      const { inputs, [dtype]: want } = expected.rounding;
      const bytes = encodeSafetensors({
        x: { dtype, shape: [inputs.length], data: inputs.map(number) },
      });
      const got = Array.from(decodeSafetensors(bytes).tensors.x.data);
      for (const [i, v] of got.entries()) {
        expect(Object.is(v, number(want[i])), `${dtype}(${inputs[i]}) = ${v}`).toBe(true);
      }
    });
  }

  it('refuses an int64 value beyond int32 written by PyTorch', () => {
    expectError(
      readFileSync(fixture('int64-out-of-range.safetensors')),
      '"step"',
      '3000000000',
      'does not fit in int32',
    );
  });
});

describe('safetensors bad input', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const eight = new Uint8Array(8);

  it('file shorter than the size field', () => {
    expectError(new Uint8Array(5), '5 bytes', '8-byte header size');
  });

  it('header size beyond the file', () => {
    expectError(build(ok, eight, 5000), 'header size 5000', 'past the end');
  });

  it('absurd header size (2^63) without allocating it', () => {
    expectError(build(ok, eight, 2 ** 63), 'exceeds the limit');
  });

  it('empty header', () => {
    expectError(build('', [], 0), 'empty');
  });

  it('invalid JSON', () => {
    expectError(build('{"a": {"dtype": "F32",', eight), 'not valid JSON');
  });

  it('invalid UTF-8 in the header', () => {
    const bytes = build('{"a":1}');
    bytes[10] = 0xff;
    expectError(bytes, 'UTF-8');
  });

  it('header that is not an object', () => {
    expectError(build('[1,2]'), "start with '{'");
    expectError(build(' {}'), "start with '{'");
  });

  it('entry that is not an object', () => {
    expectError(build({ a: 3 }), 'tensor "a"', 'expected {dtype, shape, data_offsets}, got 3');
  });

  it('entry missing a field', () => {
    expectError(
      build({ a: { dtype: 'F32', shape: [2] } }, eight),
      'tensor "a"',
      'missing "data_offsets"',
    );
    expectError(build({ a: { shape: [2], data_offsets: [0, 8] } }, eight), 'missing "dtype"');
    expectError(build({ a: { dtype: 'F32', data_offsets: [0, 8] } }, eight), 'missing "shape"');
  });

  it('unknown dtype', () => {
    expectError(
      build({ a: { dtype: 'F8_E4M3', shape: [8], data_offsets: [0, 8] } }, eight),
      'tensor "a"',
      'unsupported dtype "F8_E4M3"',
      'F32',
    );
    expectError(build({ a: { dtype: 7, shape: [8], data_offsets: [0, 8] } }, eight), 'dtype 7');
  });

  it('shape with a negative, fractional or non-number dimension', () => {
    for (const shape of [[-2], [2.5], ['2'], 2, [1e300]]) {
      expectError(
        build({ a: { dtype: 'U8', shape, data_offsets: [0, 8] } }, eight),
        'tensor "a"',
        'shape must be an array of non-negative integers',
      );
    }
  });

  it('data_offsets of the wrong form', () => {
    for (const offsets of [[0], [0, 8, 9], [0, -8], ['0', '8'], { begin: 0 }]) {
      expectError(
        build({ a: { dtype: 'U8', shape: [8], data_offsets: offsets } }, eight),
        'tensor "a"',
        'data_offsets must be [begin, end]',
      );
    }
  });

  it('data_offsets out of range', () => {
    expectError(
      build({ a: { dtype: 'U8', shape: [8], data_offsets: [8, 16] } }, eight),
      'tensor "a"',
      'out of range',
      '<= 8',
    );
    expectError(
      build({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, eight),
      'out of range',
    );
  });

  it('a petabyte tensor in a tiny file is refused before anything is allocated', () => {
    expectError(
      build({ a: { dtype: 'F32', shape: [2 ** 48], data_offsets: [0, 2 ** 50] } }, eight),
      'tensor "a"',
      'out of range',
    );
    expectError(
      build(
        { a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } },
        eight,
      ),
      'F32 shape [1073741824,1073741824,1073741824] needs 4.951760157141521e+27 bytes',
    );
  });

  it('byte size not equal to shape x dtype size', () => {
    expectError(
      build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight),
      'tensor "a"',
      'F32 shape [3] needs 12 bytes',
      'hold 8',
    );
  });

  it('overlapping tensors', () => {
    expectError(
      build(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        eight,
      ),
      'overlaps',
      '"a"',
      '"b"',
    );
  });

  it('a gap between tensors and trailing bytes', () => {
    expectError(
      build(
        {
          a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
          b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] },
        },
        new Uint8Array(6),
      ),
      'bytes 2..4',
      'gap before tensor "b"',
    );
    expectError(build(ok, new Uint8Array(12)), 'bytes 8..12', 'trailing');
  });

  it('__proto__, constructor and prototype keys', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const entry = `{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`;
      expectError(build(`{"${key}":${entry}}`), `"${key}"`, 'not allowed');
      expectError(build(`{"__metadata__":{"${key}":"x"}}`), '__metadata__', `"${key}"`);
    }
    expect(({} as Record<string, unknown>).dtype).toBeUndefined();
  });

  it('metadata that is not a string map', () => {
    expectError(
      build({ __metadata__: { v: 1 } }),
      '__metadata__ value for "v" must be a string, got 1',
    );
    expectError(build({ __metadata__: ['x'] }), '__metadata__ must be an object of strings');
  });

  it('BOOL bytes other than 0 and 1', () => {
    expectError(
      build({ m: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, [1, 7]),
      'tensor "m"',
      'BOOL byte 7 at index 1',
    );
  });

  it('never hands back a prototype-polluted object', () => {
    const file = decodeSafetensors(build({ __metadata__: { a: 'b' } }));
    expect(Object.getPrototypeOf(file.tensors)).toBeNull();
    expect(Object.getPrototypeOf(file.metadata)).toBeNull();
  });
});

describe('safetensors property test', () => {
  const valid = encodeSafetensors(
    {
      'conv.weight': { dtype: 'F32', shape: [2, 1, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] },
      h: { dtype: 'F16', shape: [3], data: [1, 2, 3] },
      n: { dtype: 'I64', shape: [], data: [5] },
      m: { dtype: 'BOOL', shape: [2], data: [1, 0] },
      e: { dtype: 'U8', shape: [0], data: [] },
    },
    { format: 'pt' },
  );
  const headerEnd = 8 + new DataView(valid.buffer).getUint32(0, true);

  const mutation = fc.oneof(
    // Flip random bits anywhere, weighted towards the header where the structure lives.
    fc
      .array(fc.tuple(fc.nat(headerEnd + 40), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((flips) => (b: Uint8Array) => {
        const out = b.slice();
        for (const [i, x] of flips) if (i < out.length) out[i] ^= x;
        return out;
      }),
    // Flip bytes of the data alone: the structure stays valid, the values become anything.
    fc
      .tuple(fc.nat(valid.length - headerEnd - 1), fc.integer({ min: 1, max: 255 }))
      .map(([i, x]) => (b: Uint8Array) => {
        const out = b.slice();
        if (headerEnd + i < out.length) out[headerEnd + i] ^= x;
        return out;
      }),
    fc.nat(valid.length).map((n) => (b: Uint8Array) => b.slice(0, n)),
    // Splice text into the header, keeping the size field consistent with the new length.
    fc
      .tuple(
        fc.nat(headerEnd - 8),
        fc.nat(20),
        fc.constantFrom(
          '',
          '"',
          '{',
          '}',
          ',',
          ':',
          '[',
          ']',
          '-1',
          '1e400',
          '"__proto__"',
          'null',
          '"F16"',
          '"a":{}',
          '99999999999999999999',
        ),
      )
      .map(([at, cut, text]) => (b: Uint8Array) => {
        const header = new TextDecoder().decode(b.subarray(8, headerEnd));
        const spliced = header.slice(0, at) + text + header.slice(at + cut);
        return build(spliced, b.subarray(headerEnd));
      }),
    fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 255 })).map(([i, v]) => (b: Uint8Array) => {
      const out = b.slice();
      out[i] = v;
      return out;
    }),
    fc.uint8Array({ maxLength: 64 }).map((tail) => (b: Uint8Array) => {
      const out = new Uint8Array(b.length + tail.length);
      out.set(b);
      out.set(tail, b.length);
      return out;
    }),
  );

  it('decodes or throws SafetensorsError for any mutation of a valid file', () => {
    expect(decodeSafetensors(valid).tensors.n.data[0]).toBe(5);
    const outcomes = { decoded: 0, refused: 0 };
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (steps) => {
        const bytes = steps.reduce((b, step) => step(b), valid);
        try {
          const file = decodeSafetensors(bytes);
          for (const t of Object.values(file.tensors)) {
            expect(t.data.length).toBe(t.shape.reduce((a, d) => a * d, 1));
          }
          outcomes.decoded++;
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
          outcomes.refused++;
        }
      }),
      { numRuns: 3000, seed: 20261127 },
    );
    // Both paths must be exercised, or the mutations are too timid (or too destructive).
    expect(outcomes.decoded).toBeGreaterThan(200);
    expect(outcomes.refused).toBeGreaterThan(1000);
  });

  it('decodes whatever it encodes', () => {
    const dtypes: SafetensorsDtype[] = ['F32', 'I32', 'U8', 'BOOL', 'I16'];
    const tensorArb = fc
      .tuple(fc.constantFrom(...dtypes), fc.array(fc.nat(3), { maxLength: 3 }))
      .chain(([dtype, shape]) => {
        const n = shape.reduce((a, d) => a * d, 1);
        const value =
          dtype === 'F32'
            ? fc.float({ noNaN: true })
            : dtype === 'I32'
              ? fc.integer()
              : dtype === 'I16'
                ? fc.integer({ min: -32768, max: 32767 })
                : fc.integer({ min: 0, max: dtype === 'BOOL' ? 1 : 255 });
        return fc
          .array(value, { minLength: n, maxLength: n })
          .map((data) => ({ dtype, shape, data }));
      });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc
            .string({ minLength: 1, maxLength: 6 })
            .filter((k) => !['__proto__', 'constructor', 'prototype', '__metadata__'].includes(k)),
          tensorArb,
          { maxKeys: 4 },
        ),
        (tensors) => {
          const file = decodeSafetensors(encodeSafetensors(tensors));
          expect(Object.keys(file.tensors).sort()).toEqual(Object.keys(tensors).sort());
          for (const [k, t] of Object.entries(tensors)) {
            expect(file.tensors[k].dtype).toBe(t.dtype);
            expect(file.tensors[k].shape).toEqual(t.shape);
            expect(Array.from(file.tensors[k].data)).toEqual(t.data);
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  // Structured mutations: the header stays JSON but grows deep, wide, repeated or numeric
  // extremes, the shapes a hostile writer would use against the parser rather than the bytes.
  const structured = encodeSafetensors(
    {
      w: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3, 4] },
      d: { dtype: 'F64', shape: [2], data: [0.5, -2] },
      n: { dtype: 'I64', shape: [], data: [5] },
    },
    { format: 'pt' },
  );
  const structuredEnd = 8 + new DataView(structured.buffer).getUint32(0, true);
  const names = ['w', 'd', 'n'];
  type Header = Record<string, Record<string, unknown>>;
  type Edit = { header: Header; text: Array<[string, string]>; data: Uint8Array };

  const wrap = (value: unknown, depth: number, asArray: boolean) => {
    let out = value;
    for (let i = 0; i < depth; i++) out = asArray ? [out] : { k: out };
    return out;
  };
  const structuredMutation = fc.oneof(
    // Nesting, from shallow to far past the 128-level limit, in place of a field.
    fc
      .tuple(
        fc.constantFrom(...names, '__metadata__'),
        fc.constantFrom('shape', 'data_offsets', 'dtype', 'format'),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
      )
      .map(([name, field, depth, asArray]) => (e: Edit) => {
        const entry = e.header[name];
        if (entry) entry[field] = wrap(entry[field] ?? 1, depth, asArray);
      }),
    // Many keys in one object: the metadata, an entry, or the tensor list itself.
    fc
      .tuple(
        fc.constantFrom('__metadata__', ...names, ''),
        fc.oneof(
          { arbitrary: fc.integer({ min: 1, max: 2000 }), weight: 60 },
          { arbitrary: fc.constant(200_001), weight: 1 },
        ),
      )
      .map(([name, count]) => (e: Edit) => {
        const target = name ? e.header[name] : (e.header as Record<string, unknown>);
        if (!target) return;
        for (let i = 0; i < count; i++) target[`k${i}`] = '';
      }),
    // Number literals JSON.parse turns into Infinity, -0, imprecise or fractional values.
    fc
      .tuple(
        fc.constantFrom(...names),
        fc.constantFrom('shape', 'data_offsets'),
        fc.nat(1),
        fc.constantFrom(
          '1e308',
          '1e400',
          '-1e400',
          '9007199254740993',
          `1${'0'.repeat(400)}`,
          '-0',
          '1e-400',
          '0.5e1',
          '2e0',
          '16.0',
        ),
      )
      .map(([name, field, index, literal]) => (e: Edit) => {
        const list = e.header[name]?.[field];
        if (!Array.isArray(list) || index >= list.length) return;
        const marker = `@number${e.text.length}@`;
        list[index] = marker;
        e.text.push([`"${marker}"`, literal]);
      }),
    // A name repeated: JSON.parse would keep the last one silently.
    fc.constantFrom(...names, '__metadata__').map((name) => (e: Edit) => {
      const marker = `@duplicate${e.text.length}@`;
      (e.header as Record<string, unknown>)[marker] = e.header[name];
      e.text.push([`"${marker}"`, JSON.stringify(name)]);
    }),
    // F64 data at and beyond float32's range.
    fc
      .tuple(
        fc.nat(1),
        fc.constantFrom(1e39, -1e300, 3.4028235677973366e38, 3.4028234663852886e38, Infinity, NaN),
      )
      .map(([index, value]) => (e: Edit) => {
        const [begin] = e.header.d.data_offsets as number[];
        new DataView(e.data.buffer, e.data.byteOffset).setFloat64(begin + 8 * index, value, true);
      }),
  );

  it('decodes or refuses, in one capped line, any structured mutation of the header', () => {
    const outcomes = { decoded: 0, refused: 0, deep: 0, wide: 0, f64: 0, twice: 0 };
    fc.assert(
      fc.property(fc.array(structuredMutation, { minLength: 1, maxLength: 3 }), (steps) => {
        const edit: Edit = {
          header: JSON.parse(new TextDecoder().decode(structured.subarray(8, structuredEnd))),
          text: [],
          data: structured.slice(structuredEnd),
        };
        for (const step of steps) step(edit);
        let text = JSON.stringify(edit.header);
        for (const [marker, literal] of edit.text) text = text.replace(marker, literal);
        try {
          const file = decodeSafetensors(build(text, edit.data));
          for (const t of Object.values(file.tensors)) {
            expect(t.data.length).toBe(t.shape.reduce((a, d) => a * d, 1));
            if (t.dtype === 'F64')
              for (const x of t.data)
                expect(Math.abs(x) < 2 ** 128 || !Number.isFinite(x)).toBe(true);
          }
          outcomes.decoded++;
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
          const { message } = e;
          expect(message.length).toBeLessThanOrEqual(300);
          expect(message).not.toContain('\n');
          if (message.includes('deeper than 128')) outcomes.deep++;
          if (message.includes('object members')) outcomes.wide++;
          if (message.includes("beyond float32's range")) outcomes.f64++;
          if (message.includes('appears twice')) outcomes.twice++;
          outcomes.refused++;
        }
      }),
      { numRuns: 400, seed: 20261129 },
    );
    expect(outcomes.decoded).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(100);
    expect(outcomes.deep).toBeGreaterThan(5);
    expect(outcomes.wide).toBeGreaterThan(0);
    expect(outcomes.f64).toBeGreaterThan(5);
    expect(outcomes.twice).toBeGreaterThan(5);
  });
});

class TinyNorm extends Module {
  constructor() {
    super();
    this.registerParameter('weight', tf.tensor1d([1, 2, 3]));
    this.registerBuffer('running_mean', tf.tensor1d([0.5, 0.25, 0]));
    this.registerBuffer('num_batches_tracked', tf.scalar(12, 'int32'));
  }
}

class TinyNet extends Module {
  bn = this.registerModule('bn1', new TinyNorm());
  constructor() {
    super();
    this.registerParameter('scale', tf.scalar(4));
  }
}

describe('safetensors and Module', () => {
  it('saves a state dict with num_batches_tracked as I64 and loads it back', () => {
    const a = new TinyNet();
    const bytes = stateDictToSafetensors(a, { epoch: '3' });
    const file = decodeSafetensors(bytes);
    expect(Object.keys(file.tensors)).toEqual([
      'scale',
      'bn1.weight',
      'bn1.running_mean',
      'bn1.num_batches_tracked',
    ]);
    expect(file.tensors['bn1.num_batches_tracked'].dtype).toBe('I64');
    expect(file.metadata.epoch).toBe('3');

    const b = new TinyNet();
    b.bn.getParameter('weight').assign(tf.zeros([3]));
    b.bn.setBuffer('num_batches_tracked', tf.scalar(0, 'int32'));
    const before = tf.memory().numTensors;
    expect(loadSafetensorsIntoModule(b, bytes)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(b.bn.getParameter('weight').dataSync())).toEqual([1, 2, 3]);
    const nbt = b.bn.getBuffer('num_batches_tracked');
    expect(nbt.dtype).toBe('int32');
    expect(nbt.dataSync()[0]).toBe(12);
    a.dispose();
    b.dispose();
  });

  it('reads tensors asynchronously into the same file stateDictToSafetensors writes', async () => {
    const a = new TinyNet();
    const raw = await readTensors(a.stateDict());
    expect(raw['bn1.num_batches_tracked'].dtype).toBe('I64');
    expect(raw.scale.dtype).toBe('F32');
    expect(encodeSafetensors(raw, { epoch: '3' })).toEqual(
      stateDictToSafetensors(a, { epoch: '3' }),
    );
    await expect(readTensors({ c: tf.complex([1], [2]) })).rejects.toThrow(
      /tensor "c": cannot write tfjs dtype complex64/,
    );
    a.dispose();
  });

  it('reports missing and unexpected keys with PyTorch semantics', () => {
    const bytes = encodeSafetensors({ scale: tf.scalar(2), extra: tf.scalar(1) });
    const m = new TinyNet();
    const before = tf.memory().numTensors;
    expect(() => loadSafetensorsIntoModule(m, bytes)).toThrow(
      /Missing key.*bn1.weight[\s\S]*Unexpected key.*extra/,
    );
    const result = loadSafetensorsIntoModule(m, bytes, { strict: false });
    expect(result.unexpectedKeys).toEqual(['extra']);
    expect(result.missingKeys).toContain('bn1.num_batches_tracked');
    expect(m.getParameter('scale').dataSync()[0]).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

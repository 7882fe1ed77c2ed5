import { SafetensorsError } from '@resnet-ts/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickleTorch, unpickle } from './pickle.js';
import { readTorchFile, writeTorchFile } from './pth.js';
import { fixtureBytes } from './testing/fixtures.js';
import { TorchFileError, UnsafeGlobalError } from './torch-file-error.js';
import { readZip, writeZip } from './zip.js';

const text = (s: string) => new TextEncoder().encode(s);

function concat(...parts: Array<Uint8Array | number[] | string>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? text(p) : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** A .pth archive around `pickle` and `storages` (`data/<i>`), as torch.save lays it out. */
function archive(pickle: Uint8Array, storages: Uint8Array[] = []): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    ...storages.map((data, i) => ({ name: `archive/data/${i}`, data })),
    { name: 'archive/version', data: text('3\n') },
  ]);
}

/** Replaces the first occurrence of `from` with the equally long `to`, everywhere it appears. */
function patchAll(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = bytes.slice();
  const a = text(from);
  const b = text(to);
  for (let i = 0; i + a.length <= out.length; i++) {
    if (a.every((x, j) => out[i + j] === x)) out.set(b, i);
  }
  return out;
}

/** `os.system('touch PWNED')` as a pickle would run it, via GLOBAL or STACK_GLOBAL. */
const calls = {
  'os.system': concat(
    [0x80, 2],
    'cos\nsystem\n',
    [0x58, 11, 0, 0, 0],
    'touch PWNED',
    [0x85, 0x52, 0x2e],
  ),
  'builtins.eval': concat(
    [0x80, 4, 0x8c, 8],
    'builtins',
    [0x8c, 4],
    'eval',
    [0x93, 0x8c, 4],
    '1+1;',
    [0x85, 0x52, 0x2e],
  ),
  'posix.system': concat([0x80, 2], 'cposix\nsystem\n', [0x29, 0x52, 0x2e]),
  'torch.load': concat([0x80, 2], 'ctorch\nload\n', [0x29, 0x52, 0x2e]),
};

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('hostile .pth files', () => {
  for (const [global, pickle] of Object.entries(calls)) {
    it(`refuses a pickle that calls ${global}, naming it, before anything runs`, () => {
      const e = caught(() => readTorchFile(archive(pickle)));
      expect(e).toBeInstanceOf(UnsafeGlobalError);
      expect((e as UnsafeGlobalError).global).toBe(global);
      expect((e as Error).message).toContain(`"${global}" is not allowed`);
    });
  }

  it('refuses a truncated archive at every cut', () => {
    const valid = fixtureBytes('pth/small-dataparallel.pth');
    for (const n of [0, 10, 21, 100, valid.length >> 1, valid.length - 23, valid.length - 1]) {
      expect(() => readTorchFile(valid.subarray(0, n)), `cut at ${n}`).toThrow(TorchFileError);
    }
    expect(() => readTorchFile(valid.subarray(0, valid.length - 1))).toThrow(
      /no end-of-central-directory record|runs past/,
    );
  });

  it('refuses an entry whose name climbs out with ../', () => {
    const zip = writeZip([
      { name: 'archive/data.pkl', data: pickleTorch({}) },
      { name: 'archive/xx/evil', data: text('x') },
    ]);
    const evil = patchAll(zip, 'archive/xx/evil', 'archive/../evil');
    expect(() => readTorchFile(evil)).toThrow(
      /entry name "archive\/..\/evil" is not a plain relative path/,
    );
    expect(() => writeZip([{ name: '../evil', data: text('x') }])).toThrow(TorchFileError);
  });

  it('refuses a storage shorter than its tensor, and a view reaching past its storage', () => {
    const data = new Uint8Array(40);
    const tensor = { kind: 'tensor' as const, dtype: 'F32' as const, shape: [100], key: '0' };
    // The persistent id declares 100 elements, but the entry holds 10.
    expect(() => readTorchFile(archive(pickleTorch({ w: tensor }), [data]))).toThrow(
      /storage "0" holds 40 bytes; 100 F32 elements need 400/,
    );
    // The storage declares (and holds) 10 elements, but the tensor reads 100 of them.
    const pickle = pickleTorch({ w: tensor });
    const numelAt = pickle.findIndex((b, i) => b === 0x4b && pickle[i + 1] === 100);
    pickle[numelAt + 1] = 10;
    expect(() => readTorchFile(archive(pickle, [data]))).toThrow(
      /tensor of size \[100\].*reaches element 99, but the storage has 10/,
    );
  });

  it('refuses many views that repeat one storage, before materialising them', () => {
    const views: Record<string, { kind: 'tensor'; dtype: 'F32'; shape: number[]; key: string }> =
      {};
    for (let i = 0; i < 100; i++)
      views[`w${i}`] = { kind: 'tensor', dtype: 'F32', shape: [1000], key: '0' };
    expect(() => readTorchFile(archive(pickleTorch(views), [new Uint8Array(4000)]))).toThrow(
      /more elements than the archive's storages have bytes/,
    );
    // Two views of one storage (tied weights) are fine.
    const tied = { a: views.w0, b: views.w1 };
    const read = readTorchFile(archive(pickleTorch(tied), [new Uint8Array(4000)])) as Map<
      string,
      unknown
    >;
    expect([...read.keys()]).toEqual(['a', 'b']);
  });

  it('refuses a huge memo index without allocating for it', () => {
    const put = concat([0x80, 2, 0x7d, 0x72, 0xff, 0xff, 0xff, 0xff, 0x2e]);
    expect(() => unpickle(put)).toThrow(/memo index 4294967295 .* beyond the 3 opcodes/);
    const get = concat([0x80, 2, 0x6a, 0xff, 0xff, 0xff, 0x7f, 0x2e]);
    expect(() => unpickle(get)).toThrow(/memo index 2147483647 .* was never stored/);
    expect(() => readTorchFile(archive(put))).toThrow(TorchFileError);
  });

  it('refuses a compressed (zip bomb) entry from its header, before inflating anything', () => {
    const zip = archive(pickleTorch({}), [new Uint8Array(64)]);
    const view = new DataView(zip.buffer);
    // Rewrite the storage's central entry: deflated, expanding 64 bytes to 4 GiB.
    let p = zip.length - 22 - 1;
    while (
      view.getUint32(p, true) !== 0x02014b50 ||
      !new TextDecoder().decode(zip.subarray(p + 46, p + 60)).startsWith('archive/data/0')
    )
      p--;
    view.setUint16(p + 10, 8, true);
    view.setUint32(p + 24, 0xfffffff0, true);
    const e = caught(() => readTorchFile(zip));
    expect(e).toBeInstanceOf(TorchFileError);
    expect((e as TorchFileError).part).toBe('zip');
    expect((e as Error).message).toMatch(
      /"archive\/data\/0" is compressed \(method 8, 64 → 4294967280 bytes\)/,
    );
  });

  it('refuses a string longer than the pickle, and an unknown opcode', () => {
    expect(() => unpickle(concat([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f]))).toThrow(
      /over the limit|runs past/,
    );
    expect(() => unpickle(concat([0x80, 2, 0x69]))).toThrow(/opcode 0x69 at offset 2/);
  });

  it('refuses an archive with more entries than its limit', () => {
    const zip = archive(pickleTorch({}), [new Uint8Array(1), new Uint8Array(1)]);
    expect(() => readZip(zip, { maxEntries: 2 })).toThrow(/4 entries, more than the limit of 2/);
  });
});

describe('.pth property test', () => {
  const valid = fixtureBytes('pth/small-dataparallel.pth');
  const zip = readZip(valid);
  const pickle = zip.read(zip.get('archive/data.pkl')!).slice();
  const storages = zip.entries
    .filter((e) => e.name.startsWith('archive/data/'))
    .map((e) => ({ name: e.name, data: zip.read(e) }));

  function outcome(bytes: Uint8Array, counts: { read: number; refused: number }) {
    try {
      readTorchFile(bytes);
      counts.read++;
    } catch (e) {
      if (!(e instanceof TorchFileError || e instanceof SafetensorsError)) throw e;
      counts.refused++;
    }
  }

  it('reads or refuses with a typed error any mutation of the archive bytes', () => {
    const counts = { read: 0, refused: 0 };
    const flips = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(flips, fc.nat(valid.length), (f, cut) => {
        const bytes = valid.slice(0, Math.max(cut, valid.length - 200));
        for (const [i, x] of f) if (i < bytes.length) bytes[i] ^= x;
        outcome(bytes, counts);
      }),
      { numRuns: 400, seed: 20261129 },
    );
    expect(counts.refused).toBeGreaterThan(100);
  });

  it('reads or refuses with a typed error any mutation of the pickle inside a valid archive', () => {
    const counts = { read: 0, refused: 0 };
    const flips = fc.array(fc.tuple(fc.nat(pickle.length - 1), fc.integer({ min: 1, max: 255 })), {
      minLength: 1,
      maxLength: 3,
    });
    fc.assert(
      fc.property(flips, (f) => {
        const mutated = pickle.slice();
        for (const [i, x] of f) mutated[i] ^= x;
        outcome(writeZip([{ name: 'archive/data.pkl', data: mutated }, ...storages]), counts);
      }),
      { numRuns: 1500, seed: 20261129 },
    );
    // Both paths must be exercised, or the mutations are too timid (or too destructive).
    expect(counts.read).toBeGreaterThan(100);
    expect(counts.refused).toBeGreaterThan(300);
  });

  it('writes what it reads: a read file written again reads back equal', () => {
    const first = readTorchFile(valid);
    expect(readTorchFile(writeTorchFile(first as never))).toEqual(first);
  });
});

import { describe, expect, it } from 'vitest';
import { ImageFileError } from './errors.js';
import { decodeSimpleFormat, isSimpleFormat } from './simple-formats.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** A BMP header (54 bytes) for `width`×`height` at `bpp` bits, pixels to follow. */
function bmpHeader(width: number, height: number, bpp: number): Uint8Array {
  const b = new Uint8Array(54);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, bpp, true);
  return b;
}

describe('decodeSimpleFormat', () => {
  it('reads PPM and PGM with comments, and scales a smaller maximum value to 255', () => {
    const ppm = concat(ascii('P6\n# made by hand\n2 1\n255\n'), Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(isSimpleFormat(ppm)).toBe(true);
    expect(decodeSimpleFormat(ppm, 'a.ppm', 100)).toEqual({
      image: Uint8Array.of(1, 2, 3, 4, 5, 6),
      shape: [1, 2, 3],
    });
    const pgm = concat(ascii('P5 2 1 15\n'), Uint8Array.of(15, 5));
    expect(Array.from(decodeSimpleFormat(pgm, 'a.pgm', 100).image)).toEqual([
      255, 255, 255, 85, 85, 85,
    ]);
  });

  it('reads a top-down 32-bit BMP, BGRA to RGB', () => {
    const bmp = concat(bmpHeader(1, -2, 32), Uint8Array.of(3, 2, 1, 0, 6, 5, 4, 0));
    expect(decodeSimpleFormat(bmp, 'a.bmp', 100)).toEqual({
      image: Uint8Array.of(1, 2, 3, 4, 5, 6),
      shape: [2, 1, 3],
    });
  });

  it('refuses huge, truncated and unsupported files from the header, before allocating', () => {
    const huge = concat(bmpHeader(60_000, 60_000, 24), new Uint8Array(16));
    expect(() => decodeSimpleFormat(huge, 'big.bmp', 50e6)).toThrow(
      /big\.bmp: 60000×60000 pixels \(3600\.0 MP\) is more than the limit of 50\.0 MP/,
    );
    expect(() =>
      decodeSimpleFormat(concat(bmpHeader(4, 4, 24), new Uint8Array(10)), 'c.bmp', 100),
    ).toThrow(/c\.bmp: BMP pixel data cut off/);
    expect(() => decodeSimpleFormat(bmpHeader(4, 4, 16), 'd.bmp', 100)).toThrow(
      /16 bits per pixel and compression 0; only uncompressed 8, 24 and 32 bits/,
    );
    expect(() => decodeSimpleFormat(ascii('P6 99999 99999 255\n'), 'e.ppm', 50e6)).toThrow(
      ImageFileError,
    );
    expect(() => decodeSimpleFormat(ascii('P5 4 4 65535\n'), 'f.pgm', 100)).toThrow(
      /maximum value 65535, expected 1-255/,
    );
    expect(() => decodeSimpleFormat(ascii('P5 4 4 255\nab'), 'g.pgm', 100)).toThrow(
      /g\.pgm: 2 pixel bytes, expected 16 \(truncated\)/,
    );
  });
});

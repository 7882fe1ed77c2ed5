/** The upload's first-bytes check, without a browser: what each signature is named. */
import { encodeSafetensors } from '@resnet-ts/core';
import { describe, expect, it } from 'vitest';
import { formatBytes, sniffNonWeights } from '../src/refusals.js';

const bytes = (hex: string, pad = 32) =>
  new Uint8Array([...Buffer.from(hex, 'hex'), ...new Uint8Array(pad)]);

describe('sniffNonWeights', () => {
  it('names pictures, documents and old pickles from their first bytes, and leaves zips to the .pth reader', () => {
    expect(sniffNonWeights(bytes('89504e470d0a1a0a'))).toBe('a PNG image');
    expect(sniffNonWeights(bytes('ffd8ffe0'))).toBe('a JPEG image');
    expect(sniffNonWeights(new TextEncoder().encode('GIF89a......'))).toBe('a GIF image');
    expect(sniffNonWeights(new TextEncoder().encode('%PDF-1.7\n'))).toBe('a PDF document');
    expect(sniffNonWeights(bytes('80028a0a6cfc9c46f920'))).toMatch(
      /^a Python pickle in the format/,
    );
    // A zip is what torch.save writes: the .pth reader judges it, not the first bytes.
    expect(sniffNonWeights(bytes('504b0304140000000800'))).toBeNull();
  });

  it('leaves safetensors files alone, even one whose header length starts like a pickle', () => {
    expect(
      sniffNonWeights(encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: [1, 2] } })),
    ).toBeNull();
    // A 640-byte header is 80 02 00 00 00 00 00 00, then '{'.
    const header = new Uint8Array(8 + 640);
    header.set([0x80, 0x02], 0);
    header[8] = 0x7b;
    expect(sniffNonWeights(header)).toBeNull();
    // Text that is neither is left to the safetensors reader's own message.
    expect(sniffNonWeights(new TextEncoder().encode('this is not a safetensors file'))).toBeNull();
  });
});

describe('formatBytes', () => {
  it('writes megabytes with one decimal and kilobytes rounded up', () => {
    expect(formatBytes(4 * 1024 * 1024)).toBe('4.0 MB');
    expect(formatBytes(1_572_864 + 52_429)).toBe('1.6 MB');
    expect(formatBytes(1500)).toBe('2 KB');
  });
});

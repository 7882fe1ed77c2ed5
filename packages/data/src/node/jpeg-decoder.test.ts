import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeJpegWasm, jpegMetadata } from './jpeg-decoder.js';

const fixtures = new URL('../__fixtures__/', import.meta.url).pathname;

/** libjpeg-turbo's decoding through sharp (what Pillow gives too): RGB bytes. */
async function sharpRgb(jpeg: Uint8Array) {
  const { data, info } = await sharp(jpeg)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A seeded picture of smooth colour waves with noise, so JPEG blocks carry AC terms. */
function picture(width: number, height: number, seed: number): Uint8Array {
  const px = new Uint8Array(width * height * 3);
  let s = seed;
  const noise = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 24) % 40;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = (y * width + x) * 3;
      px[k] = 128 + 100 * Math.sin(0.05 * x + seed) + noise() - 20;
      px[k + 1] = 128 + 100 * Math.cos(0.07 * y - seed) + noise() - 20;
      px[k + 2] = (x * 7 + y * 3 + noise()) & 255;
    }
  }
  return px;
}

async function encode(
  width: number,
  height: number,
  options: { quality?: number; chromaSubsampling?: string; gray?: boolean; progressive?: boolean },
): Promise<Uint8Array> {
  let image = sharp(picture(width, height, width + height), {
    raw: { width, height, channels: 3 },
  });
  if (options.gray) image = image.toColourspace('b-w');
  return new Uint8Array(
    await image
      .jpeg({
        quality: options.quality ?? 90,
        chromaSubsampling: options.chromaSubsampling ?? '4:2:0',
        progressive: options.progressive ?? false,
      })
      .toBuffer(),
  );
}

describe('decodeJpegWasm', () => {
  it("decodes baseline JPEGs to libjpeg-turbo's bytes (sharp's, Pillow's)", async () => {
    const files: [string, Uint8Array][] = [
      ['4:2:0 500x375', await encode(500, 375, {})],
      ['4:2:0 odd size', await encode(61, 47, { quality: 75 })],
      ['4:2:0 narrow', await encode(5, 9, {})],
      ['4:4:4 quality 100', await encode(33, 17, { quality: 100, chromaSubsampling: '4:4:4' })],
      ['4:4:4 quality 20', await encode(70, 3, { quality: 20, chromaSubsampling: '4:4:4' })],
      ['gray', await encode(45, 38, { gray: true })],
      // cjpeg -sample 2x1 -restart 2B: 4:2:2 with a restart marker every second MCU.
      ['4:2:2 with restarts', readFileSync(`${fixtures}jpeg/h2v1-restart.jpg`)],
      // cjpeg -grayscale -restart 1: a restart after every row of blocks.
      ['gray with restarts', readFileSync(`${fixtures}jpeg/gray-restart.jpg`)],
      ['folder fixture', readFileSync(`${fixtures}image-folder/cat/10.jpg`)],
      ['folder fixture', readFileSync(`${fixtures}image-folder/cat/9.jpeg`)],
    ];
    for (const [what, jpeg] of files) {
      const got = decodeJpegWasm(jpeg);
      expect(got, what).toBeDefined();
      const want = await sharpRgb(jpeg);
      expect([got?.width, got?.height], what).toEqual([want.width, want.height]);
      // Whole-array equality, but report the first differing byte rather than the arrays.
      const first = got?.data.findIndex((v, i) => v !== want.data[i]);
      expect(first, what).toBe(-1);
      expect(got?.data.length, what).toBe(want.data.length);
    }
  });

  it('leaves to sharp what it does not decode the same way', async () => {
    const baseline = await encode(40, 30, {});
    expect(decodeJpegWasm(baseline)).toBeDefined();
    // Progressive scans, damaged or cut data, an orientation to apply, chroma too narrow
    // for libjpeg's triangle filter.
    expect(decodeJpegWasm(await encode(40, 30, { progressive: true }))).toBeUndefined();
    expect(decodeJpegWasm(baseline.subarray(0, baseline.length - 40))).toBeUndefined();
    const damaged = baseline.slice();
    damaged.fill(0xff, damaged.length - 120, damaged.length - 100);
    expect(decodeJpegWasm(damaged)).toBeUndefined();
    expect(
      decodeJpegWasm(readFileSync(`${fixtures}image-folder/zebra/broken.jpg`)),
    ).toBeUndefined();
    expect(decodeJpegWasm(await encode(3, 3, {}))).toBeUndefined();
    // Restart markers out of turn: libjpeg warns, and sharp refuses such a picture.
    const restarts = new Uint8Array(readFileSync(`${fixtures}jpeg/h2v1-restart.jpg`));
    expect(decodeJpegWasm(restarts)).toBeDefined();
    const rst0 = restarts.findIndex((v, i) => v === 0xff && restarts[i + 1] === 0xd0);
    restarts[rst0 + 1] = 0xd1;
    expect(decodeJpegWasm(restarts)).toBeUndefined();
    await expect(sharpRgb(restarts)).rejects.toThrow();
    const rotated = readFileSync(`${fixtures}image-folder/zebra/rotated.jpg`);
    expect(jpegMetadata(rotated)).toEqual({ orientation: 6, icc: false });
    expect(decodeJpegWasm(rotated)).toBeUndefined();
    const upright = new Uint8Array(
      await sharp(baseline)
        .withExif({ IFD0: { Orientation: '1' } })
        .jpeg()
        .toBuffer(),
    );
    expect(jpegMetadata(upright)).toEqual({ orientation: 1, icc: false });
    expect(decodeJpegWasm(upright)).toBeDefined();
    expect(jpegMetadata(baseline)).toEqual({ orientation: 1, icc: false });
    // sharp converts a picture with an ICC profile to sRGB (torchvision's Pillow does not):
    // the workers must give what the main thread gives, so sharp decodes it there too.
    const tagged = new Uint8Array(await sharp(baseline).withIccProfile('p3').jpeg().toBuffer());
    expect(jpegMetadata(tagged)).toEqual({ orientation: 1, icc: true });
    expect(decodeJpegWasm(tagged)).toBeUndefined();
  });

  it('never fails on damaged files; what it decodes, sharp decodes to the same bytes', async () => {
    const jpeg = await encode(48, 40, { quality: 80 });
    let s = 12345;
    const next = () => {
      s = (s * 1103515245 + 12345) >>> 0;
      return s >>> 8;
    };
    let decoded = 0;
    let compared = 0;
    for (let trial = 0; trial < 300; trial++) {
      const damaged = jpeg.slice();
      for (let flips = 1 + (trial % 4); flips > 0; flips--) {
        damaged[2 + (next() % (damaged.length - 2))] ^= 1 << (next() % 8);
      }
      const got = decodeJpegWasm(damaged);
      if (!got) continue;
      decoded++;
      // sharp must accept it too: a worker may not decode what the main thread refuses.
      const want = await sharpRgb(damaged);
      compared++;
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      expect(got.data.findIndex((v, i) => v !== want.data[i])).toBe(-1);
    }
    // Many bit flips in entropy-coded data still decode (to other pixels).
    expect(compared).toBeGreaterThan(50);
    expect(decoded).toBe(compared);
  });
});

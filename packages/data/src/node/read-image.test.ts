import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, createDeflate } from 'node:zlib';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { ImageFileError } from '../errors.js';
import { readImageHeader } from '../image-header.js';
import { put, runIsolated } from '../testing/isolated.js';
import { readImage } from './read-image.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-image-'));
});

/** A 3×2 RGB picture with a distinct colour per pixel. */
const PIXELS = Uint8Array.from([
  255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 0, 0, 0,
]);
const raw = { raw: { width: 3, height: 2, channels: 3 as const } };

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A valid gray PNG of `side`×`side` black pixels, deflated as it is generated so making a
 * 400 MB picture needs no 400 MB buffer: a decompression bomb of about half a megabyte.
 */
async function pngBomb(side: number): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const rows = Buffer.alloc((side + 1) * 100);
  for (let y = 0; y < side; y += 100) {
    if (!deflate.write(rows.subarray(0, (side + 1) * Math.min(100, side - y)))) {
      await new Promise((resolve) => deflate.once('drain', resolve));
    }
  }
  deflate.end();
  await done;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(parts)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

describe('readImage', () => {
  it('decodes PNG and JPEG to RGBA, told apart by content rather than name', async () => {
    const png = put(join(dir, 'a.jpg'), await sharp(PIXELS, raw).png().toBuffer());
    const img = await readImage(png);
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from(img.data.subarray(0, 8))).toEqual([255, 0, 0, 255, 0, 255, 0, 255]);
    const gray = await sharp(Uint8Array.from([0, 128, 255, 7]), {
      raw: { width: 2, height: 2, channels: 1 },
    })
      .jpeg({ quality: 100 })
      .toBuffer();
    const jpg = await readImage(put(join(dir, 'b.png'), gray));
    expect([jpg.width, jpg.height, jpg.data.length]).toEqual([2, 2, 16]);
    expect(Math.abs(jpg.data[4] - 128)).toBeLessThan(4);
    expect(jpg.data[5]).toBe(jpg.data[4]);
  });

  it('turns a photo upright by its EXIF orientation', async () => {
    const rotated = await sharp(PIXELS, raw).png().withMetadata({ orientation: 6 }).toBuffer();
    const img = await readImage(put(join(dir, 'r.png'), rotated));
    // Orientation 6: the stored 3×2 picture is shown turned 90° clockwise, 2×3.
    expect([img.width, img.height]).toEqual([2, 3]);
    // The bottom-left stored pixel (10,20,30) becomes the top-left shown one.
    expect(Array.from(img.data.subarray(0, 3))).toEqual([10, 20, 30]);
  });

  it('says what is wrong with files that are not pictures', async () => {
    await expect(readImage(put(join(dir, 't.png'), 'hello'))).rejects.toThrow(ImageFileError);
    await expect(readImage(join(dir, 't.png'))).rejects.toThrow(
      /t\.png: not a picture this package can decode/,
    );
    const cut = (await sharp(PIXELS, raw).jpeg().toBuffer()).subarray(0, 4);
    await expect(readImage(put(join(dir, 'c.jpg'), cut))).rejects.toThrow(
      /c\.jpg: JPEG file without a frame header/,
    );
    execFileSync('mkfifo', [join(dir, 'fifo.png')]);
    await expect(readImage(join(dir, 'fifo.png'))).rejects.toThrow(
      /fifo\.png is a FIFO \(named pipe\); expected a regular picture/,
    );
    await expect(readImage(dir)).rejects.toThrow(/is a directory; expected a regular picture/);
  });

  it('reads the declared size from PNG and JPEG headers', async () => {
    expect(readImageHeader(await sharp(PIXELS, raw).png().toBuffer(), 'x')).toEqual({
      format: 'png',
      width: 3,
      height: 2,
    });
    const progressive = await sharp(PIXELS, raw).jpeg({ progressive: true }).toBuffer();
    expect(readImageHeader(progressive, 'x')).toEqual({ format: 'jpeg', width: 3, height: 2 });
    expect(readImageHeader(new Uint8Array([1, 2, 3]), 'x')).toBeUndefined();
  });

  it('refuses pictures over the pixel limit from their header, PNG and JPEG alike', async () => {
    const big = await sharp({
      create: { width: 300, height: 200, channels: 3, background: '#808080' },
    })
      .png()
      .toBuffer();
    const path = put(join(dir, 'big.png'), big);
    await expect(readImage(path, { maxPixels: 59_999 })).rejects.toThrow(
      /big\.png: 300×200 pixels \(0\.1 MP\) is more than the limit of 0\.1 MP \(raise maxPixels/,
    );
    expect((await readImage(path, { maxPixels: 60_000 })).width).toBe(300);
    // A JPEG frame header declaring 65000×65000 with no image data after it.
    const sof = [0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0xfd, 0xe8, 0xfd, 0xe8, 3];
    const jpeg = put(join(dir, 'huge.jpg'), Uint8Array.from([...sof, ...new Array(9).fill(0)]));
    await expect(readImage(jpeg)).rejects.toThrow(/65000×65000 pixels .* limit of 50\.0 MP/);
  });

  it('stops a 20000×20000 PNG bomb before decoding it (child process, peak memory)', async () => {
    const bomb = await pngBomb(20_000);
    expect(bomb.length).toBeLessThan(2 << 20);
    const path = put(join(dir, 'bomb.png'), bomb);
    const r = await runIsolated(
      'png-bomb',
      "import { readImage } from './node/read-image.js';",
      `await readImage(${JSON.stringify(path)});`,
    );
    expect(r.errorName).toBe('ImageFileError');
    expect(r.error).toMatch(/bomb\.png: 20000×20000 pixels \(400\.0 MP\) is more than the limit/);
    expect(r.peakRssMb).toBeLessThan(512);
    writeFileSync(path, '');
  });
});

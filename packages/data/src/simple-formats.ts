import { ImageFileError } from './errors.js';
import { checkPixelLimit } from './image-header.js';
import type { HWCImage } from './sample.js';

/** True for a binary PGM (`P5`) or PPM (`P6`) file, or a BMP (`BM`). */
export function isSimpleFormat(bytes: Uint8Array): boolean {
  const a = bytes[0];
  const b = bytes[1];
  return (a === 0x50 && (b === 0x35 || b === 0x36)) || (a === 0x42 && b === 0x4d);
}

/**
 * Decodes the formats torchvision's ImageFolder lists that sharp and browsers lack: binary
 * PGM/PPM (8-bit) and uncompressed BMP (8-bit palette, 24 and 32 bits). Returns uint8 RGB
 * (HWC); the pixel limit is checked from the header before the pixels are allocated.
 */
export function decodeSimpleFormat(bytes: Uint8Array, file: string, maxPixels: number): HWCImage {
  return bytes[0] === 0x42
    ? decodeBmp(bytes, file, maxPixels)
    : decodeNetpbm(bytes, file, maxPixels);
}

function decodeNetpbm(bytes: Uint8Array, file: string, maxPixels: number): HWCImage {
  const gray = bytes[1] === 0x35;
  // Header: magic, width, height, maxval as ASCII fields separated by whitespace or comments.
  const fields: number[] = [];
  let p = 2;
  while (fields.length < 3 && p < bytes.length) {
    const c = bytes[p];
    if (c === 0x23) {
      while (p < bytes.length && bytes[p] !== 0x0a && bytes[p] !== 0x0d) p++;
    } else if (c >= 0x30 && c <= 0x39) {
      let v = 0;
      while (p < bytes.length && bytes[p] >= 0x30 && bytes[p] <= 0x39 && v < 1e9) {
        v = v * 10 + bytes[p] - 0x30;
        p++;
      }
      fields.push(v);
      continue;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      throw new ImageFileError(file, `malformed ${gray ? 'PGM' : 'PPM'} header`);
    }
    p++;
  }
  const [width, height, maxval] = fields;
  if (fields.length < 3) throw new ImageFileError(file, 'PGM/PPM header cut off');
  if (maxval < 1 || maxval > 255) {
    throw new ImageFileError(file, `PGM/PPM maximum value ${maxval}, expected 1-255 (8-bit)`);
  }
  checkPixelLimit(width, height, maxPixels, file);
  p++; // the single whitespace byte before the pixels
  const channels = gray ? 1 : 3;
  const need = width * height * channels;
  if (bytes.length - p < need) {
    throw new ImageFileError(file, `${bytes.length - p} pixel bytes, expected ${need} (truncated)`);
  }
  const out = new Uint8Array(width * height * 3);
  const scale = 255 / maxval;
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) {
      const v = bytes[p + i * channels + (gray ? 0 : k)];
      out[i * 3 + k] = maxval === 255 ? v : Math.round(v * scale);
    }
  }
  return { image: out, shape: [height, width, 3] };
}

function decodeBmp(bytes: Uint8Array, file: string, maxPixels: number): HWCImage {
  if (bytes.length < 54) throw new ImageFileError(file, 'BMP header cut off');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) {
    throw new ImageFileError(file, `BMP header of ${headerSize} bytes, expected 40 or more`);
  }
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  if (width <= 0 || height === 0) throw new ImageFileError(file, `BMP size ${width}×${rawHeight}`);
  checkPixelLimit(width, height, maxPixels, file);
  const bitfields = compression === 3 && bpp === 32;
  if (!(compression === 0 || bitfields) || ![8, 24, 32].includes(bpp)) {
    throw new ImageFileError(
      file,
      `BMP with ${bpp} bits per pixel and compression ${compression}; only uncompressed 8, 24 and 32 bits are read`,
    );
  }
  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (offset + stride * height > bytes.length) {
    throw new ImageFileError(file, 'BMP pixel data cut off');
  }
  let palette: Uint8Array | undefined;
  if (bpp === 8) {
    const colours = view.getUint32(46, true) || 256;
    const start = 14 + headerSize;
    if (start + colours * 4 > offset) throw new ImageFileError(file, 'BMP palette cut off');
    palette = bytes.subarray(start, start + colours * 4);
  }
  const out = new Uint8Array(width * height * 3);
  const step = bpp / 8;
  for (let y = 0; y < height; y++) {
    // Rows are stored bottom-up unless the height is negative.
    const row = offset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const s = row + x * step;
      const bgr = palette
        ? palette.subarray(bytes[s] * 4, bytes[s] * 4 + 3)
        : bytes.subarray(s, s + 3);
      out[o] = bgr[2];
      out[o + 1] = bgr[1];
      out[o + 2] = bgr[0];
    }
  }
  return { image: out, shape: [height, width, 3] };
}

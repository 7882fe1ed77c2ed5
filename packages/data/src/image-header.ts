import { ImageFileError } from './errors.js';

/** The pixel limit of decoded pictures unless a caller sets another: 50 megapixels. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** A picture's format and size, read from its first bytes without decoding it. */
export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic), which hold the size. */
const JPEG_SOF = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

function jpegSize(b: Uint8Array): { width: number; height: number } | undefined {
  let p = 2;
  while (p + 3 < b.length) {
    if (b[p] !== 0xff) return undefined;
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // image data before any frame
    const length = (b[p + 2] << 8) | b[p + 3];
    if (JPEG_SOF.has(marker)) {
      if (p + 8 >= b.length) return undefined;
      return { height: (b[p + 5] << 8) | b[p + 6], width: (b[p + 7] << 8) | b[p + 8] };
    }
    if (length < 2) return undefined;
    p += 2 + length;
  }
  return undefined;
}

/**
 * The format and size a PNG or JPEG file declares in its header (PNG's IHDR, JPEG's
 * start-of-frame), or undefined for any other format. Throws an {@link ImageFileError} for
 * a PNG or JPEG whose header is cut off or malformed. Works in browsers.
 */
export function readImageHeader(bytes: Uint8Array, file: string): ImageHeader | undefined {
  if (PNG_SIGNATURE.every((v, i) => bytes[i] === v)) {
    const isIhdr =
      bytes[12] === 0x49 && bytes[13] === 0x48 && bytes[14] === 0x44 && bytes[15] === 0x52;
    if (bytes.length < 24 || !isIhdr) {
      throw new ImageFileError(
        file,
        'PNG file without a complete IHDR header (truncated or corrupt)',
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    const size = jpegSize(bytes);
    if (!size) {
      throw new ImageFileError(file, 'JPEG file without a frame header (truncated or corrupt)');
    }
    return { format: 'jpeg', ...size };
  }
  return undefined;
}

/**
 * Throws an {@link ImageFileError} unless a `width`×`height` picture is within `maxPixels`,
 * so a small file that declares a huge picture (a decompression bomb) is refused before
 * any pixel memory is allocated.
 */
export function checkPixelLimit(
  width: number,
  height: number,
  maxPixels: number,
  file: string,
): void {
  if (width === 0 || height === 0) {
    throw new ImageFileError(file, `declares an empty ${width}×${height} picture`);
  }
  if (width * height > maxPixels) {
    throw new ImageFileError(
      file,
      `${width}×${height} pixels (${((width * height) / 1e6).toFixed(1)} MP) is more than the limit of ${(maxPixels / 1e6).toFixed(1)} MP (raise maxPixels to read it)`,
    );
  }
}

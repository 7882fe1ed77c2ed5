import { JPEG_WASM } from './jpeg-wasm.js';

/** The exports of wasm/jpeg.c. */
interface JpegModule {
  memory: WebAssembly.Memory;
  heapBase: number;
  parse: (data: number, length: number) => number;
  info: (what: number) => number;
  decode: (work: number, out: number) => number;
}

let jpegModule: JpegModule | null | undefined;

/** The decoder's module, compiled once per thread, or null where WebAssembly SIMD is missing. */
function jpegWasm(): JpegModule | null {
  if (jpegModule !== undefined) return jpegModule;
  jpegModule = null;
  try {
    const bytes = Uint8Array.from(atob(JPEG_WASM), (ch) => ch.charCodeAt(0));
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
    jpegModule = {
      memory: e.memory as WebAssembly.Memory,
      heapBase: (e.__heap_base as WebAssembly.Global).value as number,
      parse: e.jpeg_parse as JpegModule['parse'],
      info: e.jpeg_info as JpegModule['info'],
      decode: e.jpeg_decode as JpegModule['decode'],
    };
  } catch {
    jpegModule = null; // no WebAssembly SIMD in this engine
  }
  return jpegModule;
}

/** The most the decoder takes of its module's memory (which never shrinks), in bytes. */
const MEMORY_LIMIT = 64 * 2 ** 20;

const align = (n: number) => (n + 15) & ~15;

/** What of a JPEG's metadata sharp acts on: its EXIF orientation and an ICC profile. */
export interface JpegMetadata {
  /** 1 (upright) when there is no EXIF orientation. */
  orientation: number;
  /** An embedded ICC profile, which sharp converts the pixels to sRGB with. */
  icc: boolean;
}

const startsWith = (b: Uint8Array, at: number, text: string) =>
  Array.from(text).every((ch, i) => b[at + i] === ch.charCodeAt(0));

/**
 * The EXIF orientation of a JPEG and whether it embeds an ICC profile, read from the
 * segments before its first scan; undefined when an EXIF block is there but cannot be read,
 * or the segments are cut off: then the picture is left to sharp, which reads it its own way.
 */
export function jpegMetadata(b: Uint8Array): JpegMetadata | undefined {
  const found: JpegMetadata = { orientation: 1, icc: false };
  let p = 2;
  while (p + 4 <= b.length && b[p] === 0xff) {
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return found;
    const length = (b[p + 2] << 8) | b[p + 3];
    if (length < 2) return undefined;
    const start = p + 4;
    p += 2 + length;
    if (p > b.length) return undefined;
    if (marker === 0xe2 && startsWith(b, start, 'ICC_PROFILE\0')) found.icc = true;
    if (marker !== 0xe1 || length < 16 || !startsWith(b, start, 'Exif\0\0')) continue;
    const tiff = start + 6;
    const end = p;
    const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49;
    if (!little && !(b[tiff] === 0x4d && b[tiff + 1] === 0x4d)) return undefined;
    const u16 = (at: number) => (little ? b[at] | (b[at + 1] << 8) : (b[at] << 8) | b[at + 1]);
    const u32 = (at: number) =>
      little ? u16(at) + u16(at + 2) * 65536 : u16(at) * 65536 + u16(at + 2);
    const ifd = tiff + u32(tiff + 4);
    if (ifd + 2 > end) return undefined;
    const count = u16(ifd);
    if (ifd + 2 + count * 12 > end) return undefined;
    for (let i = 0; i < count; i++) {
      const entry = ifd + 2 + i * 12;
      if (u16(entry) === 0x0112) found.orientation = u16(entry + 8);
    }
  }
  return undefined;
}

/**
 * Decodes a baseline JPEG to RGB in WebAssembly (wasm/jpeg.c), synchronously, with
 * libjpeg-turbo's arithmetic, so the pixels equal sharp's and Pillow's byte for byte. Returns
 * undefined for what it leaves to sharp: progressive or arithmetic-coded files, CMYK, 4:1:1
 * and other rare layouts, an EXIF orientation to apply, an embedded ICC profile (which sharp
 * applies and Pillow ignores), damaged data, pictures too large for its memory, or an engine
 * without WebAssembly SIMD.
 */
export function decodeJpegWasm(
  bytes: Uint8Array,
): { width: number; height: number; data: Uint8Array } | undefined {
  const k = jpegWasm();
  const metadata = jpegMetadata(bytes);
  if (!k || metadata?.orientation !== 1 || metadata.icc) return undefined;
  const input = align(k.heapBase);
  if (input + bytes.length > MEMORY_LIMIT) return undefined;
  const ensure = (end: number) => {
    const grow = Math.ceil((end - k.memory.buffer.byteLength) / 65536);
    if (grow > 0) k.memory.grow(grow);
  };
  try {
    ensure(input + bytes.length);
    new Uint8Array(k.memory.buffer).set(bytes, input);
    if (k.parse(input, bytes.length) !== 0) return undefined;
    const width = k.info(0);
    const height = k.info(1);
    const work = align(input + bytes.length);
    const out = align(work + k.info(3));
    const end = out + width * height * 3;
    if (end > MEMORY_LIMIT) return undefined;
    ensure(end);
    if (k.decode(work, out) !== 0) return undefined;
    return {
      width,
      height,
      data: new Uint8Array(k.memory.buffer, out, width * height * 3).slice(),
    };
  } catch {
    // A trap (which the bounds checks in jpeg.c should prevent) or no memory to grow into:
    // sharp decodes it, or says why it cannot.
    return undefined;
  }
}

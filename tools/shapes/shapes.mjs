/**
 * Drawn-shape image folders for ImageFolder, fine-tuning tests and the web demo: each class
 * is a shape, drawn in a random colour on a random background at a random place, size and
 * angle, antialiased, in images of mixed sizes saved as PNG or JPEG. Everything follows from
 * the seed, so a test can build the same folder on any machine instead of committing images.
 *
 * Two disjoint shape sets: {@link TARGET_CLASSES}, the folder a user fine-tunes on, and
 * {@link PRETRAIN_CLASSES}, "other drawn shapes" to pretrain on first, as ImageNet is to a
 * user's photos.
 */

import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** The classes of the fine-tuning folder. */
export const TARGET_CLASSES = Object.freeze(['circle', 'cross', 'square', 'triangle']);

/** Other shapes, disjoint from {@link TARGET_CLASSES}, for pretraining. */
export const PRETRAIN_CLASSES = Object.freeze([
  'arrow',
  'crescent',
  'ellipse',
  'heart',
  'hexagon',
  'rhombus',
  'ring',
  'star',
]);

/** A seeded generator (mulberry32): small, fast and the same in every JavaScript engine. */
export function createRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    random: next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}

function regularPolygon(n, phase = -Math.PI / 2, radius = 1) {
  return Array.from({ length: n }, (_, k) => {
    const t = phase + (2 * Math.PI * k) / n;
    return [radius * Math.cos(t), radius * Math.sin(t)];
  });
}

function starPolygon(points, inner) {
  return Array.from({ length: 2 * points }, (_, k) => {
    const r = k % 2 ? inner : 1;
    const t = -Math.PI / 2 + (Math.PI * k) / points;
    return [r * Math.cos(t), r * Math.sin(t)];
  });
}

/** Even-odd point-in-polygon test. */
function inPolygon(poly, x, y) {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const TRIANGLE = regularPolygon(3, -Math.PI / 2, 1);
const HEXAGON = regularPolygon(6, 0, 0.95);
const STAR = starPolygon(5, 0.45);
const ARROW = [
  [-0.9, -0.25],
  [0.2, -0.25],
  [0.2, -0.6],
  [0.95, 0],
  [0.2, 0.6],
  [0.2, 0.25],
  [-0.9, 0.25],
];

/** Each shape as a test on coordinates in [-1, 1]² (y down), before rotation and scaling. */
const SHAPES = {
  circle: (u, v) => u * u + v * v <= 0.9,
  cross: (u, v) =>
    (Math.abs(u) <= 0.28 && Math.abs(v) <= 0.9) || (Math.abs(v) <= 0.28 && Math.abs(u) <= 0.9),
  square: (u, v) => Math.abs(u) <= 0.75 && Math.abs(v) <= 0.75,
  triangle: (u, v) => inPolygon(TRIANGLE, u, v),
  arrow: (u, v) => inPolygon(ARROW, u, v),
  crescent: (u, v) => u * u + v * v <= 0.9 && (u - 0.45) ** 2 + v * v > 0.5,
  ellipse: (u, v) => u * u + (v / 0.5) ** 2 <= 0.95,
  heart: (u, v) => {
    const x = u * 1.2;
    const y = -(v * 1.2) + 0.25;
    return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0;
  },
  hexagon: (u, v) => inPolygon(HEXAGON, u, v),
  rhombus: (u, v) => Math.abs(u) / 0.55 + Math.abs(v) / 0.95 <= 1,
  ring: (u, v) => {
    const r = u * u + v * v;
    return r <= 0.9 && r >= 0.35;
  },
  star: (u, v) => inPolygon(STAR, u, v),
};

/** The names {@link renderShape} can draw. */
export const SHAPE_NAMES = Object.freeze(Object.keys(SHAPES));

function hsvToRgb(h, s, v) {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6];
  return [r * 255, g * 255, b * 255];
}

/** @param {number[]} rgb */
const luma = (rgb) => (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;

/** A foreground and a background colour far enough apart in brightness to see the shape. */
function colours(rng) {
  for (;;) {
    const fg = hsvToRgb(rng.random(), rng.uniform(0.45, 1), rng.uniform(0.35, 1));
    const bg = hsvToRgb(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.1, 1));
    if (Math.abs(luma(fg) - luma(bg)) >= 0.25) return { fg, bg };
  }
}

/**
 * Draws `shape` at a random place, size and angle in a `width × height` RGB image, with 4×4
 * supersampling and a little noise. Returns `{ data, width, height }`, `data` RGB bytes.
 */
export function renderShape(shape, { width, height, rng }) {
  const inside = SHAPES[shape];
  if (!inside)
    throw new Error(
      `unknown shape ${JSON.stringify(shape)}; expected one of ${SHAPE_NAMES.join(', ')}`,
    );
  const { fg, bg } = colours(rng);
  const side = Math.min(width, height);
  const radius = rng.uniform(0.28, 0.45) * side;
  const cx = rng.uniform(radius, width - radius);
  const cy = rng.uniform(radius, height - radius);
  const angle = rng.uniform(0, 2 * Math.PI);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const data = new Uint8Array(width * height * 3);
  const S = 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let hits = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const dx = (x + (sx + 0.5) / S - cx) / radius;
          const dy = (y + (sy + 0.5) / S - cy) / radius;
          if (inside(cos * dx + sin * dy, -sin * dx + cos * dy)) hits++;
        }
      }
      const a = hits / (S * S);
      const noise = (rng.random() - 0.5) * 16;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        data[o + k] = Math.max(0, Math.min(255, Math.round(a * fg[k] + (1 - a) * bg[k] + noise)));
      }
    }
  }
  return { data, width, height };
}

/** Encodes RGB bytes as PNG or JPEG (`quality` 1–100). */
export function encodeImage({ data, width, height }, format, quality = 90) {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    rgba[j] = data[i];
    rgba[j + 1] = data[i + 1];
    rgba[j + 2] = data[i + 2];
    rgba[j + 3] = 255;
  }
  if (format === 'png') {
    const png = new PNG({ width, height });
    rgba.copy(png.data);
    return PNG.sync.write(png, { colorType: 2 });
  }
  if (format === 'jpeg') return jpeg.encode({ data: rgba, width, height }, quality).data;
  throw new Error(`format must be 'png' or 'jpeg', got ${JSON.stringify(format)}`);
}

/** A file that claims to be a JPEG but is not one: a start-of-image marker, then noise. */
export function corruptJpeg(rng, length = 600) {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = rng.int(0, 255);
  bytes[0] = 0xff;
  bytes[1] = 0xd8;
  bytes[2] = 0xff;
  bytes[3] = 0x00;
  return bytes;
}

async function writeAtomic(path, bytes) {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/**
 * Writes `dir/train/<class>/*` and `dir/val/<class>/*` (PNG and JPEG mixed, sides between
 * `minSize` and `maxSize`) and, unless `corrupt` is false, one undecodable
 * `dir/train/<first class>/corrupt.jpg`. The same options give the same bytes. `dir` must be
 * absent or empty. Returns the classes, the files written per split and the corrupt file's
 * path.
 */
export async function makeShapesFolder(dir, options = {}) {
  const {
    seed = 0,
    classes = TARGET_CLASSES,
    train = 40,
    val = 20,
    minSize = 48,
    maxSize = 112,
    corrupt = true,
  } = options;
  for (const c of classes) {
    if (!SHAPES[c])
      throw new Error(
        `unknown class ${JSON.stringify(c)}; expected one of ${SHAPE_NAMES.join(', ')}`,
      );
  }
  if (
    !(Number.isInteger(minSize) && Number.isInteger(maxSize) && minSize >= 8 && maxSize >= minSize)
  ) {
    throw new Error(
      `sizes must be integers with 8 <= minSize <= maxSize, got ${minSize}, ${maxSize}`,
    );
  }
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length > 0) throw new Error(`${dir} is not empty; choose a new directory`);
  const rng = createRng(seed);
  /** @type {{ train: string[], val: string[] }} */
  const files = { train: [], val: [] };
  for (const [split, count] of [
    ['train', train],
    ['val', val],
  ]) {
    for (const c of classes) {
      const classDir = join(dir, split, c);
      await mkdir(classDir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const width = rng.int(minSize, maxSize);
        const height = rng.int(minSize, maxSize);
        const image = renderShape(c, { width, height, rng });
        const format = rng.random() < 0.5 ? 'png' : 'jpeg';
        const bytes = encodeImage(image, format, rng.int(80, 95));
        const path = join(
          classDir,
          `${c}-${String(i).padStart(4, '0')}.${format === 'png' ? 'png' : 'jpg'}`,
        );
        await writeAtomic(path, bytes);
        files[split].push(path);
      }
    }
  }
  let corruptFile = null;
  if (corrupt && classes.length > 0 && train > 0) {
    corruptFile = join(dir, 'train', classes[0], 'corrupt.jpg');
    await writeAtomic(corruptFile, corruptJpeg(rng));
  }
  return { classes: [...classes], files, corrupt: corruptFile };
}

/**
 * Images and labels in memory, without files: `count` per class as HWC uint8 arrays of one
 * `size × size`, for pretraining where decoding would only cost time.
 */
export function shapeSamples({
  seed = 0,
  classes = PRETRAIN_CLASSES,
  count = 100,
  size = 64,
} = {}) {
  const rng = createRng(seed);
  const images = new Uint8Array(classes.length * count * size * size * 3);
  const labels = new Int32Array(classes.length * count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    for (const [label, c] of classes.entries()) {
      images.set(renderShape(c, { width: size, height: size, rng }).data, n * size * size * 3);
      labels[n++] = label;
    }
  }
  return { images, labels, shape: [size, size, 3], classes: [...classes] };
}

import { formatValue, ValueError } from '@resnet-ts/core';
import type { HWCImage, Pixels } from '../sample.js';

/** How {@link pad} fills the border, as torchvision's `padding_mode`. */
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

/** Padding as torchvision takes it: all sides, `[leftRight, topBottom]` or `[left, top, right, bottom]`. */
export type Padding =
  | number
  | readonly [number, number]
  | readonly [number, number, number, number];

/** Expands a {@link Padding} into `[left, top, right, bottom]`. */
export function paddingSides(padding: Padding): [number, number, number, number] {
  const p = typeof padding === 'number' ? [padding] : [...padding];
  const sides =
    p.length === 1
      ? [p[0], p[0], p[0], p[0]]
      : p.length === 2
        ? [p[0], p[1], p[0], p[1]]
        : p.length === 4
          ? p
          : undefined;
  if (!sides || sides.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new ValueError(
      `padding must be a non-negative integer, [leftRight, topBottom] or [left, top, right, bottom], got ${formatValue(padding)}`,
    );
  }
  return sides as [number, number, number, number];
}

/**
 * Where coordinate `i` of a padded axis reads from in an axis of length `n`, or -1 for the
 * fill value. `reflect` mirrors without repeating the edge (…2 1 | 0 1 2…), `symmetric`
 * repeats it (…1 0 | 0 1 2…), as numpy and torchvision define them.
 */
export function sourceIndex(i: number, n: number, mode: PaddingMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'edge':
      return i < 0 ? 0 : n - 1;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      let k = Math.abs(i) % period;
      if (k >= n) k = period - k;
      return k;
    }
    case 'symmetric': {
      const period = 2 * n;
      let k = ((i % period) + period) % period;
      if (k >= n) k = period - 1 - k;
      return k;
    }
    default:
      throw new ValueError(
        `paddingMode must be 'constant', 'edge', 'reflect' or 'symmetric', got ${formatValue(mode)}`,
      );
  }
}

/** Source indices for `count` output coordinates starting at `start` of an axis of length `n`. */
export function axisMap(start: number, count: number, n: number, mode: PaddingMode): Int32Array {
  const map = new Int32Array(count);
  for (let k = 0; k < count; k++) map[k] = sourceIndex(start + k, n, mode);
  return map;
}

/** Consecutive runs in a column map, as `[outX, srcX, length]` triples; fill columns skipped. */
function columnRuns(cols: Int32Array): number[] {
  const runs: number[] = [];
  let x = 0;
  while (x < cols.length) {
    if (cols[x] < 0) {
      x++;
      continue;
    }
    let end = x + 1;
    while (end < cols.length && cols[end] === cols[end - 1] + 1) end++;
    runs.push(x, cols[x], end - x);
    x = end;
  }
  return runs;
}

/**
 * Builds an image whose pixel (y, x) is the input's (rows[y], cols[x]), or `fill` where
 * either index is -1. Pad, crop, flip and padded random crops are all this one gather.
 */
export function remap(input: HWCImage, rows: Int32Array, cols: Int32Array, fill = 0): HWCImage {
  const [, w, c] = input.shape;
  const src = input.image;
  const outH = rows.length;
  const outW = cols.length;
  const out: Pixels =
    src instanceof Uint8Array ? new Uint8Array(outH * outW * c) : new Float32Array(outH * outW * c);
  if (fill !== 0) out.fill(fill);
  const runs = columnRuns(cols);
  // Long runs (crops, pads) copy a row segment at a time; short ones (flips) go pixel by pixel.
  const copyRuns = runs.length * 4 <= outW * 3;
  const rowStride = w * c;
  const outStride = outW * c;
  for (let y = 0; y < outH; y++) {
    const r = rows[y];
    if (r < 0) continue;
    const rowBase = r * rowStride;
    const o = y * outStride;
    if (copyRuns) {
      for (let k = 0; k < runs.length; k += 3) {
        const from = rowBase + runs[k + 1] * c;
        out.set(src.subarray(from, from + runs[k + 2] * c), o + runs[k] * c);
      }
    } else if (c === 3) {
      for (let x = 0; x < outW; x++) {
        const s = cols[x];
        if (s < 0) continue;
        const i = rowBase + s * 3;
        const j = o + x * 3;
        out[j] = src[i];
        out[j + 1] = src[i + 1];
        out[j + 2] = src[i + 2];
      }
    } else {
      for (let x = 0; x < outW; x++) {
        const s = cols[x];
        if (s < 0) continue;
        const i = rowBase + s * c;
        const j = o + x * c;
        for (let k = 0; k < c; k++) out[j + k] = src[i + k];
      }
    }
  }
  return { image: out, shape: [outH, outW, c] };
}

/** Pads an image, as `torchvision.transforms.functional.pad`. */
export function pad(
  input: HWCImage,
  padding: Padding,
  fill = 0,
  paddingMode: PaddingMode = 'constant',
): HWCImage {
  const [left, top, right, bottom] = paddingSides(padding);
  const [h, w] = input.shape;
  return remap(
    input,
    axisMap(-top, h + top + bottom, h, paddingMode),
    axisMap(-left, w + left + right, w, paddingMode),
    fill,
  );
}

/**
 * The `height × width` window at (`top`, `left`), as `torchvision.transforms.functional.crop`;
 * parts outside the image are zero.
 */
export function crop(
  input: HWCImage,
  top: number,
  left: number,
  height: number,
  width: number,
): HWCImage {
  const [h, w] = input.shape;
  return remap(input, axisMap(top, height, h, 'constant'), axisMap(left, width, w, 'constant'));
}

/** Mirrors left to right, as `torchvision.transforms.functional.hflip`. */
export function hflip(input: HWCImage): HWCImage {
  const [h, w] = input.shape;
  const cols = new Int32Array(w);
  for (let x = 0; x < w; x++) cols[x] = w - 1 - x;
  return remap(input, axisMap(0, h, h, 'constant'), cols);
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** uint8 in [0, 255] to float32 in [0, 1]; float input is copied unchanged. */
export function toFloat(input: HWCImage): HWCImage {
  const src = input.image;
  const out = new Float32Array(src.length);
  if (src instanceof Uint8Array) {
    for (let i = 0; i < src.length; i++) out[i] = BYTE_TO_UNIT[src[i]];
  } else {
    out.set(src);
  }
  return { image: out, shape: input.shape };
}

/**
 * `(x - mean[c]) / std[c]` per channel, as `torchvision.transforms.functional.normalize`.
 * The input must be float (run `ToTensor` first).
 */
export function normalize(
  input: HWCImage,
  mean: readonly number[],
  std: readonly number[],
): HWCImage {
  const c = input.shape[2];
  if (!(input.image instanceof Float32Array)) {
    throw new ValueError('normalize expects a float32 image; apply ToTensor first');
  }
  if (mean.length !== c && mean.length !== 1) {
    throw new ValueError(
      `normalize: ${c} channels but mean has ${mean.length} values ${formatValue(mean)}`,
    );
  }
  if (std.length !== c && std.length !== 1) {
    throw new ValueError(
      `normalize: ${c} channels but std has ${std.length} values ${formatValue(std)}`,
    );
  }
  if (std.some((s) => s === 0))
    throw new ValueError(`normalize: std ${formatValue(std)} contains 0`);
  const m = Float32Array.from({ length: c }, (_, k) => mean[mean.length === 1 ? 0 : k]);
  const s = Float32Array.from({ length: c }, (_, k) => std[std.length === 1 ? 0 : k]);
  const src = input.image;
  const out = new Float32Array(src.length);
  if (c === 3) {
    const [m0, m1, m2] = m;
    const [s0, s1, s2] = s;
    for (let i = 0; i < src.length; i += 3) {
      out[i] = (src[i] - m0) / s0;
      out[i + 1] = (src[i + 1] - m1) / s1;
      out[i + 2] = (src[i + 2] - m2) / s2;
    }
  } else {
    for (let i = 0; i < src.length; i += c) {
      for (let k = 0; k < c; k++) out[i + k] = (src[i + k] - m[k]) / s[k];
    }
  }
  return { image: out, shape: input.shape };
}

const f32 = Math.fround;

/**
 * Source rows/cols and weights of bilinear resampling with `align_corners=False`, in float32
 * steps as torch's CPU kernel takes them, so uint8 results round the same way.
 */
function bilinearAxis(inSize: number, outSize: number) {
  const scale = f32(inSize / outSize);
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    // torch keeps this index in double (`dst_index + 0.5` is a double) and rounds only the
    // weight to float; rounding the index too flips some uint8 results at exact halves.
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    const lo = Math.floor(src);
    i0[o] = lo;
    i1[o] = lo < inSize - 1 ? lo + 1 : lo;
    w1[o] = f32(src - lo);
    w0[o] = f32(1 - w1[o]);
  }
  return { i0, i1, w0, w1 };
}

/** The output size of a resize: `[h, w]` as given, or a number that becomes the shorter edge. */
export function resizeShape(
  h: number,
  w: number,
  size: number | readonly [number, number],
): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  if (h <= w) return [size, Math.trunc((size * w) / h)];
  return [Math.trunc((size * h) / w), size];
}

/**
 * Bilinear resize, as `torchvision.transforms.functional.resize` on a tensor with
 * `antialias=False` (half-pixel centres, edges clamped). uint8 stays uint8, rounded half to
 * even like torch; float stays float.
 */
export function resize(input: HWCImage, size: number | readonly [number, number]): HWCImage {
  const [h, w] = input.shape;
  const [outH, outW] = resizeShape(h, w, size);
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) {
    throw new ValueError(
      `resize size must be a positive integer or [h, w], got ${formatValue(size)}`,
    );
  }
  return resizeWindow(input, 0, 0, h, w, outH, outW);
}

/**
 * The bilinear resize of {@link resize} applied to the `height × width` window at (`top`,
 * `left`), which must lie inside the image: the result of resizing a cropped copy, without
 * the copy.
 */
export function resizeWindow(
  input: HWCImage,
  top: number,
  left: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
): HWCImage {
  const c = input.shape[2];
  const stride = input.shape[1] * c;
  const ry = bilinearAxis(height, outH);
  const rx = bilinearAxis(width, outW);
  const src = input.image;
  // A Uint8ClampedArray store rounds half to even and clamps (the spec's ToUint8Clamp), as
  // torch rounds its uint8 output, far faster than rounding by hand.
  const out =
    src instanceof Uint8Array
      ? new Uint8ClampedArray(outH * outW * c)
      : new Float32Array(outH * outW * c);
  // Source offsets of each output column, in values, with the window's left edge added once.
  const p0 = new Int32Array(outW);
  const p1 = new Int32Array(outW);
  for (let x = 0; x < outW; x++) {
    p0[x] = (left + rx.i0[x]) * c;
    p1[x] = (left + rx.i1[x]) * c;
  }
  const { w0, w1 } = rx;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    const a = (top + ry.i0[y]) * stride;
    const b = (top + ry.i1[y]) * stride;
    const wy0 = ry.w0[y];
    const wy1 = ry.w1[y];
    for (let x = 0; x < outW; x++) {
      const p = p0[x];
      const q = p1[x];
      const wx0 = w0[x];
      const wx1 = w1[x];
      for (let k = 0; k < c; k++) {
        const upper = f32(f32(src[a + p + k] * wx0) + f32(src[a + q + k] * wx1));
        const lower = f32(f32(src[b + p + k] * wx0) + f32(src[b + q + k] * wx1));
        out[o++] = f32(f32(upper * wy0) + f32(lower * wy1));
      }
    }
  }
  const image: Pixels = out instanceof Uint8ClampedArray ? new Uint8Array(out.buffer) : out;
  return { image, shape: [outH, outW, c] };
}

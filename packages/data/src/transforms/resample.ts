import { formatValue, ValueError } from '@resnet-ts/core';
import type { HWCImage, Pixels } from '../sample.js';
import { cubic, filterWindows } from './filter-windows.js';
import { resize, resizeShape, resizeWindow } from './functional.js';
import { pillowResample } from './pillow-resample.js';

/** How a resize samples between pixels, as torchvision's `InterpolationMode` for resizing. */
export type ResizeInterpolation = 'bilinear' | 'bicubic';

/** Options of {@link resample} and {@link Resize}. */
export interface ResampleOptions {
  /** Default `'bilinear'`. */
  interpolation?: ResizeInterpolation;
  /**
   * Low-pass filter when shrinking, as torch's `antialias=True` (what PIL always does).
   * Default false, torchvision 0.14's default on tensors. Bilinear with antialias on uint8
   * computes in Pillow's 8-bit fixed point: equal to PIL's `Image.resize` (what torchvision
   * gives for PIL images, as its ImageFolder loads them), within 1 of its tensor result.
   */
  antialias?: boolean;
}

const f32 = Math.fround;

/** Rounds half to even, as `torch.round`. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The taps of a 1-D resampling: output `o` is the sum over `k < count[o]` of
 * `weight[o * taps + k] * input[index[o * taps + k]]`.
 */
interface AxisTaps {
  taps: number;
  count: Int32Array;
  index: Int32Array;
  weight: Float32Array;
}

/**
 * Antialiased taps as ATen's `_upsample_{bilinear,bicubic}2d_aa` builds them (see
 * `filterWindows`), its scale rounded to float32 as ATen's is. The bicubic filter uses
 * a = -0.5 here (PIL's), not the -0.75 of plain bicubic.
 */
function antialiasTaps(inSize: number, outSize: number, interp: ResizeInterpolation): AxisTaps {
  const { taps, first, size, weight } = filterWindows(
    inSize,
    outSize,
    interp,
    f32(inSize / outSize),
  );
  const index = new Int32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    for (let j = 0; j < size[o]; j++) index[o * taps + j] = first[o] + j;
  }
  return { taps, count: size, index, weight: Float32Array.from(weight) };
}

/**
 * Plain bicubic taps as ATen's `upsample_bicubic2d` (align_corners=False, a = -0.75): four
 * neighbours around the half-pixel-centred source coordinate, indices clamped to the edge.
 */
function bicubicTaps(inSize: number, outSize: number): AxisTaps {
  const scale = f32(inSize / outSize);
  const taps = 4;
  const count = new Int32Array(outSize).fill(4);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const real = f32(scale * (o + 0.5) - 0.5);
    const base = Math.floor(real);
    const t = f32(real - base);
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(Math.max(base - 1 + k, 0), inSize - 1);
      weight[o * 4 + k] = cubic(t - (k - 1), -0.75);
    }
  }
  return { taps, count, index, weight };
}

/**
 * The horizontal pass over `rows` rows of `src` starting at (`top`, `left`), `stride` values a
 * row: float32 `[rows, outW, c]`. Each output channel sums its taps in order in a double, as
 * ATen does, so reading a window of the full image equals reading a cropped copy of it.
 */
function passAcross(
  src: Uint8Array | Float32Array,
  stride: number,
  top: number,
  left: number,
  rows: number,
  c: number,
  t: AxisTaps,
): Float32Array {
  const outW = t.count.length;
  const { taps, count, index, weight } = t;
  const out = new Float32Array(rows * outW * c);
  let d = 0;
  for (let y = 0; y < rows; y++) {
    const base = (top + y) * stride + left * c;
    if (c === 3) {
      for (let x = 0; x < outW; x++) {
        const n = count[x];
        const o = x * taps;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let j = 0; j < n; j++) {
          const wt = weight[o + j];
          const s = base + index[o + j] * 3;
          a0 += wt * src[s];
          a1 += wt * src[s + 1];
          a2 += wt * src[s + 2];
        }
        out[d] = a0;
        out[d + 1] = a1;
        out[d + 2] = a2;
        d += 3;
      }
    } else {
      for (let x = 0; x < outW; x++) {
        const n = count[x];
        const o = x * taps;
        for (let k = 0; k < c; k++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += weight[o + j] * src[base + index[o + j] * c + k];
          out[d++] = acc;
        }
      }
    }
  }
  return out;
}

/**
 * The vertical pass over the `[rows, width, c]` result of {@link passAcross}: each value sums
 * its taps in order in a double as {@link passAcross} does. uint8 output is rounded half to
 * even and clamped after the float32 rounding, as torch rounds its float32 result.
 */
function passDown(src: Float32Array, rowLength: number, t: AxisTaps, toByte: boolean): Pixels {
  const outH = t.count.length;
  const { taps, count, index, weight } = t;
  // Storing into a Uint8ClampedArray rounds half to even and clamps to [0, 255] (the spec's
  // ToUint8Clamp), torch's rounding of uint8 output, much faster than doing it by hand.
  const bytes = toByte ? new Uint8ClampedArray(outH * rowLength) : undefined;
  const floats = toByte ? undefined : new Float32Array(outH * rowLength);
  // Start of each tap's source row, in values.
  const rows = new Int32Array(taps);
  const w = new Float64Array(taps);
  for (let y = 0; y < outH; y++) {
    const n = count[y];
    for (let j = 0; j < n; j++) {
      rows[j] = index[y * taps + j] * rowLength;
      w[j] = weight[y * taps + j];
    }
    const d = y * rowLength;
    for (let x = 0; x < rowLength; x++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += w[j] * src[rows[j] + x];
      if (bytes) bytes[d + x] = f32(acc);
      else if (floats) floats[d + x] = acc;
    }
  }
  return bytes ? new Uint8Array(bytes.buffer) : (floats as Float32Array);
}

/**
 * Resamples the `box` window of `input` (inside the image) to `outH × outW` with separable
 * taps, without copying the window out first.
 */
function resampleWindow(
  input: HWCImage,
  top: number,
  left: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
  interpolation: ResizeInterpolation,
  antialias: boolean,
): HWCImage {
  const [, w, c] = input.shape;
  if (antialias && interpolation === 'bilinear' && input.image instanceof Uint8Array) {
    // Bytes go through Pillow's 8-bit fixed point: what torchvision computes for PIL images
    // (its ImageFolder's), within 1 of its tensor path, and faster.
    const image = pillowResample(
      input.image,
      w,
      c,
      top,
      left,
      height,
      width,
      outH,
      outW,
      'bilinear',
    );
    return { image, shape: [outH, outW, c] };
  }
  const taps = (n: number, m: number) =>
    antialias ? antialiasTaps(n, m, interpolation) : bicubicTaps(n, m);
  // Width first, then height, the order of ATen's separable kernel.
  const across = passAcross(input.image, w * c, top, left, height, c, taps(width, outW));
  const image = passDown(across, outW * c, taps(height, outH), input.image instanceof Uint8Array);
  return { image, shape: [outH, outW, c] };
}

/** The options with their defaults, the interpolation checked. */
function checkedOptions(options: ResampleOptions): {
  interpolation: ResizeInterpolation;
  antialias: boolean;
} {
  const interpolation = options.interpolation ?? 'bilinear';
  if (interpolation !== 'bilinear' && interpolation !== 'bicubic') {
    throw new ValueError(
      `resize interpolation must be 'bilinear' or 'bicubic', got ${formatValue(interpolation)}`,
    );
  }
  return { interpolation, antialias: options.antialias ?? false };
}

/**
 * Resizes an image as `torchvision.transforms.functional.resize` does on a tensor:
 * bilinear or bicubic, with or without antialias. `size` is `[h, w]` or the length the
 * shorter edge becomes. uint8 stays uint8 (rounded half to even and clamped, as torchvision
 * does), float stays float (bicubic may overshoot [0, 1], as in torchvision).
 */
export function resample(
  input: HWCImage,
  size: number | readonly [number, number],
  options: ResampleOptions = {},
): HWCImage {
  const { interpolation, antialias } = checkedOptions(options);
  if (interpolation === 'bilinear' && !antialias) return resize(input, size);
  const [h, w] = input.shape;
  const [outH, outW] = resizeShape(h, w, size);
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) {
    throw new ValueError(
      `resize size must be a positive integer or [h, w], got ${formatValue(size)}`,
    );
  }
  return resampleWindow(input, 0, 0, h, w, outH, outW, interpolation, antialias);
}

/**
 * Resizes the `height × width` window at (`top`, `left`), which must lie inside the image, to
 * `outH × outW`: the same result as {@link resample} of a cropped copy, without the copy.
 */
export function resampleCrop(
  input: HWCImage,
  top: number,
  left: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
  options: ResampleOptions = {},
): HWCImage {
  const { interpolation, antialias } = checkedOptions(options);
  if (interpolation === 'bilinear' && !antialias) {
    return resizeWindow(input, top, left, height, width, outH, outW);
  }
  return resampleWindow(input, top, left, height, width, outH, outW, interpolation, antialias);
}

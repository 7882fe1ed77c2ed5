import { formatValue, ValueError } from '@resnet-ts/core';
import type { HWCImage, Pixels } from '../sample.js';

// torchvision computes these in float32 and converts uint8 results by truncation (`.to(uint8)`),
// not rounding; the helpers below follow it so results match to the unit.
const f32 = Math.fround;
const R = f32(0.2989);
const G = f32(0.587);
const B = f32(0.114);

function checkChannels(input: HWCImage, what: string): number {
  const c = input.shape[2];
  if (c !== 1 && c !== 3) {
    throw new ValueError(
      `${what} expects 1 or 3 channels, got an image of shape ${formatValue(input.shape)}`,
    );
  }
  return c;
}

function like(input: HWCImage, length: number): Pixels {
  return input.image instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length);
}

/** One pixel's luma as torchvision computes it: float32 `0.2989 R + 0.587 G + 0.114 B`. */
function luma(src: Pixels, i: number): number {
  return f32(f32(f32(R * src[i]) + f32(G * src[i + 1])) + f32(B * src[i + 2]));
}

/**
 * Luma (ITU-R 601-2 weights) in `channels` (1 or 3) copies, as
 * `torchvision.transforms.functional.rgb_to_grayscale`; uint8 results are truncated as
 * torchvision's are. A 1-channel input is copied.
 */
export function rgbToGrayscale(input: HWCImage, channels: 1 | 3 = 1): HWCImage {
  const c = checkChannels(input, 'rgbToGrayscale');
  if (channels !== 1 && channels !== 3) {
    throw new ValueError(`rgbToGrayscale channels must be 1 or 3, got ${formatValue(channels)}`);
  }
  const [h, w] = input.shape;
  const n = h * w;
  const src = input.image;
  const out = like(input, n * channels);
  const isByte = src instanceof Uint8Array;
  for (let p = 0; p < n; p++) {
    const v = c === 3 ? luma(src, p * 3) : src[p];
    const o = isByte ? Math.trunc(v) : v;
    for (let k = 0; k < channels; k++) out[p * channels + k] = o;
  }
  return { image: out, shape: [h, w, channels] };
}

/**
 * `ratio · a + (1 − ratio) · b`, clamped to the dtype's range, as torchvision's `_blend`;
 * `b` is one value per pixel (`bStride` 1), per element (`bStride` = channels) or a constant.
 */
function blend(input: HWCImage, ratio: number, b: ArrayLike<number> | number): HWCImage {
  const src = input.image;
  const isByte = src instanceof Uint8Array;
  const bound = isByte ? 255 : 1;
  const r = f32(ratio);
  const q = f32(1 - ratio);
  const c = input.shape[2];
  const out = like(input, src.length);
  for (let i = 0; i < src.length; i++) {
    const other = typeof b === 'number' ? b : b[b.length === src.length ? i : (i / c) | 0];
    const v = Math.min(bound, Math.max(0, f32(f32(r * src[i]) + f32(q * other))));
    out[i] = isByte ? Math.trunc(v) : v;
  }
  return { image: out, shape: input.shape };
}

function checkFactor(what: string, factor: number): void {
  if (!(Number.isFinite(factor) && factor >= 0)) {
    throw new ValueError(
      `${what} factor must be a non-negative number, got ${formatValue(factor)}`,
    );
  }
}

/** Scales brightness: 0 gives black, 1 the original, as `adjust_brightness`. */
export function adjustBrightness(input: HWCImage, factor: number): HWCImage {
  checkFactor('brightness', factor);
  checkChannels(input, 'adjustBrightness');
  return blend(input, factor, 0);
}

/** Blends with the mean luma: 0 gives flat grey, 1 the original, as `adjust_contrast`. */
export function adjustContrast(input: HWCImage, factor: number): HWCImage {
  checkFactor('contrast', factor);
  const c = checkChannels(input, 'adjustContrast');
  const gray = c === 3 ? rgbToGrayscale(input).image : input.image;
  let sum = 0;
  for (let i = 0; i < gray.length; i++) sum += gray[i];
  return blend(input, factor, f32(sum / gray.length));
}

/** Blends with the luma image: 0 gives greyscale, 1 the original, as `adjust_saturation`. */
export function adjustSaturation(input: HWCImage, factor: number): HWCImage {
  checkFactor('saturation', factor);
  if (checkChannels(input, 'adjustSaturation') === 1) return input;
  return blend(input, factor, rgbToGrayscale(input).image);
}

/** RGB in [0, 1] to HSV in place of the same three slots, as torchvision's `_rgb2hsv`. */
function rgbToHsv(r: number, g: number, b: number, out: Float32Array): void {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = f32(maxc - minc);
  const s = f32(cr / (eqc ? 1 : maxc));
  const div = eqc ? 1 : cr;
  const rc = f32(f32(maxc - r) / div);
  const gc = f32(f32(maxc - g) / div);
  const bc = f32(f32(maxc - b) / div);
  let h: number;
  if (maxc === r) h = f32(bc - gc);
  else if (maxc === g) h = f32(f32(2 + rc) - bc);
  else h = f32(f32(4 + gc) - rc);
  h = f32(f32(f32(h / 6) + 1) % 1);
  out[0] = h;
  out[1] = s;
  out[2] = maxc;
}

/** HSV to RGB, as torchvision's `_hsv2rgb`. */
function hsvToRgb(h: number, s: number, v: number, out: Float32Array): void {
  const h6 = f32(h * 6);
  const fi = Math.floor(h6);
  const f = f32(h6 - fi);
  const p = Math.min(1, Math.max(0, f32(v * f32(1 - s))));
  const q = Math.min(1, Math.max(0, f32(v * f32(1 - f32(s * f)))));
  const t = Math.min(1, Math.max(0, f32(v * f32(1 - f32(s * f32(1 - f))))));
  const i = ((fi % 6) + 6) % 6;
  const table = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i];
  out[0] = table[0];
  out[1] = table[1];
  out[2] = table[2];
}

/**
 * Rotates hue by `factor` of a full turn (in [-0.5, 0.5]), as `adjust_hue`; uint8 images go
 * through [0, 1] floats and back by truncation, as in torchvision.
 */
export function adjustHue(input: HWCImage, factor: number): HWCImage {
  if (!(factor >= -0.5 && factor <= 0.5)) {
    throw new ValueError(`hue factor must be in [-0.5, 0.5], got ${formatValue(factor)}`);
  }
  if (checkChannels(input, 'adjustHue') === 1) return input;
  const src = input.image;
  const isByte = src instanceof Uint8Array;
  const out = like(input, src.length);
  const hsv = new Float32Array(3);
  const rgb = new Float32Array(3);
  for (let i = 0; i < src.length; i += 3) {
    const r = isByte ? f32(src[i] / 255) : src[i];
    const g = isByte ? f32(src[i + 1] / 255) : src[i + 1];
    const b = isByte ? f32(src[i + 2] / 255) : src[i + 2];
    rgbToHsv(r, g, b, hsv);
    let h = f32(hsv[0] + factor);
    h = f32(h - Math.floor(h));
    hsvToRgb(h, hsv[1], hsv[2], rgb);
    for (let k = 0; k < 3; k++) out[i + k] = isByte ? Math.trunc(f32(rgb[k] * 255)) : rgb[k];
  }
  return { image: out, shape: input.shape };
}

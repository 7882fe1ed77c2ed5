import type { InputSpec } from '@resnet-ts/core';

/** A decoded picture as 8-bit RGBA rows, what `readImage` returns. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Averages every source pixel that falls under each target pixel (area resampling), which keeps
 * thin pen strokes visible when a large drawing shrinks to 28×28, unlike point sampling.
 */
function resizeArea(
  src: Float32Array,
  w: number,
  h: number,
  c: number,
  size: number,
): Float32Array {
  const out = new Float32Array(size * size * c);
  const sx = w / size;
  const sy = h / size;
  for (let oy = 0; oy < size; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < size; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let area = 0;
      const acc = new Float64Array(c);
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++) {
          const wgt = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          if (wgt <= 0) continue;
          area += wgt;
          for (let k = 0; k < c; k++) acc[k] += wgt * src[(y * w + x) * c + k];
        }
      }
      for (let k = 0; k < c; k++) out[(oy * size + ox) * c + k] = area > 0 ? acc[k] / area : 0;
    }
  }
  return out;
}

/** How `toModelInput` changed the picture, reported next to the prediction. */
export interface Preprocessing {
  from: { width: number; height: number };
  inverted: boolean;
}

/**
 * Turns a decoded picture into what the model was trained on: alpha composited on white, gray or
 * RGB, resized to the model's square input, normalised with the training mean/std. For gray
 * models, a picture with a light background (a dark digit drawn on white paper) is inverted,
 * because MNIST digits are light strokes on black.
 */
export function toModelInput(
  img: RgbaImage,
  spec: InputSpec,
  invert: 'auto' | 'yes' | 'no' = 'auto',
): { pixels: Float32Array; info: Preprocessing } {
  const { width: w, height: h, data } = img;
  const c = spec.channels;
  const src = new Float32Array(w * h * c);
  for (let i = 0; i < w * h; i++) {
    const a = data[i * 4 + 3] / 255;
    const rgb = [0, 1, 2].map((k) => (data[i * 4 + k] / 255) * a + (1 - a));
    if (c === 1) src[i] = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    else for (let k = 0; k < c; k++) src[i * c + k] = rgb[k % 3];
  }
  let inverted = false;
  if (c === 1) {
    if (invert === 'yes') inverted = true;
    else if (invert === 'auto') {
      let sum = 0;
      let n = 0;
      for (let x = 0; x < w; x++) {
        sum += src[x] + src[(h - 1) * w + x];
        n += 2;
      }
      for (let y = 0; y < h; y++) {
        sum += src[y * w] + src[y * w + w - 1];
        n += 2;
      }
      inverted = sum / n > 0.5;
    }
    if (inverted) for (let i = 0; i < src.length; i++) src[i] = 1 - src[i];
  }
  const pixels = resizeArea(src, w, h, c, spec.size);
  for (let i = 0; i < pixels.length; i++) {
    const k = i % c;
    pixels[i] = (pixels[i] - spec.mean[k % spec.mean.length]) / spec.std[k % spec.std.length];
  }
  return { pixels, info: { from: { width: w, height: h }, inverted } };
}

import type { ResizeInterpolation } from './resample.js';

/** The triangle (bilinear) filter. */
export function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** Keys' cubic convolution kernel with parameter `a`. */
export function cubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/**
 * The windows of an antialiasing resampling along one axis: output `o` reads `size[o]` inputs
 * from `first[o]`, weighted by `weight[o * taps + j]` (normalised to sum 1, in double).
 */
export interface FilterWindows {
  taps: number;
  first: Int32Array;
  size: Int32Array;
  weight: Float64Array;
}

/**
 * Antialiased windows as Pillow's `precompute_coeffs` and ATen's `_upsample_*_aa` build them
 * (the two compute alike): the filter (triangle, or cubic with a = -0.5, PIL's) stretched by
 * `scale` when shrinking, truncated to the image, and normalised. `scale` is `inSize /
 * outSize` in the caller's precision (ATen rounds it to float32, Pillow keeps a double).
 */
export function filterWindows(
  inSize: number,
  outSize: number,
  interp: ResizeInterpolation,
  scale: number,
): FilterWindows {
  const filterScale = Math.max(scale, 1);
  const support = (interp === 'bilinear' ? 1 : 2) * filterScale;
  const invScale = 1 / filterScale;
  const filter = interp === 'bilinear' ? triangle : (x: number) => cubic(x, -0.5);
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const weight = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w = weight.subarray(o * taps, o * taps + n);
    let total = 0;
    for (let j = 0; j < n; j++) {
      w[j] = filter((j + xmin - center + 0.5) * invScale);
      total += w[j];
    }
    if (total !== 0) for (let j = 0; j < n; j++) w[j] /= total;
    first[o] = xmin;
    size[o] = n;
  }
  return { taps, first, size, weight };
}

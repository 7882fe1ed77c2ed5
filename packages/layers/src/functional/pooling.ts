import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkNHWC, type Pair, pair, windowCount } from '../validate.js';

/** Options of {@link maxPool2d}, as `torch.nn.functional.max_pool2d`'s. */
export interface MaxPool2dOptions {
  /** Step of the window; default the kernel size. */
  stride?: Pair | null;
  /** Implicit -inf padding on each side; at most half the kernel. Default 0. */
  padding?: Pair;
  /** Use ceil instead of floor for the output size; default false. */
  ceilMode?: boolean;
}

/** Options of {@link avgPool2d}, as `torch.nn.functional.avg_pool2d`'s. */
export interface AvgPool2dOptions extends MaxPool2dOptions {
  /** Count the zero padding in the divisor; default true, as PyTorch. */
  countIncludePad?: boolean;
  /** Divide every window by this instead of its size. */
  divisorOverride?: number | null;
}

/** A pooling window's geometry, resolved and validated. */
export interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  ceilMode: boolean;
}

/** Resolves and validates pooling options; throws naming `label` on bad ones. */
export function poolGeometry(
  label: string,
  kernelSize: Pair,
  { stride = null, padding = 0, ceilMode = false }: MaxPool2dOptions,
): PoolGeometry {
  const kernel = pair(label, 'kernelSize', kernelSize, 1);
  const s = stride == null ? kernel : pair(label, 'stride', stride, 1);
  const p = pair(label, 'padding', padding, 0);
  if (p[0] > kernel[0] / 2 || p[1] > kernel[1] / 2) {
    throw new ValueError(
      `${label}: padding ${formatValue(p)} must be at most half the kernel size ${formatValue(kernel)}`,
    );
  }
  return { kernel, stride: s, padding: p, ceilMode };
}

interface PoolPlan {
  out: [number, number];
  /** `[[top, bottom], [left, right]]` padding that makes a 'valid' pool give `out`. */
  pads: [[number, number], [number, number]];
}

function plan(label: string, x: tf.Tensor, g: PoolGeometry): PoolPlan {
  checkNHWC(label, x);
  const [, h, w] = x.shape;
  const out: [number, number] = [0, 1].map((a) =>
    windowCount(
      a === 0 ? h : w,
      g.kernel[a],
      g.stride[a],
      g.padding[a],
      g.padding[a],
      1,
      g.ceilMode,
    ),
  ) as [number, number];
  if (out[0] < 1 || out[1] < 1) {
    throw new ValueError(
      `${label}: input of ${h}x${w} (padded ${h + 2 * g.padding[0]}x${w + 2 * g.padding[1]}) is smaller than the kernel ${g.kernel[0]}x${g.kernel[1]} (input shape ${formatValue(x.shape)})`,
    );
  }
  const size = [h, w];
  const pads = [0, 1].map((a) => {
    // ceil_mode's last window may run past the padded input; pad it out so every window fits.
    const needed = (out[a] - 1) * g.stride[a] + g.kernel[a];
    const after = Math.max(g.padding[a], needed - size[a] - g.padding[a]);
    return [g.padding[a], after];
  }) as [[number, number], [number, number]];
  return { out, pads };
}

function padNHWC(x: tf.Tensor4D, [[t, b], [l, r]]: PoolPlan['pads'], value: number): tf.Tensor4D {
  if (!t && !b && !l && !r) return x;
  return tf.pad(
    x,
    [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
    value,
  );
}

/** @internal */
export function maxPool2dWithGeometry(label: string, x: tf.Tensor, g: PoolGeometry): tf.Tensor4D {
  const { pads } = plan(label, x, g);
  // Padding with -inf (as PyTorch) and pooling 'valid' keeps forward and MaxPoolGrad consistent.
  return tf.tidy(() =>
    tf.maxPool(padNHWC(x as tf.Tensor4D, pads, -Infinity), g.kernel, g.stride, 'valid'),
  );
}

/** Max pooling over an NHWC batch, as `torch.nn.functional.max_pool2d` (-inf padding). */
export function maxPool2d(
  x: tf.Tensor,
  kernelSize: Pair,
  options: MaxPool2dOptions = {},
): tf.Tensor4D {
  return maxPool2dWithGeometry('maxPool2d', x, poolGeometry('maxPool2d', kernelSize, options));
}

/** PyTorch's per-window divisor of average pooling, as an `[1, oh, ow, 1]` array. */
function divisors(
  size: [number, number],
  g: PoolGeometry,
  out: [number, number],
  countIncludePad: boolean,
): Float32Array {
  const axis = (a: 0 | 1) => {
    const n = out[a];
    const full = new Float64Array(n);
    const valid = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let start = i * g.stride[a] - g.padding[a];
      let end = Math.min(start + g.kernel[a], size[a] + g.padding[a]);
      full[i] = end - start;
      start = Math.max(start, 0);
      end = Math.min(end, size[a]);
      valid[i] = end - start;
    }
    return countIncludePad ? full : valid;
  };
  const rows = axis(0);
  const cols = axis(1);
  const d = new Float32Array(out[0] * out[1]);
  for (let i = 0; i < out[0]; i++)
    for (let j = 0; j < out[1]; j++) d[i * out[1] + j] = rows[i] * cols[j];
  return d;
}

/** @internal */
export function avgPool2dWithGeometry(
  label: string,
  x: tf.Tensor,
  g: PoolGeometry,
  countIncludePad = true,
  divisorOverride: number | null = null,
): tf.Tensor4D {
  if (divisorOverride != null && !(Number.isFinite(divisorOverride) && divisorOverride !== 0)) {
    throw new ValueError(
      `${label}: divisorOverride must be a non-zero number, got ${divisorOverride}`,
    );
  }
  const { out, pads } = plan(label, x, g);
  const area = g.kernel[0] * g.kernel[1];
  let scale: Float32Array | number = 1;
  if (divisorOverride != null) {
    scale = area / divisorOverride;
  } else {
    const d = divisors([x.shape[1] as number, x.shape[2] as number], g, out, countIncludePad);
    if (d.some((v) => v !== area)) scale = d.map((v) => area / v);
  }
  return tf.tidy(() => {
    // tfjs's own padded average divides by the in-bounds count but its gradient by the whole
    // window, so pad with zeros, pool 'valid' and rescale to PyTorch's divisor instead.
    const y = tf.avgPool(padNHWC(x as tf.Tensor4D, pads, 0), g.kernel, g.stride, 'valid');
    if (scale === 1) return y;
    const s =
      typeof scale === 'number' ? tf.scalar(scale) : tf.tensor4d(scale, [1, out[0], out[1], 1]);
    return tf.mul(y, s);
  });
}

/** Average pooling over an NHWC batch, as `torch.nn.functional.avg_pool2d`. */
export function avgPool2d(
  x: tf.Tensor,
  kernelSize: Pair,
  { countIncludePad = true, divisorOverride = null, ...options }: AvgPool2dOptions = {},
): tf.Tensor4D {
  const g = poolGeometry('avgPool2d', kernelSize, options);
  return avgPool2dWithGeometry('avgPool2d', x, g, countIncludePad, divisorOverride);
}

/** Output size of adaptive pooling: one size for both axes, or `[h, w]` with `null` = keep. */
export type AdaptiveSize = number | [number | null, number | null];

/** @internal */
export function resolveAdaptiveSize(
  label: string,
  outputSize: AdaptiveSize,
): [number | null, number | null] {
  const s: [number | null, number | null] = Array.isArray(outputSize)
    ? [outputSize[0], outputSize[1]]
    : [outputSize, outputSize];
  const ok =
    (!Array.isArray(outputSize) || outputSize.length === 2) &&
    s.every((v) => v === null || (Number.isInteger(v) && v >= 1));
  if (!ok) {
    throw new ValueError(
      `${label}: outputSize must be a positive integer or [h, w] of positive integers or null, got ${formatValue(outputSize)}`,
    );
  }
  return s;
}

/** Averages `x` over PyTorch's adaptive bins along `axis` (1 = height, 2 = width). */
function adaptiveAxis(x: tf.Tensor4D, axis: 1 | 2, out: number): tf.Tensor4D {
  const size = x.shape[axis];
  if (out === size) return x;
  if (out === 1) return tf.mean(x, axis, true);
  if (size % out === 0) {
    const k = size / out;
    const kernel: [number, number] = axis === 1 ? [k, 1] : [1, k];
    return tf.avgPool(x, kernel, kernel, 'valid');
  }
  const bins: tf.Tensor4D[] = [];
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    const begin = [0, 0, 0, 0];
    const len = [-1, -1, -1, -1];
    begin[axis] = start;
    len[axis] = end - start;
    bins.push(tf.mean(tf.slice(x, begin, len), axis, true));
  }
  return tf.concat(bins, axis);
}

/** @internal */
export function adaptiveAvgPool2dWithSize(
  label: string,
  x: tf.Tensor,
  size: [number | null, number | null],
): tf.Tensor4D {
  checkNHWC(label, x);
  const [, h, w] = x.shape;
  if (h < 1 || w < 1) {
    throw new ValueError(
      `${label}: input has an empty spatial size (input shape ${formatValue(x.shape)})`,
    );
  }
  const oh = size[0] ?? h;
  const ow = size[1] ?? w;
  return tf.tidy(() => {
    const x4 = x as tf.Tensor4D;
    if (oh === 1 && ow === 1) return tf.mean(x4, [1, 2], true);
    // A bin's mean over a rectangle is the mean over its rows of the means over its columns.
    return adaptiveAxis(adaptiveAxis(x4, 1, oh), 2, ow);
  });
}

/**
 * Adaptive average pooling to `outputSize`, as `torch.nn.functional.adaptive_avg_pool2d`:
 * bin i spans `[floor(i*in/out), ceil((i+1)*in/out))`.
 */
export function adaptiveAvgPool2d(x: tf.Tensor, outputSize: AdaptiveSize): tf.Tensor4D {
  const s = resolveAdaptiveSize('adaptiveAvgPool2d', outputSize);
  return adaptiveAvgPool2dWithSize('adaptiveAvgPool2d', x, s);
}

import { formatValue, ValueError } from '@resnet-ts/core';
import type { Tensor } from '@tensorflow/tfjs-core';

/** A size given once for both spatial axes or as `[height, width]`, as PyTorch's `_pair`. */
export type Pair = number | [number, number];

/** Expands `value` to `[h, w]`, checking each is an integer at least `min`. */
export function pair(label: string, option: string, value: Pair, min: number): [number, number] {
  const out: [number, number] = Array.isArray(value) ? [value[0], value[1]] : [value, value];
  const ok =
    (typeof value === 'number' || (Array.isArray(value) && value.length === 2)) &&
    out.every((v) => Number.isInteger(v) && v >= min);
  if (!ok) {
    throw new ValueError(
      `${label}: ${option} must be an integer >= ${min} or a pair of them, got ${formatValue(value)}`,
    );
  }
  return out;
}

/** Checks that `value` is an integer at least `min`. */
export function integer(label: string, option: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ValueError(
      `${label}: ${option} must be an integer >= ${min}, got ${formatValue(value)}`,
    );
  }
  return value;
}

/** Checks that `x` is a float NHWC batch, and (when given) that it has `channels` channels. */
export function checkNHWC(label: string, x: Tensor, channels?: number): void {
  if (x.rank !== 4) {
    throw new ValueError(
      `${label}: expected a 4-D NHWC input [batch, height, width, channels], got shape ${formatValue(x.shape)}`,
    );
  }
  if (channels !== undefined && x.shape[3] !== channels) {
    // PyTorch users pass [batch, channels, height, width]: say so when the shape fits that.
    const hint =
      x.shape[1] === channels
        ? `; this looks like NCHW (PyTorch's layout): convert it with nchwToNhwc(x) from @resnet-ts/layers`
        : '';
    throw new ValueError(
      `${label}: expected input with ${channels} channels, got ${x.shape[3]} (input shape ${formatValue(x.shape)})${hint}`,
    );
  }
}

/**
 * Output length of a sliding window along one axis, as PyTorch computes it (including
 * `ceil_mode`, where the last window must start inside the input or left padding).
 */
export function windowCount(
  size: number,
  kernel: number,
  stride: number,
  padBefore: number,
  padAfter: number,
  dilation = 1,
  ceilMode = false,
): number {
  const span = size + padBefore + padAfter - dilation * (kernel - 1) - 1;
  if (span < 0) return 0;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + padBefore) out -= 1;
  return out;
}

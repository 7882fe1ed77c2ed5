import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

function expectRank(fn: string, t: tf.Tensor, rank: number, layout: string): void {
  if (t.rank !== rank) {
    throw new ValueError(
      `${fn}: expected a ${rank}-D ${layout} tensor, got shape ${formatValue(t.shape)}`,
    );
  }
}

/** PyTorch activations `[N, C, H, W]` → ours `[N, H, W, C]`. */
export function nchwToNhwc(x: tf.Tensor): tf.Tensor4D {
  expectRank('nchwToNhwc', x, 4, 'NCHW');
  return tf.transpose(x as tf.Tensor4D, [0, 2, 3, 1]);
}

/** Our activations `[N, H, W, C]` → PyTorch's `[N, C, H, W]`. */
export function nhwcToNchw(x: tf.Tensor): tf.Tensor4D {
  expectRank('nhwcToNchw', x, 4, 'NHWC');
  return tf.transpose(x as tf.Tensor4D, [0, 3, 1, 2]);
}

/** PyTorch conv weight `[out, in/groups, kh, kw]` → ours `[kh, kw, in/groups, out]`. */
export function oihwToHwio(w: tf.Tensor): tf.Tensor4D {
  expectRank('oihwToHwio', w, 4, 'OIHW');
  return tf.transpose(w as tf.Tensor4D, [2, 3, 1, 0]);
}

/** Our conv weight `[kh, kw, in/groups, out]` → PyTorch's `[out, in/groups, kh, kw]`. */
export function hwioToOihw(w: tf.Tensor): tf.Tensor4D {
  expectRank('hwioToOihw', w, 4, 'HWIO');
  return tf.transpose(w as tf.Tensor4D, [3, 2, 0, 1]);
}

/** PyTorch Linear weight `[out, in]` → ours `[in, out]`. */
export function oiToIo(w: tf.Tensor): tf.Tensor2D {
  expectRank('oiToIo', w, 2, '[out, in]');
  return tf.transpose(w as tf.Tensor2D);
}

/** Our Linear weight `[in, out]` → PyTorch's `[out, in]`. */
export function ioToOi(w: tf.Tensor): tf.Tensor2D {
  expectRank('ioToOi', w, 2, '[in, out]');
  return tf.transpose(w as tf.Tensor2D);
}

/**
 * For features flattened from an NHWC map of `[h, w, c]`, the PyTorch (NCHW) flat index of
 * each of ours: `order[(i*w + j)*c + k] = (k*h + i)*w + j`. Gathering the `[in, out]` weight
 * rows of a Linear that follows a flatten with it converts PyTorch's weight to ours.
 */
export function nchwFlattenOrder(h: number, w: number, c: number): Int32Array {
  const order = new Int32Array(h * w * c);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let k = 0; k < c; k++) order[(i * w + j) * c + k] = (k * h + i) * w + j;
  return order;
}

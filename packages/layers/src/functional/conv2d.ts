import { conv2dBias, formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkNHWC, integer, type Pair, pair, windowCount } from '../validate.js';

/** Zero padding of a convolution: per side, per axis, `'valid'` (none) or `'same'` (stride 1). */
export type Conv2dPadding = Pair | 'same' | 'valid';

/** Options of {@link conv2d}, as `torch.nn.functional.conv2d`'s keyword arguments. */
export interface Conv2dFunctionalOptions {
  /** Step of the window; default 1. */
  stride?: Pair;
  /** Zero padding; default 0. `'same'` pads like PyTorch (extra on the bottom/right). */
  padding?: Conv2dPadding;
  /** Spacing between kernel taps; default 1. */
  dilation?: Pair;
  /** Number of channel groups; `inChannels` and `outChannels` must both be divisible by it. */
  groups?: number;
}

/** A convolution's geometry with every option resolved to numbers. */
export interface ConvGeometry {
  kernel: [number, number];
  stride: [number, number];
  /** `[[top, bottom], [left, right]]`. */
  padding: [[number, number], [number, number]];
  dilation: [number, number];
  groups: number;
}

/** Resolves and validates convolution options; throws naming `label` on bad ones. */
export function convGeometry(
  label: string,
  kernelSize: Pair,
  { stride = 1, padding = 0, dilation = 1, groups = 1 }: Conv2dFunctionalOptions,
): ConvGeometry {
  const kernel = pair(label, 'kernelSize', kernelSize, 1);
  const s = pair(label, 'stride', stride, 1);
  const d = pair(label, 'dilation', dilation, 1);
  integer(label, 'groups', groups, 1);
  let pad: [[number, number], [number, number]];
  if (padding === 'valid') {
    pad = [
      [0, 0],
      [0, 0],
    ];
  } else if (padding === 'same') {
    if (s[0] !== 1 || s[1] !== 1) {
      throw new ValueError(
        `${label}: padding='same' is not supported for strided convolutions (stride ${formatValue(s)})`,
      );
    }
    // PyTorch puts the odd unit of padding on the bottom/right.
    const total = [d[0] * (kernel[0] - 1), d[1] * (kernel[1] - 1)];
    pad = [
      [Math.floor(total[0] / 2), total[0] - Math.floor(total[0] / 2)],
      [Math.floor(total[1] / 2), total[1] - Math.floor(total[1] / 2)],
    ];
  } else {
    const p = pair(label, 'padding', padding, 0);
    pad = [
      [p[0], p[0]],
      [p[1], p[1]],
    ];
  }
  return { kernel, stride: s, padding: pad, dilation: d, groups };
}

/**
 * Spreads an HWIO filter's taps `dilation` apart with zeros between them, so a dilated
 * convolution runs as an ordinary one: tfjs has no gradient for dilated convolutions, and
 * this form is differentiable through pad/reshape/slice.
 */
function dilateFilter(w: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const KH = (kh - 1) * dh + 1;
  const KW = (kw - 1) * dw + 1;
  let f: tf.Tensor = w;
  if (dh > 1) {
    f = tf.reshape(f, [kh, 1, kw * ci * co]);
    f = tf.pad(f, [
      [0, 0],
      [0, dh - 1],
      [0, 0],
    ]);
    f = tf.slice(tf.reshape(f, [kh * dh, kw * ci * co]), [0, 0], [KH, -1]);
  }
  if (dw > 1) {
    f = tf.reshape(f, [KH, kw, 1, ci * co]);
    f = tf.pad(f, [
      [0, 0],
      [0, 0],
      [0, dw - 1],
      [0, 0],
    ]);
    f = tf.slice(tf.reshape(f, [KH, kw * dw, ci, co]), [0, 0, 0, 0], [-1, KW, -1, -1]);
  }
  return tf.reshape(f, [KH, KW, ci, co]);
}

/**
 * The convolution for already-validated geometry; `label` names the caller in errors.
 * @internal
 */
export function conv2dWithGeometry(
  label: string,
  x: tf.Tensor,
  weight: tf.Tensor,
  bias: tf.Tensor | null | undefined,
  g: ConvGeometry,
): tf.Tensor4D {
  if (weight.rank !== 4) {
    throw new ValueError(
      `${label}: weight must be HWIO [kh, kw, in/groups, out], got shape ${formatValue(weight.shape)}`,
    );
  }
  const [kh, kw, cig, co] = weight.shape;
  checkNHWC(label, x, cig * g.groups);
  if (co % g.groups !== 0) {
    throw new ValueError(
      `${label}: groups=${g.groups} must divide the weight's ${co} output channels`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== co)) {
    throw new ValueError(`${label}: bias must have shape [${co}], got ${formatValue(bias.shape)}`);
  }
  const [, h, w] = x.shape;
  const [[pt, pb], [pl, pr]] = g.padding;
  const oh = windowCount(h, kh, g.stride[0], pt, pb, g.dilation[0]);
  const ow = windowCount(w, kw, g.stride[1], pl, pr, g.dilation[1]);
  if (oh < 1 || ow < 1) {
    const ek = [(kh - 1) * g.dilation[0] + 1, (kw - 1) * g.dilation[1] + 1];
    throw new ValueError(
      `${label}: input of ${h}x${w} (padded ${h + pt + pb}x${w + pl + pr}) is smaller than the kernel ${ek[0]}x${ek[1]} (input shape ${formatValue(x.shape)})`,
    );
  }
  return tf.tidy(() => {
    const x4 = x as tf.Tensor4D;
    let f = weight as tf.Tensor4D;
    if (g.dilation[0] > 1 || g.dilation[1] > 1) f = dilateFilter(f, g.dilation);
    const pad: 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] =
      pt || pb || pl || pr
        ? [
            [0, 0],
            [pt, pb],
            [pl, pr],
            [0, 0],
          ]
        : 'valid';
    let y: tf.Tensor4D;
    if (g.groups === 1) {
      // One fused kernel adds the bias in the convolution's own pass over the output; both
      // kernels compute only the gradients the tape needs (no input gradient for a first layer).
      return bias
        ? conv2dBias(x4, f, bias as tf.Tensor1D, g.stride, pad)
        : tf.conv2d(x4, f, g.stride, pad);
    } else if (cig === 1) {
      // Depthwise: PyTorch's output channel c*m+q reads input channel c, which is exactly
      // tfjs's channel-multiplier layout once O is split into [in, multiplier].
      const [fh, fw] = f.shape;
      const dw = tf.reshape(f, [fh, fw, g.groups, co / g.groups]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(x4, dw, g.stride, pad);
    } else {
      const xs = tf.split(x4, g.groups, 3);
      const fs = tf.split(f, g.groups, 3);
      y = tf.concat(
        xs.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, fs[i] as tf.Tensor4D, g.stride, pad)),
        3,
      );
    }
    return bias ? tf.add(y, bias) : y;
  });
}

/**
 * 2-D convolution of an NHWC batch with an HWIO weight `[kh, kw, in/groups, out]`, as
 * `torch.nn.functional.conv2d` (symmetric zero padding, dilation, groups, depthwise).
 */
export function conv2d(
  x: tf.Tensor,
  weight: tf.Tensor,
  bias?: tf.Tensor | null,
  options: Conv2dFunctionalOptions = {},
): tf.Tensor4D {
  if (weight.rank !== 4) {
    throw new ValueError(
      `conv2d: weight must be HWIO [kh, kw, in/groups, out], got shape ${formatValue(weight.shape)}`,
    );
  }
  const g = convGeometry('conv2d', [weight.shape[0] as number, weight.shape[1] as number], options);
  return conv2dWithGeometry('conv2d', x, weight, bias, g);
}

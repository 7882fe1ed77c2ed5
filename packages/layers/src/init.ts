import { defaultGenerator, formatValue, type Generator, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** Which fan scales Kaiming initialisation: `'fan_in'` keeps the forward variance. */
export type FanMode = 'fan_in' | 'fan_out';

/** The non-linearities {@link calculateGain} knows, named as in PyTorch. */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** Options shared by the random initialisers. */
export interface InitOptions {
  /** Source of the samples; default the process-wide default generator. */
  generator?: Generator;
}

/** Options of {@link kaimingUniform} and {@link kaimingNormal}, as PyTorch's. */
export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows; default 0. */
  a?: number;
  /** Default `'fan_in'`. */
  mode?: FanMode;
  /** Default `'leaky_relu'`, as PyTorch. */
  nonlinearity?: Nonlinearity;
}

/** The recommended gain for a non-linearity, as `torch.nn.init.calculate_gain`. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ValueError(`calculateGain: unsupported nonlinearity ${formatValue(nonlinearity)}`);
  }
}

/**
 * Fan-in and fan-out of a weight in this library's layouts, equal to PyTorch's for the same
 * layer: `[in, out]` for Linear, `[kh, kw, in/groups, out]` (HWIO, any number of leading
 * receptive-field axes) for convolutions.
 */
export function calculateFanInAndFanOut(shape: readonly number[] | tf.Tensor): {
  fanIn: number;
  fanOut: number;
} {
  const s = Array.isArray(shape) ? shape : (shape as tf.Tensor).shape;
  if (s.length < 2) {
    throw new ValueError(
      `calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got shape ${formatValue(s)}`,
    );
  }
  const receptive = s.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: s[s.length - 2] * receptive, fanOut: s[s.length - 1] * receptive };
}

function fill(v: tf.Variable, make: () => tf.Tensor): tf.Variable {
  tf.tidy(() => {
    const t = make();
    v.assign(t.dtype === v.dtype ? t : tf.cast(t, v.dtype));
  });
  return v;
}

/** Fills `v` with samples from U(low, high), as `torch.nn.init.uniform_`; returns `v`. */
export function uniform(
  v: tf.Variable,
  low = 0,
  high = 1,
  { generator }: InitOptions = {},
): tf.Variable {
  const g = generator ?? defaultGenerator();
  return fill(v, () => g.uniformTensor([...v.shape], low, high));
}

/** Fills `v` with samples from N(mean, std²), as `torch.nn.init.normal_`; returns `v`. */
export function normal(
  v: tf.Variable,
  mean = 0,
  std = 1,
  { generator }: InitOptions = {},
): tf.Variable {
  const g = generator ?? defaultGenerator();
  return fill(v, () => g.normalTensor([...v.shape], mean, std));
}

/** Fills `v` with `value`, as `torch.nn.init.constant_`; returns `v`. */
export function constant(v: tf.Variable, value: number): tf.Variable {
  return fill(v, () => tf.fill([...v.shape], value, v.dtype));
}

/** Fills `v` with zeros, as `torch.nn.init.zeros_`; returns `v`. */
export function zeros(v: tf.Variable): tf.Variable {
  return constant(v, 0);
}

/** Fills `v` with ones, as `torch.nn.init.ones_`; returns `v`. */
export function ones(v: tf.Variable): tf.Variable {
  return constant(v, 1);
}

function kaimingStd(
  v: tf.Variable,
  { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' }: KaimingOptions,
) {
  if (mode !== 'fan_in' && mode !== 'fan_out') {
    throw new ValueError(
      `kaiming init: mode must be 'fan_in' or 'fan_out', got ${formatValue(mode)}`,
    );
  }
  const { fanIn, fanOut } = calculateFanInAndFanOut(v.shape);
  const fan = mode === 'fan_in' ? fanIn : fanOut;
  if (fan === 0) return 0;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * He initialisation with a uniform distribution, as `torch.nn.init.kaiming_uniform_`:
 * U(-b, b) with b = gain·√(3/fan). Returns `v`.
 */
export function kaimingUniform(v: tf.Variable, options: KaimingOptions = {}): tf.Variable {
  const bound = Math.sqrt(3) * kaimingStd(v, options);
  return uniform(v, -bound, bound, options);
}

/** He initialisation with a normal distribution, as `torch.nn.init.kaiming_normal_`. */
export function kaimingNormal(v: tf.Variable, options: KaimingOptions = {}): tf.Variable {
  return normal(v, 0, kaimingStd(v, options), options);
}

/** Glorot initialisation, uniform, as `torch.nn.init.xavier_uniform_`. */
export function xavierUniform(
  v: tf.Variable,
  { gain = 1, generator }: InitOptions & { gain?: number } = {},
): tf.Variable {
  const { fanIn, fanOut } = calculateFanInAndFanOut(v.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(v, -bound, bound, { generator });
}

/** Glorot initialisation, normal, as `torch.nn.init.xavier_normal_`. */
export function xavierNormal(
  v: tf.Variable,
  { gain = 1, generator }: InitOptions & { gain?: number } = {},
): tf.Variable {
  const { fanIn, fanOut } = calculateFanInAndFanOut(v.shape);
  return normal(v, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), { generator });
}

/**
 * PyTorch's default initialisation of a Conv2d or Linear: weight kaiming-uniform with a=√5
 * (b = 1/√fan_in), bias U(±1/√fan_in). @internal
 */
export function resetLinearLike(
  weight: tf.Variable,
  bias: tf.Variable | null,
  generator?: Generator,
): void {
  kaimingUniform(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight.shape);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -bound, bound, { generator });
  }
}

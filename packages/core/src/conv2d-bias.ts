/**
 * A 2-D convolution plus a per-channel bias as one FusedConv2D kernel whose gradient is
 * registered per input. tfjs's `fused.conv2d` wraps the kernel in `customGrad`, whose
 * gradient computes dx, dW and db together, so the first layer of every network paid for an
 * input gradient nobody asked for (4 ms of VanResNet's 59 ms training step on wasm). With a
 * registered gradient the engine evaluates only the inputs on the tape, as it does for
 * Conv2D. tfjs's own `fused.conv2d` is unaffected: kernels run inside `customGrad` are not
 * recorded.
 */
import {
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  engine,
  FusedConv2D,
  type FusedConv2DAttrs,
  registerGradient,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor4D,
} from '@tensorflow/tfjs-core';
import { formatValue, ValueError } from './errors.js';

/** Padding of {@link conv2dBias}: tfjs's names or explicit NHWC `[[0,0],[t,b],[l,r],[0,0]]`. */
export type Conv2dBiasPadding =
  | 'valid'
  | 'same'
  | [[0, 0], [number, number], [number, number], [0, 0]];

registerGradient({
  kernelName: FusedConv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved;
    const { strides, pad, dataFormat, dimRoundingMode, activation, dilations } =
      attrs as unknown as FusedConv2DAttrs;
    const undilated =
      dilations == null ||
      dilations === 1 ||
      (Array.isArray(dilations) && dilations.every((d) => d === 1));
    if (activation !== 'linear' || dataFormat !== 'NHWC' || !undilated) {
      throw new ValueError(
        `FusedConv2D's gradient covers linear, undilated NHWC convolutions, got activation ${formatValue(activation)}, dataFormat ${formatValue(dataFormat)}, dilations ${formatValue(dilations)}`,
      );
    }
    const g = dy as Tensor4D;
    return {
      x: () =>
        engine().runKernel(
          Conv2DBackpropInput,
          { dy: g, filter },
          { strides, pad, dataFormat, dimRoundingMode, inputShape: x.shape },
        ) as Tensor,
      filter: () =>
        engine().runKernel(
          Conv2DBackpropFilter,
          { x, dy: g },
          { strides, pad, dataFormat, dimRoundingMode, filterShape: filter.shape },
        ) as Tensor,
      bias: () => sum(g, [0, 1, 2]),
    };
  },
});

/**
 * `conv2d(x, filter) + bias` for an NHWC batch and an HWIO filter, in one kernel (bias added
 * in the convolution's pass), differentiable with respect to each input separately.
 */
export function conv2dBias(
  x: Tensor4D,
  filter: Tensor4D,
  bias: Tensor1D,
  strides: [number, number] | number,
  pad: Conv2dBiasPadding,
): Tensor4D {
  if (x.rank !== 4 || filter.rank !== 4 || x.shape[3] !== filter.shape[2]) {
    throw new ValueError(
      `conv2dBias: x must be NHWC and filter HWIO with x's channels as its inputs, got x ${formatValue(x.shape)} and filter ${formatValue(filter.shape)}`,
    );
  }
  if (bias.rank !== 1 || bias.shape[0] !== filter.shape[3]) {
    throw new ValueError(
      `conv2dBias: bias must have shape [${filter.shape[3]}], got ${formatValue(bias.shape)}`,
    );
  }
  const attrs = {
    strides,
    pad,
    dataFormat: 'NHWC',
    dilations: 1,
    dimRoundingMode: undefined,
    activation: 'linear',
    leakyreluAlpha: undefined,
  };
  return engine().runKernel(FusedConv2D, { x, filter, bias }, attrs as never) as Tensor4D;
}

/**
 * @resnet-ts/layers: PyTorch's layers for residual networks on TensorFlow.js kernels —
 * Conv2d, Linear, BatchNorm2d, pools, activations, Dropout, containers, residual blocks,
 * their functional forms, torch.nn.init's initialisers and the NCHW/OIHW ↔ NHWC/HWIO interop.
 * Tensors are NHWC, convolution weights HWIO, Linear weights `[in, out]`.
 */
export { LeakyReLU, ReLU } from './activation.js';
export { BatchNorm2d, type BatchNorm2dOptions } from './batch-norm.js';
export { ModuleList, Sequential } from './containers.js';
export { Conv2d, type Conv2dOptions } from './conv.js';
export { Dropout, type DropoutModuleOptions } from './dropout.js';
export { Flatten } from './flatten.js';
export type { ConvGeometry } from './functional/conv2d.js';
export {
  type AdaptiveSize,
  type AvgPool2dOptions,
  adaptiveAvgPool2d,
  avgPool2d,
  type BatchNormOptions,
  batchNorm,
  type Conv2dFunctionalOptions,
  type Conv2dPadding,
  conv2d,
  type DropoutOptions,
  dropout,
  flatten,
  leakyRelu,
  linear,
  type MaxPool2dOptions,
  maxPool2d,
  relu,
} from './functional/index.js';
export type { PoolGeometry } from './functional/pooling.js';
export { Identity } from './identity.js';
export {
  calculateFanInAndFanOut,
  calculateGain,
  constant,
  type FanMode,
  type InitOptions,
  type KaimingOptions,
  kaimingNormal,
  kaimingUniform,
  type Nonlinearity,
  normal,
  ones,
  uniform,
  xavierNormal,
  xavierUniform,
  zeros,
} from './init.js';
export {
  hwioToOihw,
  ioToOi,
  nchwFlattenOrder,
  nchwToNhwc,
  nhwcToNchw,
  oihwToHwio,
  oiToIo,
} from './interop.js';
export { Linear, type LinearOptions } from './linear.js';
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './pooling.js';
export {
  BasicBlock,
  type BlockOptions,
  Bottleneck,
  conv1x1,
  conv3x3,
  makeDownsample,
  type NormLayer,
  ResidualBlock,
} from './residual.js';
export type { Pair } from './validate.js';

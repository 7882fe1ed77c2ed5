export { leakyRelu, relu } from './activation.js';
export { type BatchNormOptions, batchNorm } from './batch-norm.js';
export { type Conv2dFunctionalOptions, type Conv2dPadding, conv2d } from './conv2d.js';
export { type DropoutOptions, dropout } from './dropout.js';
export { flatten } from './flatten.js';
export { linear } from './linear.js';
export {
  type AdaptiveSize,
  type AvgPool2dOptions,
  adaptiveAvgPool2d,
  avgPool2d,
  type MaxPool2dOptions,
  maxPool2d,
} from './pooling.js';

/**
 * Importing this module registers every gradient and chained op of tfjs-core into the
 * shared tfjs engine. tfjs-core alone registers none under Node; see
 * `scripts/bundle-gradients.mjs` for how the bundled copy is made.
 */
// tfjs-core must be evaluated before the bundled copy: whichever copy loads first creates
// the shared engine, and with the bundled copy's engine the AvgPool and FusedBatchNorm
// gradients fail when a program imports @resnet-ts/core before @tensorflow/tfjs-core.
import { getGradient, registerGradient } from '@tensorflow/tfjs-core';
import './generated/register-gradients.js';
import { maxPoolReluGradConfig } from './kernels/max-pool-relu.js';
import { reluGradConfig, reluGradGradConfig } from './kernels/relu-grad.js';

// Relu's gradient as one kernel where the backend has one (tfjs's formula elsewhere).
// Replacing tfjs's registration only logs in tfjs's debug mode.
registerGradient(reluGradConfig);
registerGradient(reluGradGradConfig);
registerGradient(maxPoolReluGradConfig);

/** True when the gradient of the named kernel (e.g. `'Conv2D'`) is registered. */
export function hasGradient(kernelName: string): boolean {
  return getGradient(kernelName) != null;
}

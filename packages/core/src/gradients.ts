/**
 * Importing this module registers every gradient and chained op of tfjs-core into the
 * shared tfjs engine. tfjs-core alone registers none under Node; see
 * `scripts/bundle-gradients.mjs` for how the bundled copy is made.
 */
import './generated/register-gradients.js';

import { getGradient } from '@tensorflow/tfjs-core';

/** True when the gradient of the named kernel (e.g. `'Conv2D'`) is registered. */
export function hasGradient(kernelName: string): boolean {
  return getGradient(kernelName) != null;
}

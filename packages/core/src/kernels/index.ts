/**
 * The kernels tfjs's wasm backend lacks or runs slowly for training convolutional networks.
 * tfjs-backend-wasm is an optional peer: they register once its own kernels exist, because
 * an override keeps the stock kernel (and its setup) to delegate to. Under Node, importing
 * this module loads tfjs-backend-wasm synchronously when it is installed, so the kernels are
 * in place as soon as `@resnet-ts/core` is imported; elsewhere (bundles) they register at
 * import when the app imported the backend first, else when `selectBackend` picks wasm, or
 * when {@link registerWasmTrainingKernels} is called.
 */
import {
  Add,
  BatchMatMul,
  Cast,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedBatchNorm,
  FusedConv2D,
  getKernel,
  Identity,
  MaxPool,
  MaxPoolGrad,
  Mean,
  Multiply,
  Relu,
  Square,
  Step,
  Sub,
  Sum,
  Tile,
} from '@tensorflow/tfjs-core';
import { ADAM_UPDATE } from './adam-update.js';
import { adamUpdateWasm } from './adam-update-wasm.js';
import { batchMatMulWasm } from './batch-mat-mul-wasm.js';
import { BATCH_MOMENTS } from './batch-moments.js';
import { batchMomentsWasm } from './batch-moments-wasm.js';
import { BATCH_NORM_GRAD } from './batch-norm-grad.js';
import { batchNormGradWasm } from './batch-norm-grad-wasm.js';
import { conv2DBackpropFilterWasm } from './conv2d-backprop-filter-wasm.js';
import { conv2DBackpropInputWasm } from './conv2d-backprop-input-wasm.js';
import { conv2DWasm, fusedConv2DWasm } from './conv2d-winograd-wasm.js';
import {
  depthwiseConv2dNativeBackpropFilterWasm,
  depthwiseConv2dNativeBackpropInputWasm,
} from './depthwise-backprop-wasm.js';
import {
  addWasm,
  multiplyWasm,
  reluWasm,
  squareWasm,
  stepWasm,
  subWasm,
} from './elementwise-wasm.js';
import { fusedBatchNormWasm } from './fused-batch-norm-wasm.js';
import { castWasm, identityWasm } from './identity-wasm.js';
import { maxPoolGradWasm, maxPoolReluGradWasm } from './max-pool-grad-wasm.js';
import { MAX_POOL_RELU, MAX_POOL_RELU_GRAD } from './max-pool-relu.js';
import { maxPoolReluWasm, maxPoolWasm } from './max-pool-wasm.js';
import { RELU_GRAD } from './relu-grad.js';
import { reluGradWasm } from './relu-grad-wasm.js';
import { SGD_UPDATE } from './sgd-update.js';
import { sgdUpdateWasm } from './sgd-update-wasm.js';
import { meanWasm, sumWasm } from './sum-wasm.js';
import { tileWasm } from './tile-wasm.js';
import { registerWasmKernel } from './wasm-util.js';

const KERNELS = [
  [Conv2D, conv2DWasm],
  [FusedConv2D, fusedConv2DWasm],
  [Conv2DBackpropFilter, conv2DBackpropFilterWasm],
  [Conv2DBackpropInput, conv2DBackpropInputWasm],
  [DepthwiseConv2dNativeBackpropInput, depthwiseConv2dNativeBackpropInputWasm],
  [DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropFilterWasm],
  [BatchMatMul, batchMatMulWasm],
  [BATCH_NORM_GRAD, batchNormGradWasm],
  [BATCH_MOMENTS, batchMomentsWasm],
  [MaxPoolGrad, maxPoolGradWasm],
  [FusedBatchNorm, fusedBatchNormWasm],
  [MaxPool, maxPoolWasm],
  [MAX_POOL_RELU, maxPoolReluWasm],
  [MAX_POOL_RELU_GRAD, maxPoolReluGradWasm],
  [Relu, reluWasm],
  [Step, stepWasm],
  [Square, squareWasm],
  [RELU_GRAD, reluGradWasm],
  [SGD_UPDATE, sgdUpdateWasm],
  [ADAM_UPDATE, adamUpdateWasm],
  [Add, addWasm],
  [Sub, subWasm],
  [Multiply, multiplyWasm],
  [Sum, sumWasm],
  [Mean, meanWasm],
  [Tile, tileWasm],
  [Identity, identityWasm],
  [Cast, castWasm],
] as const;

/** Names of the wasm kernels this package registers or replaces. */
export const wasmTrainingKernels: readonly string[] = KERNELS.map(([name]) => name);

let registered = false;

/**
 * Registers resnet-ts's wasm training kernels, once. Returns false (and registers nothing)
 * while tfjs-backend-wasm has not been loaded; `selectBackend` calls it, so only code that
 * sets the wasm backend with `tf.setBackend('wasm')` itself in a bundle that imports
 * tfjs-backend-wasm after `@resnet-ts/core` needs to.
 */
export function registerWasmTrainingKernels(): boolean {
  if (registered) return true;
  if (getKernel(Conv2D, 'wasm') == null) return false;
  for (const [name, kernel] of KERNELS) registerWasmKernel(name, kernel);
  registered = true;
  return true;
}

/**
 * Under Node, loads tfjs-backend-wasm if it is installed, from this package or from the
 * working directory. Node resolves both `import` and `require` of tfjs packages to their
 * CommonJS builds, so this is the same module (and engine) a later import gets.
 */
function loadWasmBackendUnderNode(): void {
  const proc = (globalThis as { process?: any }).process;
  if (typeof proc?.versions?.node !== 'string' || typeof proc.getBuiltinModule !== 'function') {
    return;
  }
  if ((globalThis as { window?: unknown }).window !== undefined) return;
  const { createRequire } = proc.getBuiltinModule('module');
  for (const base of [import.meta.url, `${proc.cwd()}/package.json`]) {
    const require = createRequire(base);
    let path: string;
    try {
      path = require.resolve('@tensorflow/tfjs-backend-wasm');
    } catch {
      continue;
    }
    require(path);
    return;
  }
}

loadWasmBackendUnderNode();
registerWasmTrainingKernels();

export { type AdamUpdate, type AdamUpdateOptions, adamUpdate } from './adam-update.js';
export { batchMoments } from './batch-moments.js';
export { batchNormGrad } from './batch-norm-grad.js';
export { maxPoolRelu } from './max-pool-relu.js';
export { type SgdUpdateOptions, sgdUpdate } from './sgd-update.js';

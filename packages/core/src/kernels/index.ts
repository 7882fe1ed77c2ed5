/**
 * Importing this module registers the kernels tfjs's CPU backends lack or run slowly for
 * training convolutional networks. Registration needs no initialised backend: tfjs's kernel
 * registry is global and the wasm backend looks kernels up on each call.
 */
import '@tensorflow/tfjs-backend-wasm';
import {
  BatchMatMul,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  MaxPoolGrad,
  Mean,
  Sum,
  Tile,
} from '@tensorflow/tfjs-core';
import { batchMatMulWasm } from './batch_mat_mul_wasm.js';
import { BATCH_NORM_GRAD, batchNormGradWasm } from './batch-norm-grad.js';
import { conv2DBackpropFilterWasm } from './conv2d_backprop_filter_wasm.js';
import { conv2DBackpropInputWasm } from './conv2d_backprop_input_wasm.js';
import {
  depthwiseConv2dNativeBackpropFilterWasm,
  depthwiseConv2dNativeBackpropInputWasm,
} from './depthwise-backprop-wasm.js';
import { maxPoolGradWasm } from './max_pool_grad_wasm.js';
import { meanWasm, sumWasm } from './sum_wasm.js';
import { tileWasm } from './tile_wasm.js';
import { registerWasmKernel } from './wasm_util.js';

registerWasmKernel(Conv2DBackpropFilter, conv2DBackpropFilterWasm);
registerWasmKernel(Conv2DBackpropInput, conv2DBackpropInputWasm);
registerWasmKernel(DepthwiseConv2dNativeBackpropInput, depthwiseConv2dNativeBackpropInputWasm);
registerWasmKernel(DepthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropFilterWasm);
registerWasmKernel(BatchMatMul, batchMatMulWasm);
registerWasmKernel(BATCH_NORM_GRAD, batchNormGradWasm);
registerWasmKernel(MaxPoolGrad, maxPoolGradWasm);
registerWasmKernel(Sum, sumWasm);
registerWasmKernel(Mean, meanWasm);
registerWasmKernel(Tile, tileWasm);

/** Names of the wasm kernels this package registers or replaces. */
export const wasmTrainingKernels: readonly string[] = [
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  BatchMatMul,
  BATCH_NORM_GRAD,
  MaxPoolGrad,
  Sum,
  Mean,
  Tile,
];

export { batchNormGrad } from './batch-norm-grad.js';

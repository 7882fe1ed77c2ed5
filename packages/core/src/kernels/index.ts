/**
 * Importing this module registers the kernels tfjs's CPU backends lack or run slowly for
 * training convolutional networks. Registration needs no initialised backend: tfjs's kernel
 * registry is global and the wasm backend looks kernels up on each call.
 */
import '@tensorflow/tfjs-backend-wasm';
import { Conv2DBackpropFilter } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterWasm } from './conv2d_backprop_filter_wasm.js';
import { registerWasmKernel } from './wasm_util.js';

registerWasmKernel(Conv2DBackpropFilter, conv2DBackpropFilterWasm);

/** Names of the wasm kernels this package registers or replaces. */
export const wasmTrainingKernels: readonly string[] = [Conv2DBackpropFilter];

/**
 * The tfjs backends this page offers. @resnet-ts/core's `selectBackend` uses the ones an
 * app imports (a bundle holds only what it imports), so the worker imports this first.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

export { getThreadsCount, setWasmPaths };

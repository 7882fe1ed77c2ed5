/**
 * The tfjs backends this page offers. @resnet-ts/core's `selectBackend` uses the ones an
 * app imports (a bundle holds only what it imports), so the workers import this first.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths as setTfjsWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerThreadedWasm } from './threaded-wasm.js';

export { getThreadsCount };

/** tfjs's wasm build starts a pool of 8 workers; XNNPACK cannot use more threads than that. */
const MAX_WASM_THREADS = 8;

/**
 * Tells the wasm backend where its `.wasm` files are served and, on a cross-origin isolated
 * page (the only kind with SharedArrayBuffer), makes it tfjs's threaded build on every core,
 * at most 8 (see threaded-wasm.ts for why the page sets that up itself). Call in a worker
 * before the wasm backend first starts. Returns the threads asked for: 1 when not isolated.
 */
export function setWasmPaths(paths: Record<string, string>): number {
  setTfjsWasmPaths(paths);
  if (!self.crossOriginIsolated) return 1;
  const threads = Math.min(navigator.hardwareConcurrency || 1, MAX_WASM_THREADS);
  registerThreadedWasm(paths['tfjs-backend-wasm-threaded-simd.wasm'], threads);
  return threads;
}

/**
 * The bundler's half of tfjs's threaded wasm build in this page (the rest is
 * `registerBrowserThreadedWasm` in @resnet-ts/core): Vite bundles the module factory and also
 * emits its original file beside the page, which the threads load instead of tfjs's
 * `factory.toString()` Blob, broken once minified.
 */

import { registerBrowserThreadedWasm } from '@resnet-ts/core';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import threadedFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import threadedScriptUrl from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';
import { wasmWorkerContents } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';

/**
 * Registers the `wasm` backend as tfjs's threaded SIMD build, its binary served at `wasmUrl`,
 * on `threads` threads. Call before the backend is first set.
 */
export function registerThreadedWasm(wasmUrl: string, threads: number): void {
  registerBrowserThreadedWasm({
    backend: wasmBackend,
    factory: threadedFactory,
    workerContents: wasmWorkerContents,
    scriptUrl: threadedScriptUrl,
    wasmUrl,
    threads,
  });
}

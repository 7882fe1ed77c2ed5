/**
 * tfjs's threaded wasm build in a bundled page. tfjs starts its pthread workers from a Blob of
 * its module factory's source text (`factory.toString()`), which only works unbundled: once
 * minified, that text refers to names of the bundle it was cut from, and every thread fails
 * to start. Here the threads load the factory's original file instead, served beside the
 * page, while this worker runs the bundled copy. Only for cross-origin isolated pages, where
 * SharedArrayBuffer exists.
 */
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import threadedFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import threadedScriptUrl from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js?url';
import { wasmWorkerContents } from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
import * as tf from '@tensorflow/tfjs-core';

/** The functions tfjs's backend expects on its module (as tfjs's own `init` wraps them). */
function wrapExports(module: any): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/**
 * Registers the `wasm` backend as tfjs's threaded SIMD build, its binary served at `wasmUrl`,
 * on `threads` threads (XNNPACK's pool; tfjs starts 8 workers, so at most 8 help). Call
 * before the backend is first set.
 */
export function registerThreadedWasm(wasmUrl: string, threads: number): void {
  // Emitted beside the page's other assets, unbundled; resolved here, where the threads start.
  const script = new URL(threadedScriptUrl, self.location.href).href;
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      // Emscripten keeps `\n` escapes in the worker's template literal as real newlines.
      const worker = new Blob([wasmWorkerContents.replace(/\n/g, '\\n')], {
        type: 'text/javascript',
      });
      const workerUrl = URL.createObjectURL(worker);
      // The build caps XNNPACK's pool at half the cores it is told of (one thread on a
      // 2-core machine): it is told of twice as many while the pool is made.
      const cores = navigator.hardwareConcurrency || 1;
      Object.defineProperty(navigator, 'hardwareConcurrency', {
        value: 2 * cores,
        configurable: true,
      });
      try {
        const module = await threadedFactory({
          locateFile: (path: string) => (path.endsWith('.worker.js') ? workerUrl : wasmUrl),
          mainScriptUrlOrBlob: script,
        });
        wrapExports(module);
        setThreadsCount(threads);
        return new BackendWasm(module as any);
      } finally {
        delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
      }
    },
    2,
  );
}

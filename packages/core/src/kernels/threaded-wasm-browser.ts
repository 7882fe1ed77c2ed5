/**
 * tfjs's threaded wasm build in a bundled page or worker. tfjs starts its pthread workers from
 * a Blob of its module factory's source text (`factory.toString()`), which only works
 * unbundled: once minified, that text refers to names of the bundle it was cut from, and
 * every thread fails to start. Here the threads load the factory's original file instead,
 * served beside the page, while the caller's context runs the bundled copy. Only for
 * cross-origin isolated pages, where SharedArrayBuffer exists.
 *
 * tfjs-backend-wasm is an optional peer, so nothing of it is imported here at run time: the
 * app passes in the module, the factory and the URLs its bundler gives it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';

/** The Emscripten module of tfjs's threaded build, as its factory resolves it. */
type EmscriptenWasmModule = any;

/**
 * What is used of the `@tensorflow/tfjs-backend-wasm` module, written out here so that the
 * published types do not name that optional peer: users without it still type-check.
 */
export interface WasmBackendModule {
  /** tfjs's wasm backend class, built over a ready Emscripten module. */
  BackendWasm: new (
    module: EmscriptenWasmModule,
  ) => tf.KernelBackend;
  /** Sets how many threads XNNPACK's pool uses. */
  setThreadsCount(threads: number): void;
}

/**
 * Adds the functions tfjs's backend expects on its Emscripten module (as tfjs's own `init`
 * wraps them) to a module made by hand from one of its factories.
 */
export function wrapWasmExports(module: EmscriptenWasmModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

/** Options of {@link registerBrowserThreadedWasm}: what the app's bundler provides. */
export interface BrowserThreadedWasmOptions {
  /** The `@tensorflow/tfjs-backend-wasm` module (its `BackendWasm` and `setThreadsCount`). */
  backend: WasmBackendModule;
  /** The default export of `wasm-out/tfjs-backend-wasm-threaded-simd.js`, as bundled. */
  factory: (config: Record<string, unknown>) => Promise<EmscriptenWasmModule>;
  /** `wasmWorkerContents` of `wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`. */
  workerContents: string;
  /** URL of the unbundled `tfjs-backend-wasm-threaded-simd.js`; relative to the current location. */
  scriptUrl: string;
  /** URL of `tfjs-backend-wasm-threaded-simd.wasm`. */
  wasmUrl: string;
  /** Threads for XNNPACK's pool (tfjs starts 8 workers, so at most 8 help). */
  threads: number;
  /** Backend priority for tfjs's automatic choice; default 2 (wasm's own). */
  priority?: number;
}

/**
 * Registers the `wasm` backend as tfjs's threaded SIMD build on `threads` threads, in a
 * browser page or worker that is cross-origin isolated. Call before the backend is first set.
 */
export function registerBrowserThreadedWasm(options: BrowserThreadedWasmOptions): void {
  const { backend, factory, workerContents, wasmUrl, threads } = options;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ValueError(
      `registerBrowserThreadedWasm: threads must be an integer >= 1, got ${threads}`,
    );
  }
  // Resolved here, where the threads start: they load it by absolute URL from a blob: worker.
  const script = new URL(options.scriptUrl, self.location.href).href;
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      // Emscripten keeps `\n` escapes in the worker's template literal as real newlines.
      const worker = new Blob([workerContents.replace(/\n/g, '\\n')], {
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
        const module = await factory({
          locateFile: (path: string) => (path.endsWith('.worker.js') ? workerUrl : wasmUrl),
          mainScriptUrlOrBlob: script,
        });
        wrapWasmExports(module);
        backend.setThreadsCount(threads);
        return new backend.BackendWasm(module);
      } finally {
        delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
      }
    },
    options.priority ?? 2,
  );
}

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValueError } from '../errors.js';
import {
  type BrowserThreadedWasmOptions,
  registerBrowserThreadedWasm,
} from './threaded-wasm-browser.js';

/** What the fake factory and backend saw, for the test to check. */
function fakes() {
  const seen: {
    config?: Record<string, any>;
    coresDuring?: number;
    threads?: number;
    module?: any;
  } = {};
  const factory = async (config: Record<string, unknown>) => {
    seen.config = config;
    seen.coresDuring = navigator.hardwareConcurrency;
    return { cwrap: (name: string) => `wrapped ${name}` };
  };
  class BackendWasm {
    constructor(module: unknown) {
      seen.module = module;
    }
  }
  const backend = {
    BackendWasm,
    setThreadsCount: (n: number) => {
      seen.threads = n;
    },
  } as unknown as BrowserThreadedWasmOptions['backend'];
  return { seen, factory, backend };
}

describe('registerBrowserThreadedWasm', () => {
  afterEach(() => {
    if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
    vi.unstubAllGlobals();
  });

  it('starts the threads from the given files, on twice the cores while the pool is made', async () => {
    // In a browser hardwareConcurrency is Navigator.prototype's getter.
    vi.stubGlobal('navigator', Object.create({ hardwareConcurrency: 2 }));
    vi.stubGlobal('self', { location: { href: 'https://example.test/app/index.html' } });
    const { seen, factory, backend } = fakes();
    registerBrowserThreadedWasm({
      backend,
      factory,
      workerContents: 'postMessage("a\nb")',
      scriptUrl: 'assets/threaded.js',
      wasmUrl: 'https://example.test/app/assets/threaded.wasm',
      threads: 3,
    });
    const instance = await tf.findBackendFactory('wasm')!();
    expect(instance).toBeInstanceOf(backend.BackendWasm);
    expect(seen.config!.mainScriptUrlOrBlob).toBe('https://example.test/app/assets/threaded.js');
    expect(seen.config!.locateFile('tfjs-backend-wasm-threaded-simd.wasm')).toBe(
      'https://example.test/app/assets/threaded.wasm',
    );
    const worker: string = seen.config!.locateFile('tfjs-backend-wasm-threaded-simd.worker.js');
    expect(worker.startsWith('blob:')).toBe(true);
    expect(seen.coresDuring).toBe(4);
    expect(navigator.hardwareConcurrency).toBe(2);
    expect(seen.threads).toBe(3);
    expect(seen.module.tfjs.getThreadsCount).toBe('wrapped get_threads_count');
    expect(seen.module.tfjs.initWithThreadsCount).toBe('wrapped init_with_threads_count');
  });

  it('refuses a thread count that is not a positive integer, naming it', () => {
    const { factory, backend } = fakes();
    const register = (threads: number) => () =>
      registerBrowserThreadedWasm({
        backend,
        factory,
        workerContents: '',
        scriptUrl: 'a.js',
        wasmUrl: 'a.wasm',
        threads,
      });
    for (const threads of [0, 1.5, Number.NaN]) expect(register(threads)).toThrow(ValueError);
    expect(register(0)).toThrow('threads must be an integer >= 1, got 0');
    expect(tf.findBackendFactory('wasm')).toBeNull();
  });
});

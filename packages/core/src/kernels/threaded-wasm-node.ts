/**
 * tfjs's multi-threaded wasm build under Node. tfjs never selects it there (its feature flag
 * says no under Node), and loading it by hand fails twice: the pthread worker is handed to
 * Node's Worker as a `blob:` URL (ERR_WORKER_PATH), and the thread pool is capped at half the
 * logical cores, which is one thread on a 2-core machine. Here the worker script is written
 * to a temporary file, the main script is given by path, and the core count is doubled while
 * the module initialises so that the cap becomes the real core count.
 *
 * Node-only (it writes a file and spawns workers): exported from `@resnet-ts/core/node`, and
 * loaded by `selectBackend({ threads })` under Node only.
 */
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { ResnetError } from '../errors.js';
import { wrapWasmExports } from './threaded-wasm-browser.js';

/**
 * Node's built-ins, imported on first use with a computed specifier: `selectBackend` (in the
 * browser entry) loads this module only under Node, and bundlers leave these imports alone.
 */
interface NodeParts {
  require: NodeJS.Require;
  writeFileSync: typeof import('node:fs').writeFileSync;
  os: typeof import('node:os');
  join: typeof import('node:path').join;
  dirname: typeof import('node:path').dirname;
}
let nodeParts: NodeParts | undefined;
async function node(): Promise<NodeParts> {
  if (!nodeParts) {
    const builtin = (name: string) => import(/* @vite-ignore */ `node:${name}`);
    const [fs, module, os, path] = await Promise.all(['fs', 'module', 'os', 'path'].map(builtin));
    nodeParts = {
      require: module.createRequire(import.meta.url),
      writeFileSync: fs.writeFileSync,
      os: os.default ?? os,
      join: path.join,
      dirname: path.dirname,
    };
  }
  return nodeParts;
}

/**
 * tfjs-backend-wasm, an optional peer, loaded when first needed so `@resnet-ts/core/node`
 * imports without it. Node gives `require` and `import` the same (CommonJS) module.
 */
function wasmBackend({ require }: NodeParts): typeof WasmBackend {
  try {
    return require('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new ResnetError(
      'useThreadedWasm needs @tensorflow/tfjs-backend-wasm, which is not installed: npm i @tensorflow/tfjs-backend-wasm',
    );
  }
}

/** Options of {@link useThreadedWasm}. */
export interface ThreadedWasmOptions {
  /** Threads for XNNPACK's pool; default every logical core (at most 8, tfjs's worker pool). */
  threads?: number;
  /** Backend priority for tfjs's automatic choice; default 3 (above wasm's 2). */
  priority?: number;
}

type WasmFactory = (config: Record<string, unknown>) => Promise<any>;

async function instantiate(n: NodeParts, threads: number): Promise<BackendWasm> {
  const { require, join, dirname, os } = n;
  wasmBackend(n);
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const outDir = join(pkgDir, 'wasm-out');
  const mainScript = join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as WasmFactory;
  const { wasmWorkerContents } = require(join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js'));
  // The worker source is kept in a template literal whose `\n` escapes became newlines.
  const workerFile = join(os.tmpdir(), `resnet-ts-tfjs-wasm-worker-${process.pid}.cjs`);
  n.writeFileSync(workerFile, (wasmWorkerContents as string).replace(/\n/g, '\\n'));

  // The same object Emscripten's `require('os')` returns, so the patch is seen there.
  const osModule = require('node:os') as typeof os;
  const cpus = osModule.cpus;
  osModule.cpus = () => [...cpus(), ...cpus()];
  let module: any;
  try {
    module = await factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerFile : join(outDir, file)),
      mainScriptUrlOrBlob: mainScript,
    });
  } finally {
    osModule.cpus = cpus;
  }
  wrapWasmExports(module);
  const { BackendWasm, setThreadsCount } = wasmBackend(n);
  setThreadsCount(threads);
  return new BackendWasm(module);
}

/**
 * Replaces the registered `wasm` backend with tfjs's threaded build, so XNNPACK's
 * convolutions and matrix products use several cores, and makes it the current backend.
 * Call before creating tensors on wasm. Resolves to the number of threads in use.
 */
export async function useThreadedWasm(options: ThreadedWasmOptions = {}): Promise<number> {
  const n = await node();
  const threads = options.threads ?? Math.min(n.os.cpus().length, 8);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`useThreadedWasm: threads must be an integer >= 1, got ${threads}`);
  }
  wasmBackend(n);
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => instantiate(n, threads), options.priority ?? 3);
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('useThreadedWasm: the threaded wasm backend failed to initialise');
  releaseEventLoop((tf.backend() as unknown as { wasm: EmscriptenModule }).wasm);
  return wasmBackend(n).getThreadsCount();
}

/** The part of an Emscripten pthreads module that holds its Node workers. */
interface EmscriptenModule {
  PThread?: { runningWorkers: NodeWorker[]; unusedWorkers: NodeWorker[] };
}
interface NodeWorker {
  unref?: () => void;
}

/**
 * XNNPACK's thread pool parks its pthreads in Node workers that Emscripten keeps referenced,
 * so a program that used them would never exit once its work is done. Unreferenced, they
 * still run every kernel but no longer hold the process open.
 */
function releaseEventLoop(module: EmscriptenModule): void {
  const pool = module.PThread;
  if (pool == null) return;
  for (const worker of [...pool.runningWorkers, ...pool.unusedWorkers]) worker.unref?.();
}

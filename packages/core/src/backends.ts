import * as tf from '@tensorflow/tfjs-core';
import { ResnetError } from './errors.js';
import { registerWasmTrainingKernels } from './kernels/index.js';
import { detectWasmFeatures, formatWasmFeatures, type WasmFeatures } from './wasm-features.js';

/** A TensorFlow.js backend resnet-ts knows how to set up. */
export type BackendName = 'tensorflow' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every backend name, for validating user input. */
export const BACKEND_NAMES: readonly BackendName[] = [
  'tensorflow',
  'webgpu',
  'webgl',
  'wasm',
  'cpu',
];

/** One backend that {@link selectBackend} tried: whether it is usable, and why (not). */
export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

/** The outcome of {@link selectBackend}: the active backend and every attempt in order. */
export interface BackendSelection {
  name: BackendName;
  tried: BackendAttempt[];
  /** Threads the wasm backend computes on, when wasm was picked under Node. */
  threads?: number;
  /** The WebAssembly extensions this runtime compiles, when wasm was picked. */
  wasmFeatures?: WasmFeatures;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Backends to try, in order; defaults to {@link defaultBackendOrder}. */
  prefer?: readonly BackendName[];
  /**
   * Accept a software WebGPU adapter (SwiftShader, `isFallbackAdapter`). Such an adapter
   * trains slower than wasm, so the automatic choice in Node skips it; in browsers, and
   * whenever `prefer` is given, it is accepted.
   */
  allowSoftwareWebGPU?: boolean;
  /** Where the wasm backend finds its `.wasm` files (browsers); see tfjs `setWasmPaths`. */
  wasmPaths?: string | Record<string, string>;
  /**
   * Threads for the wasm backend under Node: more than 1 (or `'all'`: every logical core, at
   * most 8) runs tfjs's threaded build through `useThreadedWasm`. Default 1, the
   * single-threaded build. Browsers pick their build themselves (threads need cross-origin
   * isolation), so it is ignored there, as by every other backend.
   */
  threads?: number | 'all';
}

/** True under Node.js (not a browser or web worker). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return (
    typeof p?.versions?.node === 'string' &&
    typeof (globalThis as { window?: unknown }).window === 'undefined'
  );
}

/** The order {@link selectBackend} tries backends in on this platform. */
export function defaultBackendOrder(): BackendName[] {
  return isNode() ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

class Skip extends Error {}

/** Node built-ins, loaded only on the Node paths so browser bundles never see them. */
async function nodeBuiltin(name: string): Promise<Record<string, any>> {
  return import(/* @vite-ignore */ `node:${name}`);
}

/**
 * Where an optional package the user may have installed resolves under Node, as a file URL:
 * from this package and, failing that, from the current working directory (where an
 * application's own dependencies live). Throws Skip when it is not installed.
 */
async function resolveOptional(specifier: string): Promise<string> {
  const { createRequire } = await nodeBuiltin('module');
  const { pathToFileURL } = await nodeBuiltin('url');
  const cwd = (globalThis as any).process.cwd();
  for (const base of [import.meta.url, `${cwd}/package.json`]) {
    try {
      return pathToFileURL(createRequire(base).resolve(specifier)).href;
    } catch {}
  }
  throw new Skip(`${specifier} is not installed`);
}

/**
 * Imports an optional package the user may have installed. The specifier is a variable so
 * bundlers leave it alone; under Node it is resolved as {@link resolveOptional} says.
 */
async function importOptional(specifier: string): Promise<Record<string, any>> {
  try {
    return await import(/* @vite-ignore */ specifier);
  } catch (err) {
    if (!isNode() || !isModuleNotFound(err)) throw err;
  }
  return import(/* @vite-ignore */ await resolveOptional(specifier));
}

/** What a WebGPU adapter says of itself. */
interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

const PROBE_SCRIPT = `
const { create, globals } = await import(process.argv[1]);
Object.assign(globalThis, globals);
const a = await create([]).requestAdapter();
const i = a?.info ?? {};
process.stdout.write(JSON.stringify(a && { vendor: i.vendor, architecture: i.architecture,
  description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter }));
process.exit(0);`;

/**
 * Asks the `webgpu` package for an adapter in a child process. Dawn's Vulkan drivers print
 * to the process's stderr while they look (and a broken driver can crash the process), so
 * the look happens where neither reaches the user; Dawn is loaded here only when an adapter
 * worth using exists.
 */
async function probeNodeWebGPU(): Promise<AdapterInfo | null> {
  let url: string;
  try {
    url = await resolveOptional('webgpu');
  } catch {
    throw new Skip('the optional `webgpu` package (Dawn for Node) is not installed: npm i webgpu');
  }
  const { execFile } = await nodeBuiltin('child_process');
  const node = (globalThis as any).process.execPath;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      node,
      ['--input-type=module', '-e', PROBE_SCRIPT, url],
      { timeout: 60_000, encoding: 'utf8' },
      (err: Error | null, out: string) => (err ? reject(err) : resolve(out)),
    );
  }).catch((err: Error) => {
    throw new Skip(`probing for a WebGPU adapter failed: ${err.message.split('\n')[0]}`);
  });
  return JSON.parse(stdout.trim() || 'null') as AdapterInfo | null;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return (
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)/.test(String((err as Error)?.message))
  );
}

async function setUpTensorflow(): Promise<string> {
  const missing: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
    } catch (err) {
      if (err instanceof Skip) {
        missing.push(pkg);
        continue;
      }
      throw new Skip(`${pkg} is installed but failed to load: ${(err as Error).message}`);
    }
    if (!tf.findBackendFactory('tensorflow')) {
      throw new Skip(`${pkg} loaded but registered no 'tensorflow' backend (version mismatch?)`);
    }
    return pkg === '@tensorflow/tfjs-node-gpu' ? 'libtensorflow with CUDA' : 'libtensorflow on CPU';
  }
  throw new Skip(
    `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed: npm i @tensorflow/tfjs-node-gpu (CUDA GPUs) or npm i @tensorflow/tfjs-node`,
  );
}

function isSoftwareAdapter(info: AdapterInfo): boolean {
  return (
    info.isFallbackAdapter === true ||
    /swiftshader/i.test(`${info.architecture} ${info.description}`)
  );
}

function describeAdapter(info: AdapterInfo): string {
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
}

async function setUpWebGPU(allowSoftware: boolean): Promise<string> {
  const g = globalThis as any;
  const check = (info: AdapterInfo | null): AdapterInfo => {
    if (!info) throw new Skip('no WebGPU adapter (no supported GPU or driver found)');
    if (isSoftwareAdapter(info) && !allowSoftware) {
      throw new Skip(
        `only a software WebGPU adapter (${describeAdapter(info) || 'fallback adapter'}), slower than wasm; ask for webgpu explicitly to use it`,
      );
    }
    return info;
  };
  if (!g.navigator?.gpu) {
    if (!isNode()) throw new Skip('this browser exposes no WebGPU (navigator.gpu is missing)');
    check(await probeNodeWebGPU());
    const webgpu = await importOptional('webgpu').catch((err: Error) => {
      throw new Skip(`the \`webgpu\` package failed to load: ${err.message}`);
    });
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else g.navigator = { gpu };
  }
  const adapter = await g.navigator.gpu.requestAdapter();
  const raw = adapter?.info ?? {};
  // GPUAdapterInfo exposes its fields as prototype getters, which a spread would miss.
  const info: AdapterInfo | null = adapter && {
    vendor: raw.vendor,
    architecture: raw.architecture,
    description: raw.description,
    isFallbackAdapter: raw.isFallbackAdapter ?? adapter.isFallbackAdapter,
  };
  const usable = check(info);
  await loadBackendPackage('webgpu');
  if (!tf.findBackendFactory('webgpu')) {
    throw new Skip('@tensorflow/tfjs-backend-webgpu was loaded before WebGPU was available');
  }
  return `${isSoftwareAdapter(usable) ? 'software adapter' : 'GPU adapter'}: ${describeAdapter(usable) || 'unknown'}`;
}

/** The npm package that provides each tfjs backend resnet-ts can set up itself. */
export const BACKEND_PACKAGES: Readonly<Record<Exclude<BackendName, 'tensorflow'>, string>> = {
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/**
 * Loads the package of a tfjs backend, which the user installs (they are optional peer
 * dependencies). Under Node it is imported from wherever it is installed; in a browser
 * bundle the app imports it itself (a bundler cannot include a package that may be
 * absent), so one already registered is used as it is. Returns the module when it could be
 * imported, null when the backend was registered by the app's own import.
 */
async function loadBackendPackage(
  name: Exclude<BackendName, 'tensorflow'>,
  { needModule = false } = {},
): Promise<Record<string, any> | null> {
  const pkg = BACKEND_PACKAGES[name];
  if (!needModule && tf.findBackendFactory(name)) return null;
  try {
    return await importOptional(pkg);
  } catch (err) {
    if (!needModule && tf.findBackendFactory(name)) return null;
    if (!isNode()) {
      throw new Skip(`${pkg} is not part of this app: npm i ${pkg}, then import '${pkg}' in it`);
    }
    if (err instanceof Skip || isModuleNotFound(err)) {
      throw new Skip(`${pkg} is not installed: npm i ${pkg}`);
    }
    throw new Skip(`${pkg} is installed but failed to load: ${(err as Error)?.message ?? err}`);
  }
}

async function setUpWebGL(): Promise<string> {
  await loadBackendPackage('webgl');
  return 'WebGL';
}

async function setUpWasm(
  wasmPaths: SelectBackendOptions['wasmPaths'],
  threads: SelectBackendOptions['threads'] = 1,
  ranOn: (threads: number) => void = () => {},
): Promise<string> {
  const wasm = await loadBackendPackage('wasm', { needModule: wasmPaths !== undefined }).catch(
    (err: unknown) => {
      if (wasmPaths !== undefined && tf.findBackendFactory('wasm')) {
        throw new Skip(
          "wasmPaths needs @tensorflow/tfjs-backend-wasm's module, which this bundle's @resnet-ts/core cannot import: call its setWasmPaths yourself",
        );
      }
      throw err;
    },
  );
  if (wasm && wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths as any);
  if (!registerWasmTrainingKernels()) {
    throw new Skip('the wasm backend registered no kernels (version mismatch?)');
  }
  if (threads !== 1 && isNode()) {
    const { useThreadedWasm } = await import('./kernels/threaded-wasm-node.js');
    const count = await useThreadedWasm({ threads: threads === 'all' ? undefined : threads });
    ranOn(count);
    return `XNNPACK on ${count} thread${count === 1 ? '' : 's'} with resnet-ts training kernels`;
  }
  if (isNode()) ranOn(1);
  return 'XNNPACK with resnet-ts training kernels';
}

async function setUpCpu(): Promise<string> {
  await loadBackendPackage('cpu');
  return 'plain JavaScript kernels';
}

/** Runs one tiny op so a backend that initialises but cannot compute is caught here. */
async function smokeTest(): Promise<void> {
  const t = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), tf.scalar(1)));
  const v = await t.data();
  t.dispose();
  if (v[0] !== 2 || v[1] !== 3) throw new Skip(`computed ${Array.from(v)} for [1,2]+1`);
}

/**
 * Picks the best backend this platform offers and makes it active, trying each in order —
 * Node: `tensorflow` (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, if the user
 * installed one), `webgpu` (the optional `webgpu` package), `wasm`, `cpu`; browsers:
 * `webgpu`, `webgl`, `wasm`, `cpu` — and reports every attempt with a reason a user can
 * act on. Pass a list (or `{ prefer }`) to force an order or a single backend.
 *
 * @example
 * const { name, tried } = await selectBackend();
 * console.log(formatBackendReport({ name, tried }));
 */
export async function selectBackend(
  preferences?: readonly BackendName[] | SelectBackendOptions,
): Promise<BackendSelection> {
  const opts: SelectBackendOptions = Array.isArray(preferences)
    ? { prefer: preferences as BackendName[] }
    : ((preferences as SelectBackendOptions | undefined) ?? {});
  const order = opts.prefer ?? defaultBackendOrder();
  const { threads } = opts;
  if (threads !== undefined && threads !== 'all' && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(
      `threads must be a whole number >= 1 or 'all', got ${JSON.stringify(threads)}`,
    );
  }
  for (const name of order) {
    if (!BACKEND_NAMES.includes(name)) {
      throw new RangeError(
        `unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}`,
      );
    }
  }
  const allowSoftware = opts.allowSoftwareWebGPU ?? (opts.prefer !== undefined || !isNode());
  const tried: BackendAttempt[] = [];
  let wasmThreads: number | undefined;
  for (const name of order) {
    try {
      if (name === 'tensorflow' && !isNode()) throw new Skip('only available in Node');
      if (name === 'webgl' && isNode()) throw new Skip('only available in browsers');
      const detail =
        name === 'tensorflow'
          ? await setUpTensorflow()
          : name === 'webgpu'
            ? await setUpWebGPU(allowSoftware)
            : name === 'webgl'
              ? await setUpWebGL()
              : name === 'wasm'
                ? await setUpWasm(opts.wasmPaths, threads, (n) => {
                    wasmThreads = n;
                  })
                : await setUpCpu();
      if (!(await tf.setBackend(name))) throw new Skip('failed to initialise');
      quietFirstUseNotice();
      await smokeTest();
      tried.push({ name, ok: true, reason: detail });
      if (name !== 'wasm') return { name, tried };
      return {
        name,
        tried,
        ...(wasmThreads !== undefined && { threads: wasmThreads }),
        wasmFeatures: detectWasmFeatures(),
      };
    } catch (err) {
      const reason =
        err instanceof Skip ? err.message : `failed: ${(err as Error)?.message ?? err}`;
      tried.push({ name, ok: false, reason });
    }
  }
  throw new Error(
    `no usable backend among ${order.join(', ')}:\n${tried.map((t) => `  ${t.name}: ${t.reason}`).join('\n')}`,
  );
}

/**
 * tfjs's cpu backend prints an advert for tfjs-node on first use under Node; the backend
 * report already says why cpu was chosen.
 */
function quietFirstUseNotice(): void {
  const backend = tf.backend() as { firstUse?: boolean };
  if (backend && 'firstUse' in backend) backend.firstUse = false;
}

/** Renders a selection as lines: the picked backend first, then each skipped one. */
export function formatBackendReport(selection: BackendSelection): string {
  const lines = [];
  for (const t of selection.tried) {
    lines.push(
      `  ${t.ok ? '✓' : '✗'} ${t.name.padEnd(10)} ${t.ok ? 'picked: ' : 'skipped: '}${t.reason}`,
    );
  }
  if (selection.wasmFeatures) lines.push(`  ${formatWasmFeatures(selection.wasmFeatures)}`);
  return `backend: ${selection.name}\n${lines.join('\n')}`;
}

/**
 * Throws a {@link ResnetError} that says to `await selectBackend()` when tfjs has no backend
 * that can run an op right now: none is installed, or the best one (wasm, webgpu) starts
 * asynchronously and nobody awaited it. `what` names the thing that needed the backend.
 */
export function assertBackendReady(what: string): void {
  try {
    tf.backend();
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    if (!/not yet been initialized|No backend found/.test(message)) throw err;
    throw new ResnetError(
      `${what} needs a TensorFlow.js backend, and none is ready yet: \`await selectBackend()\` (from @resnet-ts/core) before building or running modules (tfjs said: ${message})`,
    );
  }
}

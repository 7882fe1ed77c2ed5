import * as tf from '@tensorflow/tfjs-core';

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

/**
 * Imports an optional package the user may have installed. The specifier is a variable so
 * bundlers leave it alone; under Node it is resolved from the package and, failing that,
 * from the current working directory (where an application's own dependencies live).
 */
async function importOptional(specifier: string): Promise<Record<string, any>> {
  try {
    return await import(/* @vite-ignore */ specifier);
  } catch (err) {
    if (!isNode() || !isModuleNotFound(err)) throw err;
  }
  const nodeModule = 'node:module';
  const nodeUrl = 'node:url';
  const { createRequire } = await import(/* @vite-ignore */ nodeModule);
  const { pathToFileURL } = await import(/* @vite-ignore */ nodeUrl);
  const cwd = (globalThis as any).process.cwd();
  let resolved: string;
  try {
    resolved = createRequire(`${cwd}/package.json`).resolve(specifier);
  } catch {
    throw new Skip(`${specifier} is not installed`);
  }
  return import(/* @vite-ignore */ pathToFileURL(resolved).href);
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
    `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed (install @tensorflow/tfjs-node-gpu for CUDA GPUs)`,
  );
}

interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

async function setUpWebGPU(allowSoftware: boolean): Promise<string> {
  const g = globalThis as any;
  if (!g.navigator?.gpu) {
    if (!isNode()) throw new Skip('this browser exposes no WebGPU (navigator.gpu is missing)');
    let webgpu: Record<string, any>;
    try {
      webgpu = await importOptional('webgpu');
    } catch (err) {
      if (err instanceof Skip) {
        throw new Skip(
          'the optional `webgpu` package (Dawn for Node) is not installed: npm i webgpu',
        );
      }
      throw new Skip(`the \`webgpu\` package failed to load: ${(err as Error).message}`);
    }
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else g.navigator = { gpu };
  }
  const adapter = (await g.navigator.gpu.requestAdapter()) as GpuAdapterLike | null;
  if (!adapter) throw new Skip('no WebGPU adapter (no supported GPU or driver found)');
  const info = adapter.info ?? {};
  const software =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    /swiftshader/i.test(`${info.architecture} ${info.description}`);
  const described = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  if (software && !allowSoftware) {
    throw new Skip(
      `only a software WebGPU adapter (${described || 'fallback adapter'}), slower than wasm; ask for webgpu explicitly to use it`,
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu')) {
    throw new Skip('@tensorflow/tfjs-backend-webgpu was loaded before WebGPU was available');
  }
  return `${software ? 'software adapter' : 'GPU adapter'}: ${described || 'unknown'}`;
}

async function setUpWebGL(): Promise<string> {
  await import('@tensorflow/tfjs-backend-webgl');
  return 'WebGL';
}

async function setUpWasm(wasmPaths: SelectBackendOptions['wasmPaths']): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths as any);
  return 'XNNPACK with resnet-ts training kernels';
}

async function setUpCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
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
  for (const name of order) {
    if (!BACKEND_NAMES.includes(name)) {
      throw new RangeError(
        `unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}`,
      );
    }
  }
  const allowSoftware = opts.allowSoftwareWebGPU ?? (opts.prefer !== undefined || !isNode());
  const tried: BackendAttempt[] = [];
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
                ? await setUpWasm(opts.wasmPaths)
                : await setUpCpu();
      if (!(await tf.setBackend(name))) throw new Skip('failed to initialise');
      quietFirstUseNotice();
      await smokeTest();
      tried.push({ name, ok: true, reason: detail });
      return { name, tried };
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
  return `backend: ${selection.name}\n${lines.join('\n')}`;
}

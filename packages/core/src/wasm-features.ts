/**
 * Which WebAssembly extensions this runtime compiles, found by validating tiny modules that
 * use them: nothing is instantiated or run, and it costs microseconds.
 */

/** What {@link detectWasmFeatures} found. */
export interface WasmFeatures {
  /** 128-bit SIMD (Node 16.4+, every current browser): tfjs picks its SIMD build with it. */
  simd: boolean;
  /**
   * Relaxed SIMD (fused multiply-add among others): Node 22+, Chrome 114+; Node 20 only
   * with `--experimental-wasm-relaxed-simd`.
   */
  relaxedSimd: boolean;
  /**
   * Shared memory and a `SharedArrayBuffer` to hold it: what tfjs's threaded build needs
   * (browsers expose it only to cross-origin isolated pages).
   */
  threads: boolean;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
// One function (v128, v128, v128) -> v128.
const V128_FUNC = [
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
];
/** Its body: f32x4.add of the first two arguments. */
const SIMD_MODULE = [
  ...HEADER,
  ...V128_FUNC,
  ...[0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0xe4, 0x01, 0x0b],
];
/** Its body: f32x4.relaxed_madd of the three arguments. */
const RELAXED_SIMD_MODULE = [
  ...HEADER,
  ...V128_FUNC,
  ...[0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b],
];
/** A shared memory of one page. */
const SHARED_MEMORY_MODULE = [...HEADER, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01];

function validates(bytes: number[]): boolean {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (wasm === undefined) return false;
  try {
    return wasm.validate(new Uint8Array(bytes));
  } catch {
    return false;
  }
}

/**
 * Asks this runtime which WebAssembly extensions it compiles. Not cached: V8 flags set while
 * the process runs (`v8.setFlagsFromString`) change the answer.
 */
export function detectWasmFeatures(): WasmFeatures {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  return {
    simd: validates(SIMD_MODULE),
    relaxedSimd: validates(RELAXED_SIMD_MODULE),
    threads:
      typeof g.SharedArrayBuffer === 'function' &&
      g.crossOriginIsolated !== false &&
      validates(SHARED_MEMORY_MODULE),
  };
}

/**
 * One line for a backend report: which extensions the wasm backend can use here and how to
 * get relaxed SIMD where it is missing.
 */
export function formatWasmFeatures(f: WasmFeatures): string {
  const yes = (v: boolean) => (v ? 'yes' : 'no');
  const isNode =
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
      ?.node === 'string';
  const hint =
    f.relaxedSimd || !f.simd
      ? ''
      : isNode
        ? ' (Node 22+, or Node 20 with --experimental-wasm-relaxed-simd)'
        : ' (Chrome 114+)';
  return `wasm features: SIMD ${yes(f.simd)}, relaxed SIMD ${yes(f.relaxedSimd)}${hint}, threads ${yes(f.threads)}`;
}

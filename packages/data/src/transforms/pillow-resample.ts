import { filterWindows } from './filter-windows.js';
import { PILLOW_RESAMPLE_WASM } from './pillow-resample-wasm.js';
import type { ResizeInterpolation } from './resample.js';

/**
 * Pillow's fixed point (`PRECISION_BITS` in Resample.c): filter weights scaled by 2^22, so a
 * byte times the weights of one output value stays below 2^31.
 */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

/** The taps of one axis: output `o` sums `size[o]` inputs from `first[o]` with `taps` weights each. */
interface FixedTaps {
  taps: number;
  first: Int32Array;
  size: Int32Array;
  weight: Int32Array;
}

/**
 * Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`: the normalised windows, rounded
 * to fixed point.
 */
function fixedTaps(inSize: number, outSize: number, interp: ResizeInterpolation): FixedTaps {
  const { taps, first, size, weight } = filterWindows(inSize, outSize, interp, inSize / outSize);
  const fixed = new Int32Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    const k = weight[i] * (1 << PRECISION_BITS);
    fixed[i] = Math.trunc(k < 0 ? k - 0.5 : k + 0.5);
  }
  return { taps, first, size, weight: fixed };
}

let scratch = new Uint8ClampedArray(0);

/** A reused intermediate buffer of at least `n` bytes: one per thread, never handed out. */
function scratchBytes(n: number): Uint8ClampedArray {
  if (scratch.length < n) scratch = new Uint8ClampedArray(Math.max(n, scratch.length * 2));
  return scratch;
}

/**
 * The horizontal pass: rows `rowFirst..rowFirst+rows` of the window at (`top`, `left`) of
 * `src` (`stride` values a row, `c` channels) resampled across to `t.first.length` columns,
 * written as bytes to `out`, Pillow's `ImagingResampleHorizontal_8bpc`.
 */
function across(
  src: Uint8Array,
  stride: number,
  top: number,
  left: number,
  rows: number,
  c: number,
  t: FixedTaps,
  out: Uint8ClampedArray,
): void {
  const outW = t.first.length;
  const { taps, first, size, weight } = t;
  let d = 0;
  for (let y = 0; y < rows; y++) {
    const base = (top + y) * stride + left * c;
    if (c === 3) {
      for (let x = 0; x < outW; x++) {
        const n = size[x];
        const o = x * taps;
        let s = base + first[x] * 3;
        let a0 = HALF;
        let a1 = HALF;
        let a2 = HALF;
        for (let j = 0; j < n; j++) {
          const k = weight[o + j];
          a0 += src[s] * k;
          a1 += src[s + 1] * k;
          a2 += src[s + 2] * k;
          s += 3;
        }
        out[d] = a0 >> PRECISION_BITS;
        out[d + 1] = a1 >> PRECISION_BITS;
        out[d + 2] = a2 >> PRECISION_BITS;
        d += 3;
      }
    } else {
      for (let x = 0; x < outW; x++) {
        const n = size[x];
        const o = x * taps;
        for (let ch = 0; ch < c; ch++) {
          let acc = HALF;
          let s = base + first[x] * c + ch;
          for (let j = 0; j < n; j++) {
            acc += src[s] * weight[o + j];
            s += c;
          }
          out[d++] = acc >> PRECISION_BITS;
        }
      }
    }
  }
}

/**
 * Where the vertical pass puts its bytes: `out[y * rowLength + x] = v`, or, fused with a
 * flip and a per-channel lookup (ToTensor + Normalize), `floats` at the mirrored column.
 */
export interface ResampleSink {
  /** Per-channel tables mapping a byte to its float value; with them the output is float32. */
  tables?: readonly Float32Array[];
  /** Mirror left to right. */
  flip?: boolean;
  /** Where to write the floats when it has exactly their length; a new array otherwise. */
  out?: Float32Array;
}

/**
 * The vertical pass over `rowLength`-value rows of `src` (the horizontal result), Pillow's
 * `ImagingResampleVertical_8bpc`, rounding each value to a byte as Pillow does; with a sink,
 * each byte is looked up and stored at its (mirrored) place instead.
 */
function down(
  src: Uint8ClampedArray,
  rowLength: number,
  c: number,
  t: FixedTaps,
  sink: ResampleSink,
): Uint8Array | Float32Array {
  const outH = t.first.length;
  const { taps, first, size, weight } = t;
  const tables = sink.tables;
  const bytes = tables ? scratchRow(rowLength) : new Uint8ClampedArray(outH * rowLength);
  const floats = tables ? floatsFor(outH * rowLength, sink.out) : undefined;
  const k = new Int32Array(taps);
  const outW = rowLength / c;
  for (let y = 0; y < outH; y++) {
    const n = size[y];
    for (let j = 0; j < n; j++) k[j] = weight[y * taps + j];
    const from = first[y] * rowLength;
    const d = tables ? 0 : y * rowLength;
    if (n === 2) {
      const k0 = k[0];
      const k1 = k[1];
      for (let x = 0, s = from; x < rowLength; x++, s++) {
        bytes[d + x] = (HALF + src[s] * k0 + src[s + rowLength] * k1) >> PRECISION_BITS;
      }
    } else if (n === 3) {
      const k0 = k[0];
      const k1 = k[1];
      const k2 = k[2];
      const r2 = 2 * rowLength;
      for (let x = 0, s = from; x < rowLength; x++, s++) {
        bytes[d + x] =
          (HALF + src[s] * k0 + src[s + rowLength] * k1 + src[s + r2] * k2) >> PRECISION_BITS;
      }
    } else {
      for (let x = 0; x < rowLength; x++) {
        let acc = HALF;
        let s = from + x;
        for (let j = 0; j < n; j++) {
          acc += src[s] * k[j];
          s += rowLength;
        }
        bytes[d + x] = acc >> PRECISION_BITS;
      }
    }
    if (floats && tables) {
      const o = y * rowLength;
      if (c === 3) {
        const [t0, t1, t2] = tables;
        if (sink.flip) {
          for (let x = 0, q = o + rowLength - 3; x < rowLength; x += 3, q -= 3) {
            floats[q] = t0[bytes[x]];
            floats[q + 1] = t1[bytes[x + 1]];
            floats[q + 2] = t2[bytes[x + 2]];
          }
        } else {
          for (let x = 0; x < rowLength; x += 3) {
            floats[o + x] = t0[bytes[x]];
            floats[o + x + 1] = t1[bytes[x + 1]];
            floats[o + x + 2] = t2[bytes[x + 2]];
          }
        }
      } else {
        for (let px = 0; px < outW; px++) {
          const q = o + (sink.flip ? outW - 1 - px : px) * c;
          for (let ch = 0; ch < c; ch++) floats[q + ch] = tables[ch][bytes[px * c + ch]];
        }
      }
    }
  }
  return floats ?? new Uint8Array(bytes.buffer, 0, outH * rowLength);
}

/** `out` when it has exactly `n` values, else a new array. */
function floatsFor(n: number, out: Float32Array | undefined): Float32Array {
  return out?.length === n ? out : new Float32Array(n);
}

let row = new Uint8ClampedArray(0);

function scratchRow(n: number): Uint8ClampedArray {
  if (row.length < n) row = new Uint8ClampedArray(n);
  return row;
}

type Pass = (...args: number[]) => void;

/** The SIMD passes of pillow-resample.wat, on their own memory. */
interface SimdKernel {
  memory: WebAssembly.Memory;
  across: Pass;
  down: Pass;
  lookup: Pass;
}

let simd: SimdKernel | null | undefined;

/** The SIMD kernel, or null where WebAssembly SIMD is missing (the JavaScript passes run). */
function simdKernel(): SimdKernel | null {
  if (simd !== undefined) return simd;
  simd = null;
  try {
    if (typeof WebAssembly === 'object' && typeof atob === 'function') {
      const bytes = Uint8Array.from(atob(PILLOW_RESAMPLE_WASM), (ch) => ch.charCodeAt(0));
      const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
      simd = {
        memory: exports.memory as WebAssembly.Memory,
        across: exports.across as Pass,
        down: exports.down as Pass,
        lookup: exports.lookup as Pass,
      };
    }
  } catch {
    simd = null; // no SIMD in this engine
  }
  return simd;
}

/**
 * Lets tests compare the two implementations: `false` runs the JavaScript passes only, `true`
 * the SIMD ones where available. Returns whether SIMD runs now.
 */
export function useSimdResample(enabled: boolean): boolean {
  simd = enabled ? undefined : null;
  return simdKernel() !== null;
}

/** The most the SIMD path takes of the module's memory (which never shrinks), in bytes. */
const SIMD_MEMORY_LIMIT = 64 * 2 ** 20;

/** Room for the passes to read and write past their ends, as pillow-resample.wat allows. */
const PAD = 16;

/**
 * The two passes in WebAssembly: the window's rows are copied into the module's memory with
 * the tap tables, and the bytes come back in a new array (or through `sink`'s tables).
 */
function simdResample(
  k: SimdKernel,
  src: Uint8Array,
  w: number,
  top: number,
  left: number,
  rows: number,
  tx: FixedTaps,
  ty: FixedTaps,
  sink: ResampleSink,
): Uint8Array | Float32Array | undefined {
  const stride = w * 3;
  const outW = tx.first.length;
  const outH = ty.first.length;
  // Past this the module's memory would stay large for good: such pictures run in JavaScript.
  if (rows * (stride + outW * 3) + outW * outH * 15 > SIMD_MEMORY_LIMIT) return undefined;
  const rowLength = outW * 3;
  const align = (n: number) => (n + 15) & ~15;
  // Layout: source rows | horizontal result | output | tap tables | float tables | floats.
  const srcAt = 0;
  const tmpAt = align(srcAt + rows * stride + PAD);
  const outAt = align(tmpAt + rows * rowLength + PAD);
  const txAt = align(outAt + outH * rowLength + PAD);
  const tyAt = txAt + (2 + tx.taps) * outW * 4;
  const floatTablesAt = align(tyAt + (2 + ty.taps) * outH * 4);
  const floatsAt = floatTablesAt + 3 * 256 * 4;
  const end = floatsAt + outH * rowLength * 4;
  const grow = Math.ceil((end - k.memory.buffer.byteLength) / 65536);
  if (grow > 0) k.memory.grow(grow);
  const heap = new Uint8Array(k.memory.buffer);
  const words = new Int32Array(k.memory.buffer);
  heap.set(src.subarray(top * stride, (top + rows) * stride), srcAt);
  const putTaps = (at: number, t: FixedTaps) => {
    const n = t.first.length;
    words.set(t.first, at >> 2);
    words.set(t.size, (at >> 2) + n);
    words.set(t.weight, (at >> 2) + 2 * n);
  };
  putTaps(txAt, tx);
  putTaps(tyAt, ty);
  const tab = (at: number, n: number) => [at, at + 4 * n, at + 8 * n] as const;
  const [xFirst, xSize, xWeight] = tab(txAt, outW);
  const [yFirst, ySize, yWeight] = tab(tyAt, outH);
  k.across(srcAt + left * 3, stride, rows, outW, tx.taps, xFirst, xSize, xWeight, tmpAt);
  k.down(tmpAt, rowLength, outH, ty.taps, yFirst, ySize, yWeight, outAt);
  const tables = sink.tables;
  if (!tables) return heap.slice(outAt, outAt + outH * rowLength);
  const floatTables = new Float32Array(k.memory.buffer, floatTablesAt, 3 * 256);
  for (let ch = 0; ch < 3; ch++) floatTables.set(tables[ch], ch * 256);
  k.lookup(outAt, outH, rowLength, floatTablesAt, sink.flip ? 1 : 0, floatsAt);
  const floats = new Float32Array(k.memory.buffer, floatsAt, outH * rowLength);
  if (sink.out?.length !== floats.length) return floats.slice();
  sink.out.set(floats);
  return sink.out;
}

/**
 * Resamples the `height × width` window at (`top`, `left`) of a uint8 HWC image (`w` pixels
 * a row, `c` channels) to `outH × outW` in Pillow's 8-bit fixed point (`Image.resize`),
 * horizontal pass first into 8-bit rows, then vertical, exactly as Pillow 9 computes it for
 * a cropped copy. Returns bytes, or floats through `sink`'s tables (mirrored if asked). RGB
 * runs in WebAssembly with 128-bit SIMD where the engine has it (up to 64 MiB of work memory),
 * with the same results.
 */
export function pillowResample(
  src: Uint8Array,
  w: number,
  c: number,
  top: number,
  left: number,
  height: number,
  width: number,
  outH: number,
  outW: number,
  interpolation: ResizeInterpolation,
  sink: ResampleSink = {},
): Uint8Array | Float32Array {
  const tx = fixedTaps(width, outW, interpolation);
  const ty = fixedTaps(height, outH, interpolation);
  // Only the rows the vertical pass reads go through the horizontal one, as in Pillow.
  const rowFirst = ty.first[0];
  const rowEnd = ty.first[outH - 1] + ty.size[outH - 1];
  for (let y = 0; y < outH; y++) ty.first[y] -= rowFirst;
  const kernel = c === 3 ? simdKernel() : null;
  const viaSimd =
    kernel && simdResample(kernel, src, w, top + rowFirst, left, rowEnd - rowFirst, tx, ty, sink);
  if (viaSimd) return viaSimd;
  const rowLength = outW * c;
  const tmp = scratchBytes((rowEnd - rowFirst) * rowLength);
  across(src, w * c, top + rowFirst, left, rowEnd - rowFirst, c, tx, tmp);
  return down(tmp, rowLength, c, ty, sink);
}

import type { Module } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The counter-based values of tools/fixtures/models/make-model-fixtures.py (`formula_values`),
 * bit for bit: fixtures name a tensor and a scale instead of shipping megabytes of weights.
 */

/** FNV-1a, 32-bit, of an ASCII name. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `offset + scale * k / 2^15` for the hashed 16-bit k of each index; exact in float32. */
export function formulaValues(name: string, n: number, scale: number, offset = 0): Float32Array {
  const base = Math.imul(fnv1a32(name), 0x9e3779b9) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (base + i) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15;
    x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    const k = (x >>> 16) - 32768;
    out[i] = offset + (scale * k) / 32768;
  }
  return out;
}

/** How the fixture script fills one state-dict entry. */
export interface FormulaSpec {
  shape: number[];
  scale?: number;
  offset?: number;
  int?: number;
}

/** A PyTorch-layout state dict (plain data) from the script's specs. */
export function formulaStateDict(
  specs: Record<string, FormulaSpec>,
): Record<string, { dtype: 'F32' | 'I64'; shape: number[]; data: Float32Array | Int32Array }> {
  const out: Record<
    string,
    { dtype: 'F32' | 'I64'; shape: number[]; data: Float32Array | Int32Array }
  > = {};
  for (const [name, spec] of Object.entries(specs)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    out[name] =
      spec.int !== undefined
        ? { dtype: 'I64', shape: spec.shape, data: new Int32Array(n).fill(spec.int) }
        : {
            dtype: 'F32',
            shape: spec.shape,
            data: formulaValues(name, n, spec.scale ?? 1, spec.offset ?? 0),
          };
  }
  return out;
}

/** The script's rule for a tensor's spread, given its shape and where the fan-in axes are. */
function ourSpec(
  name: string,
  shape: readonly number[],
): { scale: number; offset: number } | { int: number } {
  if (name.endsWith('num_batches_tracked')) return { int: 7 };
  if (name.endsWith('running_var')) return { scale: 0.5, offset: 1 };
  if (shape.length === 1) {
    return name.endsWith('.weight') ? { scale: 0.25, offset: 0.75 } : { scale: 0.125, offset: 0 };
  }
  // Our layouts keep the output axis last, so fan-in is everything else.
  const size = shape.reduce((a, b) => a * b, 1);
  const fanIn = size / shape[shape.length - 1];
  return { scale: 2 ** Math.round(Math.log2(Math.sqrt(6 / fanIn))), offset: 0 };
}

/**
 * Overwrites every parameter and buffer of `model`, in OUR layouts (HWIO, [in, out]), with
 * formula values seeded by `prefix + name`: weights that owe nothing to either side's init.
 */
export function fillFormulaOurLayout(model: Module, prefix: string): void {
  for (const [name, t] of Object.entries(model.stateDict())) {
    const spec = ourSpec(name, t.shape);
    const value =
      'int' in spec
        ? tf.fill([...t.shape], spec.int, 'int32')
        : tf.tensor(formulaValues(prefix + name, t.size, spec.scale, spec.offset), [...t.shape]);
    (t as tf.Variable).assign(value);
    value.dispose();
  }
}

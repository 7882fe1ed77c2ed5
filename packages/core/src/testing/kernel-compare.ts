/**
 * Shared checks for kernel tests: run one kernel on two backends with the same inputs and
 * compare. Kept out of the package's public surface (not exported from index.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Generator } from '../generator.js';

/** Inputs as raw arrays, so each backend builds its own tensors. */
export interface RawInput {
  shape: number[];
  values: Float32Array;
}

export function randomInput(gen: Generator, shape: number[]): RawInput {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = gen.uniform(-1, 1);
  return { shape, values };
}

/** Runs kernel `name` on `backend` and returns its output's shape and values. */
export async function runOn(
  backend: string,
  name: string,
  inputs: Record<string, RawInput>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.values, v.shape);
  const out = tf.engine().runKernel(name, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  const shape = out.shape.slice();
  out.dispose();
  for (const t of Object.values(tensors)) t.dispose();
  return { shape, values };
}

/** Largest absolute difference over the largest reference magnitude (at least 1). */
export function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** c = a b in float64 for row-major a [m, k] and b [k, n], plus `start` [m, n] where given. */
export function matMulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  start?: ArrayLike<number>,
): Float64Array {
  const c = start ? Float64Array.from(start) : new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < k; r++) {
      const v = a[i * k + r];
      for (let j = 0; j < n; j++) c[i * n + j] += v * b[r * n + j];
    }
  }
  return c;
}

/** Largest absolute difference between `got` from `offset` on and `want`. */
export function worstDifference(
  got: ArrayLike<number>,
  offset: number,
  want: ArrayLike<number>,
): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[offset + i] - want[i]));
  return worst;
}

import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { setOwnWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release, transposeBatched } from './wasm-util.js';

/** The matrices [count, rows, cols] transposed (and reversed) by index arithmetic. */
function reference(x: Float32Array, count: number, rows: number, cols: number, reverse: boolean) {
  const out = new Float32Array(x.length);
  for (let m = 0; m < count; m++) {
    const to = reverse ? count - 1 - m : m;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++)
        out[to * rows * cols + c * rows + r] = x[m * rows * cols + r * cols + c];
    }
  }
  return out;
}

describe('transposeBatched on wasm', () => {
  let backend: BackendWasm;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    backend = tf.backend() as BackendWasm;
  });
  afterAll(() => setOwnWasmKernels(true));

  const gen = new Generator(5);
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [1, 4, 4],
    [1, 3, 17],
    [9, 5, 7],
    [3, 16, 16],
    [2, 33, 18],
    [9, 20, 64],
    [1, 1, 37],
    [4, 37, 1],
  ];
  for (let i = 0; i < 4; i++)
    shapes.push([1 + gen.randint(9), 1 + gen.randint(70), 1 + gen.randint(70)]);
  for (const own of [true, false]) {
    for (const [count, rows, cols] of shapes) {
      for (const reverse of [false, true]) {
        it(`${own ? 'own kernel' : 'stock Transpose'}: ${count} x [${rows}, ${cols}]${reverse ? ', reversed' : ''}`, () => {
          setOwnWasmKernels(own);
          const x = alloc(backend, [count, rows, cols]);
          const [heap, xOff] = heapF32(backend, x);
          const values = Float32Array.from({ length: count * rows * cols }, () =>
            gen.uniform(-1, 1),
          );
          heap.set(values, xOff);
          const y = transposeBatched(backend, x, count, rows, cols, reverse);
          expect(y.shape).toEqual([count, cols, rows]);
          const [h, yOff] = heapF32(backend, y);
          expect(Array.from(h.subarray(yOff, yOff + values.length))).toEqual(
            Array.from(reference(values, count, rows, cols, reverse)),
          );
          release(backend, x);
          release(backend, y);
        });
      }
    }
  }
});

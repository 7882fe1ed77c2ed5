import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import {
  matMulReference,
  randomInput,
  relativeError,
  runOn,
  worstDifference,
} from '../testing/kernel-compare.js';
import { ownBatchMatMul, ownMatMulInto, packedSize } from './gemm-wasm.js';
import { ownWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

describe("resnet-ts's own GEMM on wasm", () => {
  let backend: BackendWasm;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    backend = tf.backend() as BackendWasm;
  });

  // Row counts around the 4-row tile and the 64-row block, column counts around the 8-wide
  // panel, depths around the 256-deep pass.
  const gen = new Generator(5);
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1],
    [4, 8, 8],
    [5, 9, 7],
    [3, 257, 17],
    [67, 300, 33],
    [130, 512, 64],
    [2, 600, 1],
    ...Array.from(
      { length: 12 },
      () =>
        [1 + gen.randint(90), 1 + gen.randint(700), 1 + gen.randint(40)] as [
          number,
          number,
          number,
        ],
    ),
  ];
  for (const [m, k, n] of shapes) {
    it(`multiplies [${m}, ${k}] by [${k}, ${n}] as float64 does, to float32 rounding`, () => {
      const data = new Generator(m * 1000 + k * 10 + n);
      const a = randomInput(data, [m, k]).values;
      const b = randomInput(data, [k, n]).values;
      const ta = alloc(backend, [m, k]);
      const tb = alloc(backend, [k, n]);
      const [heap, aOff] = heapF32(backend, ta);
      heap.set(a, aOff);
      const [, bOff] = heapF32(backend, tb);
      heap.set(b, bOff);
      const out = ownBatchMatMul(backend, ta, tb, 1, m, k, n, 0)!;
      const [h, cOff] = heapF32(backend, out);
      const worst = worstDifference(h, cOff, matMulReference(a, b, m, k, n));
      // Each output sums k products of magnitude < 1: float32 rounding stays far below k * 1e-6.
      expect(worst).toBeLessThan(k * 1e-6);
      for (const t of [ta, tb, out]) release(backend, t);
    });
  }

  it('adds into the output when asked, and writes only the rows it is given', () => {
    const own = ownWasmKernels(backend)!;
    const [m, k, n] = [9, 300, 11];
    const data = new Generator(9);
    const a = randomInput(data, [m, k]).values;
    const b = randomInput(data, [k, n]).values;
    const ta = alloc(backend, [m, k]);
    const tb = alloc(backend, [k, n]);
    const packed = alloc(backend, [packedSize(k, n)]);
    const tc = alloc(backend, [m, n]);
    const [heap, aOff] = heapF32(backend, ta);
    const [, bOff] = heapF32(backend, tb);
    const [, pOff] = heapF32(backend, packed);
    const [, cOff] = heapF32(backend, tc);
    heap.set(a, aOff);
    heap.set(b, bOff);
    heap.fill(1, cOff, cOff + m * n);
    own.gemmPackB(bOff, n, k, n, pOff, 0, 2);
    own.gemmRows(aOff, k, pOff, cOff, n, 2, 7, n, k, true);
    const want = matMulReference(a, b, m, k, n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const got = heap[cOff + i * n + j];
        if (i < 2 || i >= 7) expect(got).toBe(1);
        else expect(Math.abs(got - (1 + want[i * n + j]))).toBeLessThan(1e-3);
      }
    for (const t of [ta, tb, packed, tc]) release(backend, t);
  });

  it('multiply matrices like a plain triple loop, ragged sizes and accumulation included', () => {
    const gen = new Generator(31);
    for (let trial = 0; trial < 12; trial++) {
      const [k, m, n] = [1 + gen.randint(30), 1 + gen.randint(300), 1 + gen.randint(70)];
      const accumulate = trial % 2 === 1;
      const [a, b, c] = [
        [k, m],
        [m, n],
        [k, n],
      ].map((s) => alloc(backend, s));
      const [heap, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      const [, cOff] = heapF32(backend, c);
      for (let i = 0; i < k * m; i++) heap[aOff + i] = gen.uniform(-1, 1);
      for (let i = 0; i < m * n; i++) heap[bOff + i] = gen.uniform(-1, 1);
      const start = Float64Array.from({ length: k * n }, () => gen.uniform(-1, 1));
      heap.set(start, cOff);
      ownMatMulInto(backend, aOff, bOff, cOff, k, m, n, accumulate);
      const want = matMulReference(
        heap.subarray(aOff, aOff + k * m),
        heap.subarray(bOff, bOff + m * n),
        k,
        m,
        n,
        accumulate ? start : undefined,
      );
      expect(worstDifference(heap, cOff, want), `${k}x${m}x${n}`).toBeLessThan(1e-4);
      for (const t of [a, b, c]) release(backend, t);
    }
  });

  it('gives BatchMatMul with batches, and with one matrix against many, the cpu backend values', async () => {
    const data = new Generator(11);
    for (const [aShape, bShape] of [
      [
        [3, 13, 21],
        [3, 21, 10],
      ],
      [
        [1, 6, 9],
        [4, 9, 5],
      ],
      [
        [2, 2, 7, 5],
        [1, 5, 3],
      ],
    ]) {
      const inputs = { a: randomInput(data, aShape), b: randomInput(data, bShape) };
      const attrs = { transposeA: false, transposeB: false };
      const want = await runOn('cpu', 'BatchMatMul', inputs, attrs);
      const got = await runOn('wasm', 'BatchMatMul', inputs, attrs);
      expect(got.shape).toEqual(want.shape);
      expect(relativeError(got.values, want.values)).toBeLessThan(1e-5);
    }
  });
});

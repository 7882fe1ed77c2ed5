import '@tensorflow/tfjs-backend-wasm';
import '../index.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { col2imNHWC, im2colTransposedCNHW } from './im2col.js';
import { ownWasmKernels, setOwnWasmKernels } from './own-wasm.js';
import { alloc, heapF32, release } from './wasm-util.js';

function randomGeometry(gen: Generator): backend_util.Conv2DInfo {
  const fh = 1 + gen.randint(4);
  const fw = 1 + gen.randint(4);
  const dil = 1 + gen.randint(2);
  const pads = ['same', 'valid', gen.randint(3)] as const;
  return backend_util.computeConv2DInfo(
    [1 + gen.randint(3), fh * dil + gen.randint(9), fw * dil + gen.randint(9), 1 + gen.randint(11)],
    [fh, fw, 0, 1],
    [1 + gen.randint(3), 1 + gen.randint(3)],
    [dil, dil],
    pads[gen.randint(3)],
  );
}

describe("resnet-ts's own wasm kernels", () => {
  let backend: BackendWasm;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    backend = tf.backend() as BackendWasm;
  });
  afterAll(() => setOwnWasmKernels(true));

  it('instantiate over the single-threaded backend memory, and turn off when asked', () => {
    expect(ownWasmKernels(backend)).not.toBeNull();
    setOwnWasmKernels(false);
    expect(ownWasmKernels(backend)).toBeNull();
    setOwnWasmKernels(true);
  });

  // Inputs with ragged channel counts and widths exercise the SIMD loops' scalar tails.
  const gen = new Generator(17);
  const cases = Array.from({ length: 40 }, () => randomGeometry(gen));
  for (const info of cases) {
    const label = `x ${info.inShape} filter ${info.filterHeight}x${info.filterWidth} strides ${info.strideHeight},${info.strideWidth} dilation ${info.dilationHeight} pads ${info.padInfo.top},${info.padInfo.left}`;

    it(`build the same transposed patches as the JavaScript loop: ${label}`, () => {
      const own = ownWasmKernels(backend)!;
      const { batchSize: n, inChannels: c, inHeight: h, inWidth: w } = info;
      const k = info.filterHeight * info.filterWidth * c;
      const rows = info.outHeight * info.outWidth;
      const b0 = n > 1 ? 1 : 0;
      const x = alloc(backend, [c, n, h, w]);
      const a = alloc(backend, [k, (n - b0) * rows]);
      const b = alloc(backend, [k, (n - b0) * rows]);
      const [heap, xOff] = heapF32(backend, x);
      const [, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      const data = new Generator(k + rows);
      for (let i = 0; i < c * n * h * w; i++) heap[xOff + i] = data.random() - 0.5;
      heap.fill(Number.NaN, aOff, aOff + k * (n - b0) * rows);
      heap.fill(Number.NaN, bOff, bOff + k * (n - b0) * rows);
      im2colTransposedCNHW(heap, xOff, aOff, info, b0, n);
      own.im2colTransposedCNHW(xOff, bOff, info, b0, n);
      const size = k * (n - b0) * rows;
      expect(heap.subarray(bOff, bOff + size)).toEqual(heap.subarray(aOff, aOff + size));
      for (const t of [x, a, b]) release(backend, t);
    });

    it(`scatter patches back like the JavaScript col2im: ${label}`, () => {
      const own = ownWasmKernels(backend)!;
      const k = info.filterHeight * info.filterWidth * info.inChannels;
      const rows = info.batchSize * info.outHeight * info.outWidth;
      const size = info.inShape.reduce((p, v) => p * v, 1);
      const cols = alloc(backend, [rows, k]);
      const a = alloc(backend, info.inShape);
      const b = alloc(backend, info.inShape);
      const [heap, colOff] = heapF32(backend, cols);
      const [, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      const data = new Generator(k * rows);
      for (let i = 0; i < rows * k; i++) heap[colOff + i] = data.random() - 0.5;
      heap.fill(Number.NaN, aOff, aOff + size);
      heap.fill(Number.NaN, bOff, bOff + size);
      col2imNHWC(heap, colOff, aOff, info);
      own.col2imNHWC(colOff, bOff, info);
      expect(heap.subarray(bOff, bOff + size)).toEqual(heap.subarray(aOff, aOff + size));
      for (const t of [cols, a, b]) release(backend, t);
    });
  }

  it('add one buffer into another, tails included', () => {
    const own = ownWasmKernels(backend)!;
    for (const n of [1, 3, 4, 7, 64, 101]) {
      const a = alloc(backend, [n]);
      const b = alloc(backend, [n]);
      const [heap, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      for (let i = 0; i < n; i++) {
        heap[aOff + i] = i;
        heap[bOff + i] = 0.5 * i;
      }
      own.addInto(aOff, bOff, n);
      expect(Array.from(heap.subarray(aOff, aOff + n))).toEqual(
        Array.from({ length: n }, (_, i) => 1.5 * i),
      );
      release(backend, a);
      release(backend, b);
    }
  });
});

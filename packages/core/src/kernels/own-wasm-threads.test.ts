import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../generator.js';
import {
  matMulReference,
  type RawInput,
  randomInput,
  relativeError,
  runOn,
  worstDifference,
} from '../testing/kernel-compare.js';
import { onWorkers, wakeWorker } from '../testing/own-wasm-workers.js';
import { batchNormGrad } from './batch-norm-grad.js';
import { setWinogradConv } from './conv2d-winograd-wasm.js';
import { ownMatMulInto } from './gemm-wasm.js';
import { col2imNHWC, im2colTransposedCNHW } from './im2col.js';
import { DEFAULT_MIN_PART, ownWasmKernels, setOwnWasmMinPart } from './own-wasm.js';
import { useThreadedWasm } from './threaded-wasm-node.js';
import { alloc, heapF32, release, transposeBatched } from './wasm-util.js';

describe("resnet-ts's own wasm kernels on two threads", () => {
  let backend: BackendWasm;
  beforeAll(async () => {
    await useThreadedWasm({ threads: 2 });
    backend = tf.backend() as BackendWasm;
    // Every random shape below is then split between the two threads.
    setOwnWasmMinPart(16);
  });
  afterAll(() => {
    setOwnWasmMinPart(DEFAULT_MIN_PART);
    tf.removeBackend('wasm');
  });

  it("use as many threads as the backend's pool, and run parts on the worker", async () => {
    const own = ownWasmKernels(backend)!;
    expect(own.threads).toBe(2);
    const n = 1000;
    const a = alloc(backend, [n]);
    const b = alloc(backend, [n]);
    await onWorkers(() => {
      const [heap, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      wakeWorker(() => own.addInto(aOff, bOff, n));
      for (let i = 0; i < n; i++) {
        heap[aOff + i] = i;
        heap[bOff + i] = 0.5 * i;
      }
      own.addInto(aOff, bOff, n);
      expect(Array.from(heap.subarray(aOff, aOff + n))).toEqual(
        Array.from({ length: n }, (_, i) => 1.5 * i),
      );
    });
    release(backend, a);
    release(backend, b);
  });

  it('split a matrix product into row tiles like a plain triple loop', async () => {
    const gen = new Generator(37);
    for (let trial = 0; trial < 6; trial++) {
      const [k, m, n] = [5 + gen.randint(30), 1 + gen.randint(200), 1 + gen.randint(70)];
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
      await onWorkers(() => {
        wakeWorker(() => ownMatMulInto(backend, aOff, bOff, cOff, k, m, n, false));
        heap.fill(Number.NaN, cOff, cOff + k * n);
        ownMatMulInto(backend, aOff, bOff, cOff, k, m, n, false);
        const a0 = heap.subarray(aOff, aOff + k * m);
        const want = matMulReference(a0, heap.subarray(bOff, bOff + m * n), k, m, n);
        expect(worstDifference(heap, cOff, want), `${k}x${m}x${n}`).toBeLessThan(1e-4);
      });
      for (const t of [a, b, c]) release(backend, t);
    }
  });

  it('transpose batches of matrices, flipped or not, split by rows', async () => {
    const gen = new Generator(41);
    for (const [count, rows, cols] of [
      [9, 37, 21],
      [1, 70, 5],
      [3, 4, 66],
    ]) {
      const x = alloc(backend, [count, rows, cols]);
      const [heap, xOff] = heapF32(backend, x);
      for (let i = 0; i < count * rows * cols; i++) heap[xOff + i] = gen.uniform(-1, 1);
      for (const reverse of [false, true]) {
        await onWorkers(() => {
          wakeWorker(() =>
            release(backend, transposeBatched(backend, x, count, rows, cols, reverse)),
          );
          const y = transposeBatched(backend, x, count, rows, cols, reverse);
          const [h, yOff] = heapF32(backend, y);
          for (let m = 0; m < count; m++) {
            const to = reverse ? count - 1 - m : m;
            for (let r = 0; r < rows; r++) {
              for (let c = 0; c < cols; c++) {
                const got = h[yOff + to * rows * cols + c * rows + r];
                if (got !== h[xOff + m * rows * cols + r * cols + c]) {
                  expect(got, `${count}x[${rows},${cols}] m ${m} r ${r} c ${c}`).toBe(
                    h[xOff + m * rows * cols + r * cols + c],
                  );
                }
              }
            }
          }
          release(backend, y);
        });
      }
      release(backend, x);
    }
  });

  it('stop their workers with the backend, and start new ones with the next', async () => {
    const before = ownWasmKernels(backend)!;
    tf.removeBackend('wasm');
    await useThreadedWasm({ threads: 2 });
    backend = tf.backend() as BackendWasm;
    const after = ownWasmKernels(backend)!;
    expect(after).not.toBe(before);
    expect(after.threads).toBe(2);
    const n = 1000;
    const a = alloc(backend, [n]);
    const b = alloc(backend, [n]);
    await onWorkers(() => {
      const [heap, aOff] = heapF32(backend, a);
      const [, bOff] = heapF32(backend, b);
      wakeWorker(() => after.addInto(aOff, bOff, n));
      heap.fill(1, aOff, aOff + n);
      heap.fill(2, bOff, bOff + n);
      after.addInto(aOff, bOff, n);
      expect(heap.subarray(aOff, aOff + n).every((v) => v === 3)).toBe(true);
    });
    release(backend, a);
    release(backend, b);
  });

  const gen = new Generator(23);
  for (let i = 0; i < 12; i++) {
    const fh = 1 + gen.randint(3);
    const fw = 1 + gen.randint(3);
    const info = backend_util.computeConv2DInfo(
      [1 + gen.randint(4), fh + gen.randint(9), fw + gen.randint(9), 1 + gen.randint(9)],
      [fh, fw, 0, 1],
      [1 + gen.randint(2), 1 + gen.randint(2)],
      1,
      (['same', 'valid', 1] as const)[gen.randint(3)],
    );
    const label = `x ${info.inShape} filter ${fh}x${fw} strides ${info.strideHeight},${info.strideWidth} pads ${info.padInfo.top},${info.padInfo.left}`;

    it(`split the transposed patches and col2im like the JavaScript loops: ${label}`, async () => {
      const own = ownWasmKernels(backend)!;
      const { batchSize: n, inChannels: c, inHeight: h, inWidth: w } = info;
      const k = info.filterHeight * info.filterWidth * c;
      const rows = info.outHeight * info.outWidth;
      const size = k * n * rows;
      const xSize = n * h * w * c;
      const [x, a, b, xa, xb] = [[xSize], [size], [size], [xSize], [xSize]].map((s) =>
        alloc(backend, s),
      );
      const data = new Generator(k + rows);
      const [heap, xOff] = heapF32(backend, x);
      const [aOff, bOff, xaOff, xbOff] = [a, b, xa, xb].map((t) => heapF32(backend, t)[1]);
      for (let j = 0; j < xSize; j++) heap[xOff + j] = data.random() - 0.5;
      await onWorkers(() => {
        heap.fill(Number.NaN, aOff, aOff + size);
        heap.fill(Number.NaN, bOff, bOff + size);
        im2colTransposedCNHW(heap, xOff, aOff, info, 0, n);
        own.im2colTransposedCNHW(xOff, bOff, info, 0, n);
        expect(heap.subarray(bOff, bOff + size)).toEqual(heap.subarray(aOff, aOff + size));
        // The patches, read as [n * rows, k], scattered back.
        heap.fill(Number.NaN, xaOff, xaOff + xSize);
        heap.fill(Number.NaN, xbOff, xbOff + xSize);
        col2imNHWC(heap, aOff, xaOff, info);
        own.col2imNHWC(aOff, xbOff, info);
        expect(heap.subarray(xbOff, xbOff + xSize)).toEqual(heap.subarray(xaOff, xaOff + xSize));
      });
      for (const t of [x, a, b, xa, xb]) release(backend, t);
    });
  }

  const shapes = Array.from({ length: 6 }, () => [
    1 + gen.randint(4),
    2 * (1 + gen.randint(6)),
    2 * (1 + gen.randint(6)),
    1 + gen.randint(20),
  ]) as [number, number, number, number][];

  for (const shape of shapes) {
    it(`match the cpu backend in the convolution gradients, x ${shape}`, async () => {
      const g = new Generator(shape.reduce((p, v) => p * 31 + v, 0));
      const co = 1 + g.randint(12);
      const fs = 1 + g.randint(3);
      const stride = 1 + g.randint(2);
      const filterShape = [fs, fs, shape[3], co];
      const attrs = {
        strides: stride,
        pad: 'same',
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
      };
      const outShape = [shape[0], Math.ceil(shape[1] / stride), Math.ceil(shape[2] / stride), co];
      const x = randomInput(g, shape);
      const dy = randomInput(g, outShape);
      const filter = randomInput(g, filterShape);
      const inputs = {
        Conv2DBackpropFilter: { x, dy } as Record<string, RawInput>,
        Conv2DBackpropInput: { dy, filter },
      };
      const kernelAttrs = {
        Conv2DBackpropFilter: { ...attrs, filterShape },
        Conv2DBackpropInput: { ...attrs, inputShape: shape },
      };
      for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const) {
        const ref = await runOn('cpu', name, inputs[name], kernelAttrs[name]);
        const got = await runOn('wasm', name, inputs[name], kernelAttrs[name]);
        expect(got.shape).toEqual(ref.shape);
        expect(relativeError(got.values, ref.values), name).toBeLessThan(1e-4);
      }
    });

    it(`match the cpu backend in MaxPoolGrad 2x2, Sum, Mean and the batch-norm backward, x ${shape}`, async () => {
      const g = new Generator(shape.reduce((p, v) => p * 17 + v, 1));
      const x = randomInput(g, shape);
      const dyPool = randomInput(g, [shape[0], shape[1] / 2, shape[2] / 2, shape[3]]);
      const dy = randomInput(g, shape);
      const gamma = randomInput(g, [shape[3]]);
      const results: Float32Array[][] = [];
      for (const name of ['cpu', 'wasm']) {
        await tf.setBackend(name);
        results.push(
          tf.tidy(() => {
            const xt = tf.tensor4d(x.values, shape);
            const pooled = tf.maxPool(xt, 2, 2, 'valid');
            const dx = tf
              .engine()
              .runKernel(
                'MaxPoolGrad',
                { dy: tf.tensor(dyPool.values, dyPool.shape), input: xt, output: pooled },
                { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap,
              ) as tf.Tensor;
            const { mean, variance } = tf.moments(xt, [0, 1, 2]);
            const invStd = tf.rsqrt(tf.add(variance, 1e-5));
            const bn = batchNormGrad(
              tf.tensor(dy.values, shape),
              xt,
              mean,
              invStd,
              tf.tensor(gamma.values),
            );
            return [dx, tf.sum(xt, [0, 1, 2]), tf.mean(xt, [0, 1]), ...bn].map(
              (t) => t.dataSync() as Float32Array,
            );
          }),
        );
      }
      for (const [i, what] of ['MaxPoolGrad', 'Sum', 'Mean', 'dx', 'dgamma', 'dbeta'].entries()) {
        expect(relativeError(results[1][i], results[0][i]), what).toBeLessThan(2e-5);
      }
    });
  }

  // The products and convolutions: the own implicit-GEMM convolution (stride 2, 3x3 stride 1
  // below Winograd's channel counts, and first layers of 3 channels, which on one thread go
  // to XNNPACK: rows wide enough for whole 4-pixel tiles inside the image), Winograd
  // F(2x2,3x3) and F(4x4,3x3) forward, their filter and input gradients, and BatchMatMul on
  // the own GEMM, each split over both threads, against the cpu backend.
  const convCases: Array<{ x: number[]; filter: number[]; strides: number; tile?: 2 | 4 }> = [
    { x: [3, 9, 7, 12], filter: [3, 3, 12, 10], strides: 2 },
    { x: [2, 6, 5, 8], filter: [3, 3, 8, 9], strides: 1 },
    { x: [2, 10, 13, 3], filter: [3, 3, 3, 20], strides: 1 },
    { x: [2, 17, 23, 3], filter: [7, 7, 3, 16], strides: 2 },
    { x: [3, 8, 6, 32], filter: [3, 3, 32, 40], strides: 1, tile: 2 },
    { x: [3, 9, 7, 32], filter: [3, 3, 32, 36], strides: 1, tile: 4 },
  ];
  for (const c of convCases) {
    it(`Conv2D, its gradients and a product match cpu for x ${c.x} filter ${c.filter} stride ${c.strides}${c.tile ? `, Winograd F(${c.tile}x${c.tile},3x3)` : ''}`, async () => {
      setWinogradConv(true, { tile: c.tile });
      const gen = new Generator(c.x[3] + c.filter[3]);
      const x = randomInput(gen, c.x);
      const filter = randomInput(gen, c.filter);
      const a = randomInput(gen, [3, 37, c.x[3]]);
      const b = randomInput(gen, [3, c.x[3], 21]);
      const results: Float32Array[][] = [];
      for (const name of ['cpu', 'wasm']) {
        const run = () =>
          tf.tidy(() => {
            const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
            const ft = tf.tensor4d(filter.values, filter.shape as [number, number, number, number]);
            const f = (xi: tf.Tensor, fi: tf.Tensor) =>
              tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.strides, 'same')));
            const [dx, df] = tf.grads(f)([xt, ft]);
            const y = tf.conv2d(xt, ft, c.strides, 'same');
            const ab = tf.matMul(tf.tensor(a.values, a.shape), tf.tensor(b.values, b.shape));
            return [y, dx, df, ab].map((t) => t.dataSync() as Float32Array);
          });
        if (name === 'cpu') {
          await tf.setBackend('cpu');
          results.push(run());
        } else {
          await tf.setBackend('wasm');
          await onWorkers(() => {
            results[1] = run();
          });
        }
      }
      setWinogradConv(true);
      for (const [i, what] of ['y', 'dx', 'dfilter', 'matMul'].entries()) {
        expect(relativeError(results[1][i], results[0][i]), what).toBeLessThan(1e-4);
      }
    });
  }
});

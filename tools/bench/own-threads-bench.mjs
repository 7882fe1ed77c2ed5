// resnet-ts's own wasm kernels on tfjs's threaded build: each kernel with its calls split
// over the threads against the same kernel on the calling thread alone, and the own GEMM's
// product of Conv2DBackpropFilter (`ownMatMulInto`: dy packed, then the rows split over the
// threads) against XNNPACK's (which repacks dy first, on one thread), on VanResNet and
// ResNet-18 shapes. Wall-clock and
// process CPU ms per call, the two sides alternated call by call; medians.
// Usage: node own-threads-bench.mjs [rounds] [--threads=N]   (N = 1 runs the threaded build on one thread)
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormGrad } from '@resnet-ts/core';
import { useThreadedWasm } from '@resnet-ts/core/node';
import { ownMatMulInto } from '../../packages/core/dist/kernels/gemm-wasm.js';
import {
  DEFAULT_MIN_PART,
  ownWasmKernels,
  setOwnWasmMinPart,
} from '../../packages/core/dist/kernels/own-wasm.js';
import { borrow, stockKernel, unborrow, view } from '../../packages/core/dist/kernels/wasm-util.js';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 9);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 2);
await useThreadedWasm({ threads });
/** @type {any} */
const backend = tf.backend();
const own = ownWasmKernels(backend);
if (own == null) throw new Error('the own wasm kernels cannot run here');
// The workers start asynchronously: give them a moment before timing.
await new Promise((r) => setTimeout(r, 500));

const median = (/** @type {number[]} */ a) => a.sort((p, q) => p - q)[a.length >> 1];
/** [wall ms, CPU ms] of one call. */
function time(/** @type {() => void} */ fn) {
  const c = process.cpuUsage();
  const w = performance.now();
  fn();
  const wall = performance.now() - w;
  const d = process.cpuUsage(c);
  return [wall, (d.user + d.system) / 1000];
}
/**
 * Medians of [wall, CPU] per call for `a` and `b`, alternated call by call.
 * @param {() => void} a
 * @param {() => void} b
 */
function alternate(a, b) {
  /** @type {number[][][]} */
  const t = [
    [[], []],
    [[], []],
  ];
  for (let r = -1; r < rounds; r++) {
    for (const side of r % 2 ? [0, 1] : [1, 0]) {
      const [wall, cpu] = time(side === 0 ? a : b);
      if (r >= 0) {
        t[side][0].push(wall);
        t[side][1].push(cpu);
      }
    }
  }
  return t.map(([w, c]) => [median(w), median(c)]);
}
const f = (/** @type {number} */ v) => v.toFixed(2).padStart(7);
function report(/** @type {string} */ label, /** @type {number[][]} */ [[aw, ac], [bw, bc]]) {
  console.log(
    `${label.padEnd(44)} ${f(aw)} ${f(ac)} ${f(bw)} ${f(bc)} ${(aw / bw).toFixed(2).padStart(6)}`,
  );
}
const sync = (/** @type {() => tf.Tensor | tf.Tensor[]} */ fn) => () => {
  const out = fn();
  for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
  tf.dispose(out);
};

console.log(
  `threaded build, ${own.threads} threads, ${rounds} rounds, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'kernel (ms per call, median)'.padEnd(44)} ${'1 wall'.padStart(7)} ${'1 CPU'.padStart(7)} ${'N wall'.padStart(7)} ${'N CPU'.padStart(7)} ${'wall x'.padStart(6)}`,
);
/** Runs `fn` on the calling thread alone, then split over the pool. */
const splitOrNot = (/** @type {() => void} */ fn) =>
  alternate(
    () => {
      setOwnWasmMinPart(Number.MAX_SAFE_INTEGER);
      fn();
      setOwnWasmMinPart(DEFAULT_MIN_PART);
    },
    () => fn(),
  );

/** @type {Array<[string, number[], number[], number]>} [label, x, filter, stride] */
const convs = [
  ['filter 32x32, 3->32, 3x3 (VanResNet)', [64, 32, 32, 3], [3, 3, 3, 32], 1],
  ['filter 16x16, 32->64, 3x3 (VanResNet)', [64, 16, 16, 32], [3, 3, 32, 64], 1],
  ['filter 32x32, 64->64, 3x3 (ResNet-18)', [32, 32, 32, 64], [3, 3, 64, 64], 1],
  ['filter 16x16, 128->128, 3x3 (ResNet-18)', [32, 16, 16, 128], [3, 3, 128, 128], 1],
  ['input 32x32, 64->128, 3x3 /2 (ResNet-18)', [32, 32, 32, 64], [3, 3, 64, 128], 2],
];
for (const [label, xShape, fShape, stride] of convs) {
  const x = tf.randomUniform(xShape);
  const filter = tf.randomUniform(fShape);
  const dy = tf.conv2d(
    /** @type {tf.Tensor4D} */ (x),
    /** @type {tf.Tensor4D} */ (filter),
    stride,
    'same',
  );
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC' };
  const kernel = label.startsWith('filter')
    ? () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: fShape })
    : () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: xShape });
  report(label, splitOrNot(sync(/** @type {any} */ (kernel))));
  tf.dispose([x, filter, dy]);
}
{
  const x = tf.randomUniform([64, 32, 32, 32]);
  const pooled = tf.maxPool(/** @type {tf.Tensor4D} */ (x), 2, 2, 'valid');
  const dyPool = tf.randomUniform(pooled.shape);
  const dy = tf.randomUniform(x.shape);
  const [mean, invStd, gamma] = [0, 1, 2].map(() => tf.randomUniform([32], 0.5, 1));
  const maxPoolGrad = () =>
    /** @type {tf.Tensor} */ (
      tf
        .engine()
        .runKernel(
          'MaxPoolGrad',
          { dy: dyPool, input: x, output: pooled },
          { filterSize: 2, strides: 2, pad: 'valid' },
        )
    );
  report('MaxPoolGrad 2x2, 64x32x32x32', splitOrNot(sync(maxPoolGrad)));
  report(
    'batch-norm backward, 64x32x32x32',
    splitOrNot(sync(() => batchNormGrad(dy, x, mean, invStd, gamma))),
  );
  report('Sum over N, H, W, 64x32x32x32', splitOrNot(sync(() => tf.sum(x, [0, 1, 2]))));
  tf.dispose([x, pooled, dyPool, dy, mean, invStd, gamma]);
}

console.log(
  `\n${'product c[k,n] = a[k,m] b[m,n] (ms per call)'.padEnd(44)} ${'XNN wall'.padStart(7)} ${'XNN CPU'.padStart(7)} ${'own wall'.padStart(7)} ${'own CPU'.padStart(7)} ${'wall x'.padStart(6)}`,
);
const offset = (/** @type {tf.Tensor} */ t) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
for (const [k, m, n] of [
  [27, 8192, 32],
  [288, 4096, 64],
  [576, 4096, 64],
  [27, 4096, 64],
  [1152, 2048, 128],
  [2304, 1024, 256],
]) {
  const a = tf.randomUniform([k, m]);
  const b = tf.randomUniform([m, n]);
  const c = tf.zeros([k, n]);
  // A fresh tensor over b each call, as Conv2DBackpropFilter hands XNNPACK each dy chunk, so
  // its packed copy of b is never reused.
  const xnn = () => {
    const fresh = borrow(backend, b, 0, [1, m, n]);
    const out = stockKernel('BatchMatMul')({
      inputs: { a: view(a, [1, k, m]), b: fresh },
      backend,
      attrs: { transposeA: false, transposeB: false },
    });
    unborrow(backend, fresh);
    backend.disposeData(/** @type {any} */ (out).dataId);
  };
  const ownProduct = () => ownMatMulInto(backend, offset(a), offset(b), offset(c), k, m, n, false);
  report(`${k} x ${m} x ${n}`, alternate(xnn, ownProduct));
  tf.dispose([a, b, c]);
}
console.log(
  `load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
process.exit(0);

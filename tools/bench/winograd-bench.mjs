// The Winograd convolutions on wasm (packages/core/src/kernels/conv2d-winograd-wasm.ts)
// against the stock XNNPACK Conv2D on VanResNet and ResNet-18 CIFAR layer shapes: process CPU
// time (and wall time) per call, the routes alternated call by call so load drifts hit all of
// them; medians. Also each route's error against the cpu backend (largest absolute difference
// over the largest reference magnitude) and a whole training step with Winograd off and on.
// Usage: node winograd-bench.mjs [rounds] [--threads=N] [--no-steps] [--no-error] [--small]
//   [--imagenet] [--conv1x1] (--small, --imagenet: small channel counts or ImageNet layers
//   instead of the CIFAR model shapes; --conv1x1: the F(2x2, 3x3) product routes against
//   each other instead of the two tiles)
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@resnet-ts/core';
import { setWinogradBackpropFilter } from '../../packages/core/dist/kernels/conv2d-backprop-filter-winograd-wasm.js';
import { setWinogradConv } from '../../packages/core/dist/kernels/conv2d-winograd-wasm.js';
import { trainingSteps } from './training-steps.mjs';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 1);
if (threads > 1) {
  const { useThreadedWasm } = await import('@resnet-ts/core/node');
  await useThreadedWasm({ threads });
} else {
  await tf.setBackend('wasm');
}

// stock: XNNPACK's convolution; f23, f43: F(2x2, 3x3) and F(4x4, 3x3) with their products as
// XNNPACK BatchMatMul (f23c: as XNNPACK 1x1 convolutions); auto: the kernel's own choice.
/** @typedef {'stock' | 'f23' | 'f23c' | 'f43' | 'auto'} Route */
/** @type {Route[]} */
const routes = process.argv.includes('--conv1x1')
  ? ['stock', 'f23c', 'f23']
  : ['stock', 'f23', 'f43'];
/** @param {Route} route */
const use = (route) => {
  setWinogradConv(route !== 'stock', {
    products: route === 'f23c' ? 'conv1x1' : 'batchMatMul',
    tile: route === 'f43' ? 4 : route === 'auto' ? undefined : 2,
  });
  setWinogradBackpropFilter(route !== 'stock');
};

/** CPU and wall ms of one call. */
function time(fn) {
  const c = process.cpuUsage();
  const w = performance.now();
  fn();
  const d = process.cpuUsage(c);
  return [(d.user + d.system) / 1000, performance.now() - w];
}

/**
 * Median CPU and wall ms per call of each route in `which`, rotated round by round;
 * `prepare` runs untimed before each call.
 */
function alternate(call, which = routes, prepare = () => {}) {
  /** @type {Record<string, number[][]>} */
  const times = Object.fromEntries(which.map((r) => [r, []]));
  for (let r = -1; r < rounds; r++) {
    for (let i = 0; i < which.length; i++) {
      const route = which[(i + Math.max(r, 0)) % which.length];
      use(route);
      prepare();
      const t = time(call);
      if (r >= 0) times[route].push(t);
    }
  }
  use('auto');
  const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  return Object.fromEntries(
    which.map((r) => [r, [0, 1].map((k) => median(times[r].map((t) => t[k])))]),
  );
}

const fmt = (v) => v.toFixed(1).padStart(7);
console.log(
  `threads ${threads}, ${rounds} rounds, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'Conv2D (CPU ms | wall ms per call, median)'.padEnd(40)} ${routes.map((r) => r.padStart(15)).join(' ')} ${'speed-up'.padStart(8)}  error vs cpu (${routes.join(', ')})`,
);

// [label, x shape, out channels]
/** @type {Array<[string, [number, number, number, number], number]>} */
const shapes = [
  ['VanResNet 64x32x32, 16->16', [64, 32, 32, 16], 16],
  ['VanResNet 64x16x16, 32->64', [64, 16, 16, 32], 64],
  ['VanResNet 64x8x8, 64->64', [64, 8, 8, 64], 64],
  ['ResNet-18 32x32x32, 64->64', [32, 32, 32, 64], 64],
  ['ResNet-18 32x16x16, 128->128', [32, 16, 16, 128], 128],
  ['ResNet-18 32x8x8, 256->256', [32, 8, 8, 256], 256],
  ['ResNet-18 32x4x4, 512->512', [32, 4, 4, 512], 512],
];
// The small channel counts that set the Winograd path's lower bounds.
/** @type {Array<[string, [number, number, number, number], number]>} */
const small = [
  ['64x32x32, 8->8', [64, 32, 32, 8], 8],
  ['64x32x32, 8->16', [64, 32, 32, 8], 16],
  ['64x32x32, 16->16', [64, 32, 32, 16], 16],
  ['64x32x32, 16->32', [64, 32, 32, 16], 32],
  ['64x32x32, 32->16', [64, 32, 32, 32], 16],
  ['64x32x32, 32->32', [64, 32, 32, 32], 32],
  ['64x16x16, 16->32', [64, 16, 16, 16], 32],
  ['64x8x8, 32->32', [64, 8, 8, 32], 32],
  ['8x8x8, 64->64', [8, 8, 8, 64], 64],
  ['8x4x4, 128->128', [8, 4, 4, 128], 128],
];
// ResNet-18/34 ImageNet layer shapes at batch 8, which set the F(4x4, 3x3) bounds too.
/** @type {Array<[string, [number, number, number, number], number]>} */
const imagenet = [
  ['ImageNet 8x56x56, 64->64', [8, 56, 56, 64], 64],
  ['ImageNet 8x28x28, 128->128', [8, 28, 28, 128], 128],
  ['ImageNet 8x14x14, 256->256', [8, 14, 14, 256], 256],
  ['ImageNet 8x7x7, 512->512', [8, 7, 7, 512], 512],
  ['64x8x8, 128->128', [64, 8, 8, 128], 128],
  ['64x16x16, 64->64', [64, 16, 16, 64], 64],
];
if (process.argv.includes('--small')) shapes.splice(0, shapes.length, ...small);
if (process.argv.includes('--imagenet')) shapes.splice(0, shapes.length, ...imagenet);
const noError = process.argv.includes('--no-error');
for (const [label, xShape, co] of shapes) {
  /** @type {[number, number, number, number]} */
  const fShape = [3, 3, xShape[3], co];
  const x = /** @type {tf.Tensor4D} */ (tf.randomUniform(xShape, -1, 1));
  const f = /** @type {tf.Tensor4D} */ (tf.randomUniform(fShape, -0.5, 0.5));
  // A new filter tensor per call, as in training: XNNPACK keeps the packed weights of a
  // filter it has seen, and the weights change every step.
  let fresh = tf.clone(f);
  const prepare = () => {
    fresh.dispose();
    fresh = tf.add(f, 0);
  };
  const call = () => {
    const y = tf.conv2d(x, fresh, 1, 'same');
    y.dataSync();
    y.dispose();
  };
  const t = alternate(call, routes, prepare);
  fresh.dispose();
  let errors = '';
  if (!noError) {
    const backend = tf.getBackend();
    const xs = await x.data();
    const fs = await f.data();
    await tf.setBackend('cpu');
    const want = tf.tidy(() =>
      tf.conv2d(tf.tensor4d(xs, xShape), tf.tensor4d(fs, fShape), 1, 'same').dataSync(),
    );
    await tf.setBackend(backend);
    const err = (route) => {
      use(route);
      const got = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync());
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      return (diff / scale).toExponential(1);
    };
    errors = routes.map(err).join(', ');
    use('auto');
  }
  const best = Math.min(t[routes[1]][0], t[routes[2]][0]);
  console.log(
    `${label.padEnd(40)} ${routes.map((r) => `${fmt(t[r][0])}|${fmt(t[r][1])}`).join(' ')} ${(t.stock[0] / best).toFixed(2).padStart(8)}  ${errors}`,
  );
  tf.dispose([x, f]);
}

console.log(
  `${'Conv2DBackpropFilter (CPU ms | wall ms)'.padEnd(40)} ${'stock'.padStart(15)} ${'f23'.padStart(15)} ${''.padStart(15)} ${'speed-up'.padStart(8)}  error vs cpu (stock, f23)`,
);
for (const [label, xShape, co] of shapes) {
  /** @type {[number, number, number, number]} */
  const fShape = [3, 3, xShape[3], co];
  const x = tf.randomUniform(xShape, -1, 1);
  const dy = tf.randomUniform([...xShape.slice(0, 3), co], -1, 1);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: fShape };
  const grad = () =>
    /** @type {tf.Tensor} */ (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs));
  const call = () => {
    const dw = grad();
    dw.dataSync();
    dw.dispose();
  };
  const t = alternate(call, ['stock', 'f23']);
  let errors = '';
  if (!noError) {
    const backend = tf.getBackend();
    const [xs, dys] = [await x.data(), await dy.data()];
    await tf.setBackend('cpu');
    const want = tf.tidy(() =>
      /** @type {tf.Tensor} */ (
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor(xs, xShape), dy: tf.tensor(dys, dy.shape) },
            attrs,
          )
      ).dataSync(),
    );
    await tf.setBackend(backend);
    const err = (route) => {
      use(route);
      const got = tf.tidy(() => grad().dataSync());
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      return (diff / scale).toExponential(1);
    };
    errors = ['stock', 'f23'].map(err).join(', ');
    use('auto');
  }
  console.log(
    `${label.padEnd(40)} ${fmt(t.stock[0])}|${fmt(t.stock[1])} ${fmt(t.f23[0])}|${fmt(t.f23[1])} ${''.padStart(15)} ${(t.stock[0] / t.f23[0]).toFixed(2).padStart(8)}  ${errors}`,
  );
  tf.dispose([x, dy]);
}

if (!process.argv.includes('--no-steps')) {
  for (const [label, step, dispose] of await trainingSteps('step, ')) {
    const t = alternate(step, ['stock', 'auto']);
    console.log(
      `${label.padEnd(40)} ${fmt(t.stock[0])}|${fmt(t.stock[1])} ${''.padStart(15)} ${fmt(t.auto[0])}|${fmt(t.auto[1])} ${(t.stock[0] / t.auto[0]).toFixed(2).padStart(8)}  (auto)`,
    );
    dispose();
  }
}
console.log(
  `load average after ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
process.exit(0);

// resnet-ts's own wasm SIMD kernels (packages/core/wasm/kernels.c) against the same loops in
// JavaScript, inside the kernels that use them, on ResNet-18 and ResNet-50 layer shapes, and
// in whole training steps (ours: @resnet-ts/models + train): process CPU time per call, the
// two paths alternated call by call so load drifts hit both; medians.
// Usage: node own-wasm-bench.mjs [rounds] [--threads=N] [--no-steps]
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { batchNormGrad } from '@resnet-ts/core';
import { setOwnWasmKernels } from '../../packages/core/dist/kernels/own-wasm.js';
import { trainingSteps } from './training-steps.mjs';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 1);
if (threads > 1) {
  const { useThreadedWasm } = await import('@resnet-ts/core/node');
  await useThreadedWasm({ threads });
} else {
  await tf.setBackend('wasm');
}

const cpuMs = (fn) => {
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};

/**
 * Median CPU ms per call of `call` on the JavaScript loops and on the own kernels.
 * @returns {[number, number]}
 */
function alternate(call) {
  /** @type {{ js: number[], own: number[] }} */
  const times = { js: [], own: [] };
  for (let r = -1; r < rounds; r++) {
    for (const own of r % 2 ? [true, false] : [false, true]) {
      setOwnWasmKernels(own);
      const t = cpuMs(call);
      if (r >= 0) times[own ? 'own' : 'js'].push(t);
    }
  }
  setOwnWasmKernels(true);
  const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  return [median(times.js), median(times.own)];
}

function report(label, [js, own]) {
  console.log(
    `${label.padEnd(42)} ${js.toFixed(1).padStart(8)} ${own.toFixed(1).padStart(8)} ${(js / own).toFixed(2).padStart(7)}`,
  );
}

const run = (fn) => () => {
  const out = fn();
  for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
  tf.dispose(out);
};

console.log(
  `threads ${threads}, ${rounds} rounds, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'case (CPU ms per call, median)'.padEnd(42)} ${'JS'.padStart(8)} ${'own'.padStart(8)} ${'JS/own'.padStart(7)}`,
);

// [label, kernel, x shape, filter shape, stride]
/** @type {Array<[string, string, [number, number, number, number], [number, number, number, number], number]>} */
const convs = [
  ['filter 32x32, 64->64, 3x3', 'Conv2DBackpropFilter', [32, 32, 32, 64], [3, 3, 64, 64], 1],
  ['filter 16x16, 128->128, 3x3', 'Conv2DBackpropFilter', [32, 16, 16, 128], [3, 3, 128, 128], 1],
  ['filter 8x8, 256->256, 3x3', 'Conv2DBackpropFilter', [32, 8, 8, 256], [3, 3, 256, 256], 1],
  ['filter 4x4, 512->512, 3x3', 'Conv2DBackpropFilter', [32, 4, 4, 512], [3, 3, 512, 512], 1],
  ['filter 64x64, 3->64, 7x7 /2', 'Conv2DBackpropFilter', [16, 64, 64, 3], [7, 7, 3, 64], 2],
  ['input 32x32, 64->128, 3x3 /2', 'Conv2DBackpropInput', [32, 32, 32, 64], [3, 3, 64, 128], 2],
  ['input 16x16, 128->256, 3x3 /2', 'Conv2DBackpropInput', [32, 16, 16, 128], [3, 3, 128, 256], 2],
  ['input 64x64, 3->64, 7x7 /2', 'Conv2DBackpropInput', [16, 64, 64, 3], [7, 7, 3, 64], 2],
];
for (const [label, kernel, xShape, fShape, stride] of convs) {
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, stride, 1, 'same');
  const x = tf.randomUniform(xShape);
  const dy = tf.randomUniform(info.outShape);
  const filter = tf.randomUniform(fShape);
  // No dimRoundingMode: the kernels read it as undefined, and NamedAttrMap has no undefined.
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC' };
  const call = run(() =>
    kernel === 'Conv2DBackpropFilter'
      ? tf.engine().runKernel(kernel, { x, dy }, { ...attrs, filterShape: fShape })
      : tf.engine().runKernel(kernel, { dy, filter }, { ...attrs, inputShape: xShape }),
  );
  report(label, alternate(call));
  tf.dispose([x, dy, filter]);
}

{
  const input = /** @type {tf.Tensor4D} */ (tf.randomUniform([64, 32, 32, 32]));
  const output = tf.maxPool(input, 2, 2, 'valid');
  const dy = tf.randomUniform(output.shape);
  const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
  const call = run(() => tf.engine().runKernel('MaxPoolGrad', { dy, input, output }, attrs));
  report('MaxPoolGrad 2x2, 64x32x32x32', alternate(call));
  tf.dispose([input, output, dy]);
}
{
  const shape = [32, 32, 32, 64];
  const [x, dy] = [tf.randomUniform(shape), tf.randomUniform(shape)];
  const [mean, invStd, gamma] = [0, 1, 2].map(() => tf.randomUniform([64]));
  report(
    'batch-norm backward, 32x32x32x64',
    alternate(run(() => batchNormGrad(dy, x, mean, invStd, gamma))),
  );
  report('Mean over N, H, W, 32x32x32x64', alternate(run(() => tf.mean(x, [0, 1, 2]))));
  tf.dispose([x, dy, mean, invStd, gamma]);
}

if (!process.argv.includes('--no-steps')) {
  for (const [label, step, dispose] of await trainingSteps('training step, ')) {
    report(label, alternate(step));
    dispose();
  }
}
console.log(
  `load average after ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
process.exit(0);

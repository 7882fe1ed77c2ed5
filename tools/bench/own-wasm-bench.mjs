// resnet-ts's own wasm SIMD kernels (packages/core/wasm/kernels.c) against the same loops in
// JavaScript, inside the kernels that use them, on ResNet-18 and ResNet-50 layer shapes:
// process CPU time per call, the two paths alternated call by call so load drifts hit both.
// Usage: node own-wasm-bench.mjs [rounds] [--threads=N]
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@resnet-ts/core';
import { setOwnWasmKernels } from '../../packages/core/dist/kernels/own-wasm.js';

const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 1);
if (threads > 1) {
  const { useThreadedWasm } = await import('@resnet-ts/core/node');
  await useThreadedWasm({ threads });
} else {
  await tf.setBackend('wasm');
}

// [label, kernel, x shape, filter shape, stride]
const cases = [
  ['filter 32x32, 64->64, 3x3', 'Conv2DBackpropFilter', [32, 32, 32, 64], [3, 3, 64, 64], 1],
  ['filter 16x16, 128->128, 3x3', 'Conv2DBackpropFilter', [32, 16, 16, 128], [3, 3, 128, 128], 1],
  ['filter 8x8, 256->256, 3x3', 'Conv2DBackpropFilter', [32, 8, 8, 256], [3, 3, 256, 256], 1],
  ['filter 4x4, 512->512, 3x3', 'Conv2DBackpropFilter', [32, 4, 4, 512], [3, 3, 512, 512], 1],
  ['filter 64x64, 3->64, 7x7 /2', 'Conv2DBackpropFilter', [16, 64, 64, 3], [7, 7, 3, 64], 2],
  ['input 32x32, 64->128, 3x3 /2', 'Conv2DBackpropInput', [32, 32, 32, 64], [3, 3, 64, 128], 2],
  ['input 16x16, 128->256, 3x3 /2', 'Conv2DBackpropInput', [32, 16, 16, 128], [3, 3, 128, 256], 2],
  ['input 64x64, 3->64, 7x7 /2', 'Conv2DBackpropInput', [16, 64, 64, 3], [7, 7, 3, 64], 2],
];

const cpuMs = (fn) => {
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};
console.log(
  `threads ${threads}, ${rounds} rounds, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log(
  `${'case'.padEnd(34)} ${'JS ms'.padStart(8)} ${'own ms'.padStart(8)} ${'JS/own'.padStart(7)}`,
);
for (const [label, kernel, xShape, fShape, stride] of cases) {
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, stride, 1, 'same');
  const x = tf.randomUniform(xShape);
  const dy = tf.randomUniform(info.outShape);
  const filter = tf.randomUniform(fShape);
  const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const call = () => {
    const out =
      kernel === 'Conv2DBackpropFilter'
        ? tf.engine().runKernel(kernel, { x, dy }, { ...attrs, filterShape: fShape })
        : tf.engine().runKernel(kernel, { dy, filter }, { ...attrs, inputShape: xShape });
    out.dataSync();
    out.dispose();
  };
  const times = { js: [], own: [] };
  for (let r = -1; r < rounds; r++) {
    for (const own of r % 2 ? [true, false] : [false, true]) {
      setOwnWasmKernels(own);
      const t = cpuMs(call);
      if (r >= 0) times[own ? 'own' : 'js'].push(t);
    }
  }
  const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
  const js = median(times.js);
  const own = median(times.own);
  console.log(
    `${label.padEnd(34)} ${js.toFixed(1).padStart(8)} ${own.toFixed(1).padStart(8)} ${(js / own).toFixed(2).padStart(7)}`,
  );
  tf.dispose([x, dy, filter]);
}
console.log(
  `load average after ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
process.exit(0);

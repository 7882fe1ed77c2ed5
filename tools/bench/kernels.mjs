// Times each training kernel on VanResNet-like shapes (batch 64): the wasm backend's stock
// kernel (where it has one) against the one @resnet-ts/core registers. Single-threaded;
// compare within one run. Usage: node kernels.mjs [filter substring]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';

const names = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  'MaxPoolGrad',
  'Conv2D',
  'FusedConv2D',
  'AvgPoolGrad',
];
/** @type {Record<string, import('@tensorflow/tfjs-core').KernelFunc>} */
const stock = {};
for (const n of names) {
  const k = tf.getKernel(n, 'wasm');
  if (k) stock[n] = k.kernelFunc;
}
await import('@resnet-ts/core');
/** @type {Record<string, import('@tensorflow/tfjs-core').KernelFunc>} */
const ours = {};
for (const n of names) ours[n] = tf.getKernel(n, 'wasm')?.kernelFunc;

await tf.setBackend('wasm');
const backend = tf.backend();
const only = process.argv[2];

// Process CPU time, minimum over repetitions: the machine is shared, and wall time under
// contention measures the neighbours as much as the kernel.
function time(fn, reps = 10) {
  fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t0 = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

function runFn(kernel, inputs, attrs) {
  return () => {
    const out = kernel({ inputs, backend, attrs });
    backend.disposeData(out.dataId);
  };
}

const rows = [];
function report(op, shape, flops, stockFn, oursFn) {
  if (only && !op.includes(only)) return;
  const s = stockFn ? time(stockFn) : null;
  const o = oursFn && oursFn !== stockFn ? time(oursFn) : null;
  const g = (ms) =>
    ms == null ? '-' : `${ms.toFixed(2)} ms (${(flops / ms / 1e6).toFixed(1)} GFLOP/s)`;
  const speedup = s != null && o != null ? `${(s / o).toFixed(1)}x` : '-';
  rows.push({ op, shape, stock: g(s), ours: g(o), speedup });
  console.log(
    `${op.padEnd(22)} ${shape.padEnd(26)} stock ${g(s).padEnd(28)} ours ${g(o).padEnd(28)} ${speedup}`,
  );
}

const convs = [
  [64, 28, 28, 1, 32],
  [64, 14, 14, 32, 64],
  [64, 7, 7, 64, 64],
  [64, 32, 32, 3, 32],
  [64, 16, 16, 32, 64],
  [64, 8, 8, 64, 64],
  [32, 32, 32, 64, 64],
  [32, 16, 16, 128, 128],
  [32, 8, 8, 256, 256],
  [32, 4, 4, 512, 512],
];
for (const [n, h, w, ci, co] of convs) {
  const x = /** @type {tf.Tensor4D} */ (tf.randomUniform([n, h, w, ci]));
  const f = tf.randomUniform([3, 3, ci, co]);
  const dy = tf.randomUniform([n, h, w, co]);
  const flops = 2 * n * h * w * 9 * ci * co;
  const shape = `${n}x${h}x${w} ${ci}->${co}`;
  const conv = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
  report('Conv2D', shape, flops, runFn(stock.Conv2D, { x, filter: f }, conv), null);
  report(
    'Conv2DBackpropFilter',
    shape,
    flops,
    stock.Conv2DBackpropFilter &&
      runFn(stock.Conv2DBackpropFilter, { x, dy }, { ...conv, filterShape: f.shape }),
    ours.Conv2DBackpropFilter &&
      runFn(ours.Conv2DBackpropFilter, { x, dy }, { ...conv, filterShape: f.shape }),
  );
  report(
    'Conv2DBackpropInput',
    shape,
    flops,
    runFn(stock.Conv2DBackpropInput, { dy, filter: f }, { ...conv, inputShape: x.shape }),
    runFn(ours.Conv2DBackpropInput, { dy, filter: f }, { ...conv, inputShape: x.shape }),
  );
  const pool = { filterSize: 2, strides: 2, pad: 'valid' };
  const pin = /** @type {tf.Tensor4D} */ (tf.randomUniform([n, h, w, co]));
  const py = tf.maxPool(
    /** @type {tf.Tensor4D} */ (tf.randomUniform([n, h, w, co])),
    2,
    2,
    'valid',
  );
  report(
    'MaxPoolGrad',
    `${n}x${h}x${w}x${co}`,
    n * h * w * co,
    runFn(stock.MaxPoolGrad, { dy: py, input: pin, output: tf.maxPool(pin, 2, 2, 'valid') }, pool),
    runFn(ours.MaxPoolGrad, { dy: py, input: pin, output: tf.maxPool(pin, 2, 2, 'valid') }, pool),
  );
}
for (const [m, k, n] of [
  [64, 3136, 32],
  [64, 32, 10],
  [512, 512, 512],
]) {
  const a = tf.randomUniform([1, m, k]);
  const b = tf.randomUniform([1, k, n]);
  const dy = tf.randomUniform([1, m, n]);
  const flops = 2 * m * k * n;
  // The two products tfjs's matMul gradient issues for a = [m,k], b = [k,n].
  report(
    `MatMul NT (dA)`,
    `${m}x${n} . (${k}x${n})^T`,
    flops,
    runFn(stock.BatchMatMul, { a: dy, b }, { transposeA: false, transposeB: true }),
    runFn(ours.BatchMatMul, { a: dy, b }, { transposeA: false, transposeB: true }),
  );
  report(
    `MatMul TN (dB)`,
    `(${m}x${k})^T . ${m}x${n}`,
    flops,
    runFn(stock.BatchMatMul, { a, b: dy }, { transposeA: true, transposeB: false }),
    runFn(ours.BatchMatMul, { a, b: dy }, { transposeA: true, transposeB: false }),
  );
  report(
    `MatMul NN`,
    `${m}x${k} . ${k}x${n}`,
    flops,
    runFn(stock.BatchMatMul, { a, b }, { transposeA: false, transposeB: false }),
    runFn(ours.BatchMatMul, { a, b }, { transposeA: false, transposeB: false }),
  );
}

// Time per optimizer step of resnet-ts's SGD (momentum) and Adam against tfjs's own
// tf.train.momentum / tf.train.adam, side by side in one run, on the same parameters and
// gradients. Usage: pnpm --filter @resnet-ts/train build && node scripts/bench-optimizers.mjs [cpu|wasm]
import { selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, SGD } from '../dist/index.js';

const backend = /** @type {import('@resnet-ts/core').BackendName} */ (process.argv[2] ?? 'cpu');
await selectBackend([backend]);
// Roughly the parameter shapes of a small ResNet: 3x3 convs, batch norms, a head.
const shapes = [];
for (const c of [16, 32, 64, 128]) {
  for (let i = 0; i < 4; i++) shapes.push([3, 3, c, c], [c], [c]);
}
shapes.push([128, 10], [10]);
const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

function setup() {
  const params = shapes.map((s) => tf.variable(tf.randomNormal(s)));
  const grads = shapes.map((s) => tf.randomNormal(s));
  return { params, grads };
}

/** Median ms per step over `rounds` rounds, the two contenders interleaved to share the noise. */
function race(runA, runB, rounds = 15, steps = 4) {
  runA();
  runB();
  const ta = [];
  const tb = [];
  for (let r = 0; r < rounds; r++) {
    for (const [run, out] of r % 2
      ? [
          [runA, ta],
          [runB, tb],
        ]
      : [
          [runB, tb],
          [runA, ta],
        ]) {
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) run();
      out.push((performance.now() - t0) / steps);
    }
  }
  const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
  return [median(ta), median(tb)];
}

const results = [];
/** @type {Array<[string, (p: import('@tensorflow/tfjs-core').Variable[]) => { step(g: import('@tensorflow/tfjs-core').Tensor[]): void; dispose(): void }, () => import('@tensorflow/tfjs-core').Optimizer]>} */
const cases = [
  [
    'SGD momentum 0.9',
    (p) => new SGD(p, { lr: 0.01, momentum: 0.9 }),
    () => tf.train.momentum(0.01, 0.9),
  ],
  ['Adam', (p) => new Adam(p, { lr: 1e-3 }), () => tf.train.adam(1e-3, 0.9, 0.999, 1e-8)],
];
for (const [name, ours, theirs] of cases) {
  const a = setup();
  const opt = ours(a.params);
  const b = setup();
  const tfOpt = theirs();
  const named = b.params.map((p, i) => ({ name: p.name, tensor: b.grads[i] }));
  const [oursMs, theirsMs] = race(
    () => opt.step(a.grads),
    () => tfOpt.applyGradients(named),
  );
  results.push({ name, oursMs, theirsMs });
  opt.dispose();
  tfOpt.dispose();
  tf.dispose([...a.params, ...a.grads, ...b.params, ...b.grads]);
}
console.log(
  `backend ${tf.getBackend()}, ${shapes.length} tensors, ${total.toLocaleString('en-US')} parameters`,
);
for (const r of results) {
  console.log(
    `${r.name.padEnd(18)} resnet-ts ${r.oursMs.toFixed(2)} ms/step, tf.train ${r.theirsMs.toFixed(2)} ms/step, ratio ${(r.oursMs / r.theirsMs).toFixed(2)}`,
  );
}

// One benchmark measurement in a fresh process (so that backends, registered kernels and
// thread pools never leak between cases). Prints one JSON line.
// Usage: node case.mjs '{"model":"vanresnet","impl":"ours","backend":"wasm","threads":1,
//                        "batch":64,"seconds":5,"warmup":2,"warmupSeconds":1,"minSteps":2}'
//   warmup steps, then more until warmupSeconds have passed, before the timed steps.
//   model: vanresnet, resnet18 (CIFAR stem, 32x32) or resnet50 (ImageNet stem, 64x64).
//   impl: ours (resnet-ts models + train), core (hand-written tfjs-core), overhead (ours and
//         core alternated in this process, blockSteps steps at a time), layers (tfjs-layers
//         model.fit), peak (an n x n float32 matMul, on resnet-ts's own GEMM: the backend's
//         best GFLOP/s);
//   stock: true leaves out resnet-ts's kernels (tfjs as shipped).
import { performance } from 'node:perf_hooks';
import { median } from './stats.mjs';

const cfg = JSON.parse(process.argv[2]);
const { model: which, impl, backend, batch } = cfg;
const seconds = cfg.seconds ?? 5;
const warmup = cfg.warmup ?? 2;
const warmupSeconds = cfg.warmupSeconds ?? 0;
const minSteps = cfg.minSteps ?? 2;

const tf = await import('@tensorflow/tfjs-core');
if (cfg.stock) {
  // tfjs as shipped: gradients (tfjs-core registers none under Node) but no resnet-ts kernels.
  await import('../../packages/core/dist/generated/register-gradients.js');
} else {
  await import('@resnet-ts/core');
}
await import('@tensorflow/tfjs-backend-cpu');
await import('@tensorflow/tfjs-backend-wasm');
let threads = 1;
if (backend === 'wasm' && (cfg.threads ?? 1) > 1) {
  const { useThreadedWasm } = await import('@resnet-ts/core/node');
  threads = await useThreadedWasm({ threads: cfg.threads });
} else {
  await tf.setBackend(backend);
}

if (impl === 'peak') {
  // The backend's best GFLOP/s: the own GEMM on an n x n matMul, and the 3x3 convolution
  // torch-bench.py's peak mode times (256 -> 256 channels, 16x16, batch 16).
  const once = (fn) => {
    const y = fn();
    y.dataSync();
    y.dispose();
  };
  // [GFLOP per second of wall clock, per second of process CPU time]: the second holds on a
  // loaded machine, where the first measures the load.
  const rate = (fn, flops) => {
    for (let i = 0; i < 2; i++) once(fn);
    let steps = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while (steps < 3 || performance.now() - t0 < seconds * 1000) {
      once(fn);
      steps++;
    }
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    return [(flops * steps) / wall / 1e9, (flops * steps) / cpu / 1e9];
  };
  const n = cfg.n ?? 1024;
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  const mm = rate(() => tf.matMul(a, b), 2 * n ** 3);
  const xs = /** @type {import('@tensorflow/tfjs-core').Tensor4D} */ (
    tf.randomUniform([16, 16, 16, 256])
  );
  const w = /** @type {import('@tensorflow/tfjs-core').Tensor4D} */ (
    tf.randomUniform([3, 3, 256, 256])
  );
  const conv = rate(() => tf.conv2d(xs, w, 1, 'same'), 2 * 16 * 256 * 256 * 9 * 16 * 16);
  console.log(
    JSON.stringify({
      ...cfg,
      threadsUsed: threads,
      mmGflops: mm[0],
      mmGflopsCpu: mm[1],
      convGflops: conv[0],
      convGflopsCpu: conv[1],
    }),
  );
  process.exit(0);
}

const size = which === 'resnet50' ? 64 : 32;
const x = tf.randomUniform([batch, size, size, 3]);
const labels = tf.randomUniform([batch], 0, 10, 'int32');
const oneHot = tf.oneHot(labels, 10);

/** The library's training step and forward pass (models + train), as users write them. */
async function oursSteps() {
  const { VanResNet, resnet18, resnet50 } = await import('@resnet-ts/models');
  const { SGD, crossEntropy, valueAndGrads } = await import('@resnet-ts/train');
  const model =
    which === 'vanresnet'
      ? new VanResNet()
      : which === 'resnet50'
        ? resnet50({ numClasses: 10 })
        : resnet18({ numClasses: 10, stem: 'cifar' });
  const params = model.parameters();
  const opt = new SGD(params, { lr: 0.01, momentum: 0.9 });
  return {
    step: () => {
      model.train();
      const { value, grads } = valueAndGrads(
        () =>
          /** @type {import('@tensorflow/tfjs-core').Scalar} */ (
            crossEntropy(model.forward(x), labels)
          ),
        params,
      );
      opt.step(new Map(params.map((p, i) => [p, grads[i]])));
      value.dataSync();
      tf.dispose([value, ...grads]);
    },
    forward: () => {
      model.eval();
      const y = model.forward(x);
      y.dataSync();
      y.dispose();
    },
  };
}

/** The same model's step written directly on tfjs-core (models-core.mjs). */
async function coreSteps() {
  const { resNet18Core, vanResNetCore } = await import('./models-core.mjs');
  const model = which === 'vanresnet' ? vanResNetCore() : resNet18Core();
  return {
    step: () => model.step(x, oneHot),
    forward: () => {
      const y = model.forward(x);
      y.dataSync();
      y.dispose();
    },
  };
}

/**
 * Library overhead: the library's step and the hand-written one alternated in blocks of
 * steps in this one process, so that load drift and the process's own state (its memory
 * layout, what V8 compiled) weigh on both alike. Per side, the median over blocks of the
 * wall and CPU milliseconds per step.
 */
async function overheadCase() {
  const sides = { ours: await oursSteps(), core: await coreSteps() };
  const w0 = performance.now();
  for (let i = 0; i < 2 || performance.now() - w0 < warmupSeconds * 1000; i++) {
    sides.ours.step();
    sides.core.step();
  }
  /** @type {Record<string, { wall: number[], cpu: number[] }>} */
  const blocks = { ours: { wall: [], cpu: [] }, core: { wall: [], cpu: [] } };
  const perBlock = cfg.blockSteps ?? 4;
  const t0 = performance.now();
  while (blocks.core.wall.length < 3 || performance.now() - t0 < seconds * 1000) {
    // Each side goes first in every other round.
    const order = blocks.core.wall.length % 2 === 0 ? ['ours', 'core'] : ['core', 'ours'];
    for (const name of order) {
      const side = sides[/** @type {'ours' | 'core'} */ (name)];
      const c0 = process.cpuUsage();
      const b0 = performance.now();
      for (let i = 0; i < perBlock; i++) side.step();
      const c = process.cpuUsage(c0);
      blocks[name].wall.push((performance.now() - b0) / perBlock);
      blocks[name].cpu.push((c.user + c.system) / 1000 / perBlock);
    }
  }
  const out = Object.fromEntries(
    Object.entries(blocks).map(([name, b]) => [
      name,
      { msPerStep: median(b.wall), cpuMsPerStep: median(b.cpu), blocks: b.wall.length },
    ]),
  );
  console.log(JSON.stringify({ ...cfg, threadsUsed: threads, overhead: out }));
  process.exit(0);
}

let step;
let forward;
if (impl === 'overhead') {
  await overheadCase();
} else if (impl === 'ours') {
  ({ step, forward } = await oursSteps());
} else if (impl === 'core') {
  ({ step, forward } = await coreSteps());
} else if (impl === 'layers') {
  const { resNet18Layers, vanResNetLayers } = await import('./models-layers.mjs');
  const model = which === 'vanresnet' ? vanResNetLayers() : resNet18Layers();
  model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: 'categoricalCrossentropy' });
  // One fit call per step keeps the measurement comparable; fit's own per-call overhead is
  // part of what tfjs-layers costs.
  step = () => model.fit(x, oneHot, { batchSize: batch, epochs: 1, verbose: 0, shuffle: false });
  forward = () => {
    const y = /** @type {import('@tensorflow/tfjs-core').Tensor} */ (
      model.predict(x, { batchSize: batch })
    );
    y.dataSync();
    y.dispose();
  };
} else {
  throw new Error(`unknown impl ${impl}`);
}

async function measure(fn, secs, warm, min, warmSecs = 0) {
  for (let i = 0; i < warm; i++) await fn();
  const w0 = performance.now();
  while (warm > 0 && performance.now() - w0 < warmSecs * 1000) await fn();
  // Optimiser state appears on the first step, so growth is a leak only after a warm-up.
  const tensors = warm > 0 ? tf.memory().numTensors : null;
  let steps = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  while (steps < min || t - t0 < secs * 1000) {
    await fn();
    steps++;
    t = performance.now();
  }
  const c = process.cpuUsage(c0);
  const wall = (t - t0) / 1000;
  return {
    leakedTensorsPerStep: tensors == null ? null : (tf.memory().numTensors - tensors) / steps,
    imagesPerSec: (steps * batch) / wall,
    cpuImagesPerSec: (steps * batch) / ((c.user + c.system) / 1e6),
    steps,
    msPerStep: (wall * 1000) / steps,
  };
}

const train = await measure(step, seconds, warmup, minSteps, warmupSeconds);
const fwd = cfg.skipForward ? null : await measure(forward, seconds / 2, 1, minSteps);
console.log(JSON.stringify({ ...cfg, threadsUsed: threads, train, forward: fwd }));
process.exit(0);

// One benchmark measurement in a fresh process (so that backends, registered kernels and
// thread pools never leak between cases). Prints one JSON line.
// Usage: node case.mjs '{"model":"vanresnet","impl":"ours","backend":"wasm","threads":1,
//                        "batch":64,"seconds":5,"warmup":2,"minSteps":2}'
//   impl: ours (resnet-ts models + train), core (hand-written tfjs-core), layers (tfjs-layers
//         model.fit); stock: true leaves out resnet-ts's kernels (tfjs as shipped).
import { performance } from 'node:perf_hooks';

const cfg = JSON.parse(process.argv[2]);
const { model: which, impl, backend, batch } = cfg;
const seconds = cfg.seconds ?? 5;
const warmup = cfg.warmup ?? 2;
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

const size = 32;
const x = tf.randomUniform([batch, size, size, 3]);
const labels = tf.randomUniform([batch], 0, 10, 'int32');
const oneHot = tf.oneHot(labels, 10);

let step;
let forward;
if (impl === 'ours') {
  const { VanResNet, resnet18 } = await import('@resnet-ts/models');
  const { SGD, crossEntropy, valueAndGrads } = await import('@resnet-ts/train');
  const model =
    which === 'vanresnet' ? new VanResNet() : resnet18({ numClasses: 10, stem: 'cifar' });
  const params = model.parameters();
  const opt = new SGD(params, { lr: 0.01, momentum: 0.9 });
  step = () => {
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
  };
  forward = () => {
    model.eval();
    const y = model.forward(x);
    y.dataSync();
    y.dispose();
  };
} else if (impl === 'core') {
  const { resNet18Core, vanResNetCore } = await import('./models-core.mjs');
  const model = which === 'vanresnet' ? vanResNetCore() : resNet18Core();
  step = () => model.step(x, oneHot);
  forward = () => {
    const y = model.forward(x);
    y.dataSync();
    y.dispose();
  };
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

async function measure(fn, secs, warm, min) {
  for (let i = 0; i < warm; i++) await fn();
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

const train = await measure(step, seconds, warmup, minSteps);
const fwd = cfg.skipForward ? null : await measure(forward, seconds / 2, 1, minSteps);
console.log(JSON.stringify({ ...cfg, threadsUsed: threads, train, forward: fwd }));
process.exit(0);

// @resnet-ts/data throughput and prefetch benchmark; runs against the BUILT package
// (pnpm --filter @resnet-ts/data build), never part of the tests.
//
//   node tools/bench/data-bench.mjs [--steps 10] [--batch 32] [--rounds 3]   (--steps 0: part 1 only)
//
// 1. CIFAR-shaped data in memory (50,000 × 32×32×3 uint8): one shuffled epoch through
//    RandomCrop(32, padding 4) + RandomHorizontalFlip + ToTensor + Normalize and the
//    DataLoader's collate, in images/s (target ≥ 10,000 on the 2-core dev machine).
// 2. A small conv training step (tfjs-core, cpu backend) fed by the DataLoader vs the
//    same step fed one pre-built batch, interleaved; prints both and their ratio (target
//    within 5%).
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

const dataDist = new URL('../../packages/data/dist/', import.meta.url);
// Resolve tfjs from the data package so the bench and the package share one engine.
const require = createRequire(new URL('package.json', new URL('../', dataDist)));
const tf = await import(require.resolve('@tensorflow/tfjs-core'));
await import(require.resolve('@tensorflow/tfjs-backend-cpu'));
const core = await import(new URL('../../packages/core/dist/index.js', import.meta.url).href);
const data = await import(new URL('index.js', dataDist).href);

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const STEPS = arg('steps', 10);
const BATCH = arg('batch', 32);
const ROUNDS = arg('rounds', 3);
const N = 50_000;

await tf.setBackend('cpu');
const {
  Compose,
  DataLoader,
  ImageArrayDataset,
  Normalize,
  RandomCrop,
  RandomHorizontalFlip,
  ToTensor,
} = data;

const images = new Uint8Array(N * 32 * 32 * 3);
const gen = new core.Generator(0);
for (let i = 0; i < images.length; i += 4) {
  const r = gen.nextUint32();
  images[i] = r;
  images[i + 1] = r >>> 8;
  images[i + 2] = r >>> 16;
  images[i + 3] = r >>> 24;
}
const labels = Uint8Array.from({ length: N }, () => gen.randint(10));
const aug = new core.Generator(1);
const dataset = new ImageArrayDataset(images, labels, [32, 32, 3], {
  transform: new Compose([
    new RandomCrop(32, { padding: 4, generator: aug }),
    new RandomHorizontalFlip(0.5, { generator: aug }),
    new ToTensor(),
    new Normalize([0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]),
  ]),
});

// --- 1. images/s over one shuffled, augmented epoch ------------------------------------
{
  const loader = new DataLoader(dataset, { batchSize: 128, shuffle: true, seed: 0 });
  const warm = loader[Symbol.asyncIterator]();
  for (let i = 0; i < 20; i++) tf.dispose((await warm.next()).value);
  await warm.return();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let seen = 0;
  for await (const { x, y } of loader) {
    seen += x.shape[0];
    tf.dispose([x, y]);
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(
    `augmented epoch: ${seen} images in ${s.toFixed(2)} s wall = ${Math.round(seen / s)} images/s ` +
      `(${Math.round(seen / cpuS)} images per CPU-second of this process; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)\n` +
      '  pipeline: shuffle + RandomCrop(32, padding 4) + RandomHorizontalFlip + ToTensor + Normalize + collate',
  );
}

// --- 2. training loop fed by the DataLoader vs a pre-built batch -----------------------
if (STEPS === 0) process.exit(0); // --steps 0: the throughput figure alone
const init = new core.Generator(2);
// One strided conv + classifier: a small conv step, its backward pass on the cpu backend
// already hundreds of times the per-batch data work, like any real model's.
const initial = [
  init.normalTensor([3, 3, 3, 8], 0, 0.1),
  init.normalTensor([16 * 16 * 8, 10], 0, 0.01),
];
const params = { w: tf.variable(initial[0]), fc: tf.variable(initial[1]) };
tf.dispose(initial);
const vars = Object.values(params);

function step(x, y) {
  const { value, grads } = tf.variableGrads(() => {
    const h = tf.relu(tf.conv2d(x, params.w, 2, 'same'));
    const logits = tf.matMul(tf.reshape(h, [x.shape[0], -1]), params.fc);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits);
  }, vars);
  tf.tidy(() => {
    for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
  });
  tf.dispose(grads);
  return value;
}

const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function fedByLoader(steps) {
  const loader = new DataLoader(dataset, { batchSize: BATCH, shuffle: true, seed: 3 });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for await (const { x, y } of loader) {
    const loss = step(x, y);
    await loss.data();
    tf.dispose([x, y, loss]);
    if (++n === steps) break;
  }
  return { wall: performance.now() - t0, cpu: cpuMs(c0) };
}

async function fedPrebuilt(steps, x, y) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let n = 0; n < steps; n++) {
    const loss = step(x, y);
    await loss.data();
    loss.dispose();
  }
  return { wall: performance.now() - t0, cpu: cpuMs(c0) };
}

const prebuilt = await new DataLoader(dataset, { batchSize: BATCH })[Symbol.asyncIterator]().next();
const { x: px, y: py } = prebuilt.value;
await fedPrebuilt(2, px, py); // warm-up
await fedByLoader(2);
const loaderRuns = [];
const prebuiltRuns = [];
for (let round = 0; round < ROUNDS; round++) {
  prebuiltRuns.push(await fedPrebuilt(STEPS, px, py));
  loaderRuns.push(await fedByLoader(STEPS));
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const kind of ['wall', 'cpu']) {
  const l = median(loaderRuns.map((r) => r[kind])) / STEPS;
  const p = median(prebuiltRuns.map((r) => r[kind])) / STEPS;
  console.log(
    `training step (${kind} time; batch ${BATCH}, ${STEPS} steps x ${ROUNDS} interleaved rounds, median): ` +
      `DataLoader-fed ${l.toFixed(1)} ms/step, pre-built batch ${p.toFixed(1)} ms/step, ` +
      `ratio ${(l / p).toFixed(3)} (${((l / p - 1) * 100).toFixed(1)}% slower)`,
  );
}
tf.dispose([px, py, ...vars]);
console.log(`live tensors at the end: ${tf.memory().numTensors}`);

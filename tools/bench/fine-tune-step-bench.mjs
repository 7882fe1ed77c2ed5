// A DataLoader-fed ResNet-18 fine-tuning step against the same step on a pre-built batch,
// measured side by side, alternated, in one run; reads the BUILT packages (pnpm build), never
// part of the tests.
//
//   node tools/bench/fine-tune-step-bench.mjs [--images 96] [--batch 16] [--size 224]
//       [--workers 2] [--prefetch 2] [--steps 3] [--rounds 3] [--threads 2] [--freeze]
//
// The data side is the user's folder path: ImageFolder over drawn-shape pictures of
// ~500×375 (JPEG and PNG, tools/shapes, cached under the OS temp folder) → RandomResizedCrop
// + flip + ToTensor + Normalize in a WorkerPoolDataset of --workers threads → DataLoader with
// --prefetch. The step is ResNet-18 (ImageNet stem, a 4-class head) forward, cross-entropy,
// backward and SGD on the threaded wasm backend, as the command line trains. Each round runs
// --steps steps on one pre-built batch, then --steps steps from a fresh pass of the loader
// (its first batch waits for decoding: the cost an epoch start has). Prints each round, then
// the median and the minimum over rounds of the mean step time, wall clock and CPU time of
// this process (the workers' included), their ratios and the load average. On a shared
// machine the CPU-time ratio is the steadier figure: a wall-clock round also measures
// whoever else ran during it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const dist = (p) => new URL(`../../packages/${p}`, import.meta.url).href;
const require = createRequire(fileURLToPath(dist('data/package.json')));
const tf = await import(require.resolve('@tensorflow/tfjs-core'));
const core = await import(dist('core/dist/index.js'));
const coreNode = await import(dist('core/dist/node.js'));
const data = await import(dist('data/dist/index.js'));
const dataNode = await import(dist('data/dist/node/index.js'));
const models = await import(dist('models/dist/index.js'));
const train = await import(dist('train/dist/index.js'));
const { makeShapesFolder } = await import('../shapes/shapes.mjs');

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '96' },
    batch: { type: 'string', default: '16' },
    size: { type: 'string', default: '224' },
    workers: { type: 'string', default: '2' },
    prefetch: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: String(cpus().length) },
    freeze: { type: 'boolean', default: false },
  },
});
const [IMAGES, BATCH, SIZE, WORKERS, PREFETCH, STEPS, ROUNDS, THREADS] = [
  'images',
  'batch',
  'size',
  'workers',
  'prefetch',
  'steps',
  'rounds',
  'threads',
].map((k) => Number(values[k]));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const threads = await coreNode.useThreadedWasm({ threads: THREADS });
await tf.setBackend('wasm');

const root = join(tmpdir(), `resnet-ts-bench-shapes-${IMAGES}`);
if (!existsSync(join(root, 'train'))) {
  console.log(`writing ${IMAGES} drawn-shape pictures of ~500×375 to ${root} …`);
  await makeShapesFolder(root, {
    seed: 5,
    train: Math.ceil(IMAGES / 4),
    val: 0,
    minSize: 375,
    maxSize: 500,
    corrupt: false,
  });
}

const pool = await dataNode.WorkerPoolDataset.open(
  new URL('./fine-tune-step-worker.mjs', import.meta.url),
  { numWorkers: WORKERS, seed: 0, args: { root: join(root, 'train'), size: SIZE } },
);
const loader = new data.DataLoader(pool, {
  batchSize: BATCH,
  shuffle: true,
  seed: 0,
  prefetch: PREFETCH,
  dropLast: true,
});
if (loader.length < STEPS) {
  throw new Error(
    `--images ${IMAGES} gives ${loader.length} batches of ${BATCH}; need --steps ${STEPS}`,
  );
}

const model = models.resnet18({ numClasses: 4, generator: new core.Generator(0) });
if (values.freeze) {
  model.requiresGrad(false);
  model.fc.requiresGrad(true);
}
const params = model.parameters().filter((p) => p.trainable);
const optimizer = new train.SGD(params, { lr: 0.001, momentum: 0.9 });
model.train();

/** One fine-tuning step; resolves once the loss has been read, as a training loop does. */
async function step(x, y) {
  const { value, grads } = train.valueAndGrads(
    () => train.crossEntropy(model.forward(x), y),
    params,
  );
  optimizer.step(new Map(params.map((p, k) => [p, grads[k]])));
  tf.dispose(grads);
  await value.data();
  value.dispose();
}

const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function prebuiltRound(x, y) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let n = 0; n < STEPS; n++) await step(x, y);
  return { wall: (performance.now() - t0) / STEPS, cpu: cpuMs(c0) / STEPS };
}

async function loaderRound() {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for await (const { x, y } of loader) {
    await step(x, y);
    tf.dispose([x, y]);
    if (++n === STEPS) break;
  }
  return { wall: (performance.now() - t0) / STEPS, cpu: cpuMs(c0) / STEPS };
}

console.log(
  `${cpus().length} CPUs (${cpus()[0]?.model}); wasm on ${threads} threads; ResNet-18 ${values.freeze ? 'head only (backbone frozen)' : 'whole model'}, ` +
    `batch ${BATCH} of ${SIZE}×${SIZE}; ${WORKERS} workers, prefetch ${PREFETCH}; ${STEPS} steps × ${ROUNDS} rounds; load ${load()}`,
);
const first = await loader[Symbol.asyncIterator]().next();
const { x: px, y: py } = first.value;
// Warm-up: kernels' first compilation, the workers' JIT and the file cache.
await prebuiltRound(px, py);
await loaderRound();
const fed = [];
const prebuilt = [];
for (let r = 0; r < ROUNDS; r++) {
  prebuilt.push(await prebuiltRound(px, py));
  fed.push(await loaderRound());
  console.log(
    `round ${r + 1}: pre-built ${prebuilt[r].wall.toFixed(0)} ms/step, DataLoader-fed ${fed[r].wall.toFixed(0)} ms/step ` +
      `(CPU ${prebuilt[r].cpu.toFixed(0)} / ${fed[r].cpu.toFixed(0)} ms/step); load ${load()}`,
  );
}
const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const result = {};
for (const kind of ['wall', 'cpu']) {
  // The median is the typical round; the minimum, the round least disturbed by other processes.
  /** @type {[string, (a: number[]) => number][]} */
  const stats = [
    ['median', median],
    ['min', (a) => Math.min(...a)],
  ];
  for (const [stat, f] of stats) {
    const fedMs = f(fed.map((r) => r[kind]));
    const prebuiltMs = f(prebuilt.map((r) => r[kind]));
    result[`${kind}-${stat}`] = {
      fed: Math.round(fedMs),
      prebuilt: Math.round(prebuiltMs),
      ratio: Number((fedMs / prebuiltMs).toFixed(3)),
    };
    console.log(
      `${kind === 'wall' ? 'wall time' : 'CPU time (this process and its workers)'}, ${stat} of rounds: ` +
        `DataLoader-fed ${fedMs.toFixed(0)} ms/step, pre-built batch ${prebuiltMs.toFixed(0)} ms/step, ratio ${(fedMs / prebuiltMs).toFixed(3)}`,
    );
  }
}
console.log(
  JSON.stringify({
    batch: BATCH,
    size: SIZE,
    workers: WORKERS,
    prefetch: PREFETCH,
    load: load(),
    ...result,
  }),
);
tf.dispose([px, py]);
await pool.close();
process.exit(0);

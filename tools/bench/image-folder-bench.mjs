// ImageFolder input-pipeline throughput against torchvision, side by side in one run; reads
// the BUILT packages (pnpm build), never part of the tests.
//
//   node tools/bench/image-folder-bench.mjs [--images 320] [--workers 2] [--batch 32] [--rounds 2]
//
// Writes a folder of ~500×375 JPEGs (4 classes, seeded, cached under the OS temp folder), then
// alternates: resnet-ts (loadImageFolder → WorkerPoolDataset with --workers threads →
// DataLoader, prefetch 2) and torchvision (ImageFolder + DataLoader(num_workers=--workers),
// /usr/bin/python3 with Debian's python3-torchvision), each one epoch of decode +
// RandomResizedCrop(224) + flip + ToTensor + Normalize per round after a warm-up epoch. Prints
// images/s and CPU time per image (all threads or processes of each side) per round, then the
// ratio resnet-ts / torchvision of the best and of the median rounds, and the load average.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { arg, benchFolder, core, data, dataNode, require, tf } from './image-folder-setup.mjs';

/** @type {typeof import('sharp')} */
const sharp = require('sharp');

const IMAGES = arg('images', 320);
const WORKERS = arg('workers', 2);
const BATCH = arg('batch', 32);
const ROUNDS = arg('rounds', 2);
const CLASSES = ['bird', 'car', 'dog', 'tree'];
const plainCrop = !data.RandomResizedCrop;

/** Smooth seeded pictures with some texture, so JPEG sizes are photo-like (~30-60 KB). */
async function makeFolder(root) {
  const g = new core.Generator(1);
  for (let i = 0; i < IMAGES; i++) {
    const w = 480 + g.randint(41);
    const h = 360 + g.randint(31);
    const px = new Uint8Array(w * h * 3);
    const [a, b, c] = [g.uniform(0.01, 0.05), g.uniform(0.01, 0.05), g.uniform(0, 6)];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = (y * w + x) * 3;
        const n = g.randint(24);
        px[k] = 128 + 100 * Math.sin(a * x + c) + n - 12;
        px[k + 1] = 128 + 100 * Math.cos(b * y - c) + n - 12;
        px[k + 2] = 128 + 100 * Math.sin(a * x + b * y) + n - 12;
      }
    }
    const dir = join(root, CLASSES[i % CLASSES.length]);
    mkdirSync(dir, { recursive: true });
    const jpeg = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    writeFileSync(join(dir, `${String(i).padStart(5, '0')}.jpg`), jpeg);
  }
}

async function ours(root) {
  const pool = await dataNode.WorkerPoolDataset.open(
    new URL('./image-folder-worker.mjs', import.meta.url),
    {
      numWorkers: WORKERS,
      seed: 0,
      args: { root },
    },
  );
  try {
    const loader = new data.DataLoader(pool, { batchSize: BATCH, shuffle: true, seed: 0 });
    const epoch = async () => {
      const c = process.cpuUsage(); // every thread of the process: main, workers, decoders
      const t = performance.now();
      let n = 0;
      for await (const { x, y } of loader) {
        n += x.shape[0];
        tf.dispose([x, y]);
      }
      const cpu = process.cpuUsage(c);
      return {
        rate: n / ((performance.now() - t) / 1000),
        cpuPerImage: (cpu.user + cpu.system) / 1e6 / n,
      };
    };
    await epoch(); // warm-up: workers' JIT, file cache
    return await epoch();
  } finally {
    await pool.close();
  }
}

function torchvision(root) {
  const script = fileURLToPath(new URL('./image-folder-torch.py', import.meta.url));
  const args = [
    script,
    root,
    '--workers',
    String(WORKERS),
    '--batch',
    String(BATCH),
    '--epochs',
    '2',
  ];
  if (plainCrop) args.push('--plain-crop');
  const out = JSON.parse(
    execFileSync('/usr/bin/python3', args, { encoding: 'utf8' }).trim().split('\n').at(-1) ?? '{}',
  );
  return {
    rate: out.images_per_s[1],
    cpuPerImage: out.cpu_s_per_image[1],
    version: out.torchvision,
  };
}

await tf.setBackend('cpu');
const root = benchFolder(IMAGES);
if (!existsSync(join(root, CLASSES[0]))) {
  console.log(`writing ${IMAGES} JPEGs of ~500×375 to ${root} …`);
  await makeFolder(root);
}
console.log(
  `${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ` + `${IMAGES} images, batch ${BATCH}, ${WORKERS} workers, ${ROUNDS} rounds`,
);
if (plainCrop) {
  console.log('note: this build has no RandomResizedCrop; both sides use a plain RandomCrop(224)');
}
const mine = [];
const theirs = [];
let version = '';
for (let r = 0; r < ROUNDS; r++) {
  mine.push(await ours(root));
  const t = torchvision(root);
  theirs.push(t);
  version = t.version;
  console.log(
    `round ${r + 1}: resnet-ts ${mine[r].rate.toFixed(1)} img/s (${(mine[r].cpuPerImage * 1000).toFixed(2)} CPU-ms/img), ` +
      `torchvision ${t.rate.toFixed(1)} img/s (${(t.cpuPerImage * 1000).toFixed(2)} CPU-ms/img)`,
  );
}
const best = (xs) => Math.max(...xs);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rates = (xs) => xs.map((x) => x.rate);
const perCpu = (xs) => xs.map((x) => 1 / x.cpuPerImage);
const round1 = (v) => Number(v.toFixed(1));
const result = {
  pipeline: `decode + ${plainCrop ? 'RandomCrop' : 'RandomResizedCrop'}(224) + flip + ToTensor + Normalize`,
  images: IMAGES,
  workers: WORKERS,
  rounds: ROUNDS,
  resnetTs: round1(best(rates(mine))),
  torchvision: round1(best(rates(theirs))),
  torchvisionVersion: version,
  ratio: Number((best(rates(mine)) / best(rates(theirs))).toFixed(2)),
  ratioOfMedians: Number((median(rates(mine)) / median(rates(theirs))).toFixed(2)),
  imagesPerCpuSecond: {
    resnetTs: round1(median(perCpu(mine))),
    torchvision: round1(median(perCpu(theirs))),
  },
  loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
};
console.log(
  `resnet-ts / torchvision ${version}: ${result.ratio}× best (${result.resnetTs} vs ${result.torchvision} images/s), ` +
    `${result.ratioOfMedians}× median; images per CPU-second ${result.imagesPerCpuSecond.resnetTs} vs ` +
    `${result.imagesPerCpuSecond.torchvision}; load ${result.loadAverage.join(' ')}`,
);
console.log(JSON.stringify(result));

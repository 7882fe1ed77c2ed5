// Per-stage CPU milliseconds (all threads of the process, so sharp's decoder threads count)
// of the ImageFolder pipeline, one picture at a time, over the folder image-folder-bench.mjs
// writes (run that first): read, decode (sharp, as on the main thread, and the WebAssembly
// decoder a pool's workers use), RandomResizedCrop(224), flip, ToTensor + Normalize,
// the whole Compose (which runs the four as one pass), collate, tensor creation. Reads the
// BUILT packages.
//
//   node tools/bench/image-folder-stages.mjs [--images 160] [--rounds 5]
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { arg, benchFolder, core, data, dataNode, tf } from './image-folder-setup.mjs';

/** @type {typeof import('../../packages/data/dist/node/jpeg-decoder.js')} */
const { decodeJpegWasm } = await import(
  new URL('../../packages/data/dist/node/jpeg-decoder.js', import.meta.url).href
);

const IMAGES = arg('images', 160);
const ROUNDS = arg('rounds', 5);
const root = benchFolder(IMAGES);
const files = readdirSync(root).flatMap((c) =>
  readdirSync(join(root, c)).map((f) => join(root, c, f)),
);

await tf.setBackend('cpu');
const g = new core.Generator(0);
const crop = new data.RandomResizedCrop(224, { generator: g, antialias: true });
const flip = new data.RandomHorizontalFlip(1);
const scaleNorm = new data.Compose([
  new data.ToTensor(),
  new data.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD),
]);
const full = new data.Compose([
  new data.RandomResizedCrop(224, { generator: g, antialias: true }),
  new data.RandomHorizontalFlip(0.5, { generator: g }),
  new data.ToTensor(),
  new data.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD),
]);

const stages = {};
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const time = async (name, fn) => {
  const t = cpuMs();
  const r = await fn();
  stages[name] = (stages[name] ?? 0) + cpuMs() - t;
  return r;
};
const best = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const k of Object.keys(stages)) delete stages[k];
  const out = [];
  for (const f of files) {
    const bytes = await time('read file', () => readFileSync(f));
    const dec = await time('decode (decodeImage, sharp)', () => dataNode.decodeImage(bytes, f));
    await time("decode (WebAssembly, the workers' path)", () => decodeJpegWasm(bytes));
    const img = { image: dec.data, shape: [dec.height, dec.width, 3] };
    const c = await time('RandomResizedCrop(224) antialias', () => crop.apply(img));
    const fl = await time('flip (always)', () => flip.apply(c));
    const n = await time('ToTensor + Normalize (fused)', () => scaleNorm.apply(fl));
    await time('whole Compose (half flipped)', () => full.apply(img));
    out.push({ image: n.image, shape: n.shape, label: 0 });
    if (out.length === 32) {
      const packed = await time('collate (per image)', () => data.packImages(out));
      const b = await time('tensor4d (per image)', () => data.packedToBatch(packed));
      tf.dispose([b.x, b.y]);
      out.length = 0;
    }
  }
  for (const [k, v] of Object.entries(stages))
    best[k] = Math.min(best[k] ?? Infinity, v / files.length);
}
console.log(
  `load ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${files.length} files, best of ${ROUNDS}`,
);
for (const [k, v] of Object.entries(best)) console.log(`${k.padEnd(36)} ${v.toFixed(3)} ms`);

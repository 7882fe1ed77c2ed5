// Milliseconds per RandomResizedCrop(224) of a 500×375 uint8 picture, the transform alone
// (no decode), with and without antialias; reads the BUILT packages (pnpm build).
//
//   node tools/bench/resized-crop-bench.mjs [--iters 300]
import { performance } from 'node:perf_hooks';

const dist = (p) => new URL(`../../packages/${p}`, import.meta.url).href;
const core = await import(dist('core/dist/index.js'));
const data = await import(dist('data/dist/index.js'));

const i = process.argv.indexOf('--iters');
const ITERS = i >= 0 ? Number(process.argv[i + 1]) : 300;
const [H, W] = [375, 500];
const pixels = new Uint8Array(H * W * 3);
for (let k = 0; k < pixels.length; k++) pixels[k] = (k * 2654435761) >>> 24;
const input = { image: pixels, shape: [H, W, 3] };

for (const antialias of [false, true]) {
  const crop = new data.RandomResizedCrop(224, { generator: new core.Generator(0), antialias });
  for (let k = 0; k < 50; k++) crop.apply(input); // JIT warm-up
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = performance.now();
    for (let k = 0; k < ITERS; k++) crop.apply(input);
    best = Math.min(best, (performance.now() - t) / ITERS);
  }
  console.log(
    `RandomResizedCrop(224) antialias=${antialias}: ${best.toFixed(3)} ms per 500×375 picture`,
  );
}

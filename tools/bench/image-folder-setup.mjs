// What the ImageFolder benchmarks (image-folder-bench.mjs, image-folder-stages.mjs) share: the
// BUILT packages on tfjs's CPU backend, their numeric options and the cached folder of JPEGs
// that image-folder-bench.mjs writes.
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = (p) => new URL(`../../packages/${p}`, import.meta.url).href;
/** `require` as seen from packages/data, so tfjs and sharp resolve to the packages' copies. */
export const require = createRequire(fileURLToPath(dist('data/package.json')));
export const tf = await import(require.resolve('@tensorflow/tfjs-core'));
await import(require.resolve('@tensorflow/tfjs-backend-cpu'));
export const core = await import(dist('core/dist/index.js'));
export const data = await import(dist('data/dist/index.js'));
export const dataNode = await import(dist('data/dist/node/index.js'));

/** The number after `--name` on the command line, or `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Where image-folder-bench.mjs caches its folder of `images` JPEGs. */
export function benchFolder(images) {
  return join(tmpdir(), `resnet-ts-bench-folder-${images}`);
}

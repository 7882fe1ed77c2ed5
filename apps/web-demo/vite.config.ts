import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const pkgSrc = (name: string) =>
  fileURLToPath(new URL(`../../packages/${name}/src/index.ts`, import.meta.url));

/**
 * Cross-origin isolation: with these two headers the page and its workers get
 * SharedArrayBuffer, which tfjs's threaded wasm build needs. A deployment must send them too
 * (see README); without them the page still works, on one wasm thread.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * The workspace packages are bundled from their TypeScript source, so the page always runs
 * the code in the tree (no stale dist) and `vite build` needs no prior package builds.
 */
export default defineConfig({
  base: './',
  resolve: {
    alias: [
      { find: /^@resnet-ts\/core$/, replacement: pkgSrc('core') },
      { find: /^@resnet-ts\/layers$/, replacement: pkgSrc('layers') },
      { find: /^@resnet-ts\/data$/, replacement: pkgSrc('data') },
      { find: /^@resnet-ts\/train$/, replacement: pkgSrc('train') },
      { find: /^@resnet-ts\/models$/, replacement: pkgSrc('models') },
    ],
  },
  worker: {
    format: 'es',
    rolldownOptions: { checks: { bundlerTimings: false, ineffectiveDynamicImport: false } },
  },
  build: {
    target: 'es2022',
    // tfjs and its backends are large; the warning would fire on every build.
    chunkSizeWarningLimit: 4000,
    // Binary assets (the MNIST digits, .wasm) stay separate files, loaded on demand.
    assetsInlineLimit: 0,
    rolldownOptions: {
      // Timing reports are noise on a shared CI machine, and a backend the page imports
      // (src/backends.ts) is also one core's backend selection may import dynamically.
      checks: { bundlerTimings: false, ineffectiveDynamicImport: false },
    },
  },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
});

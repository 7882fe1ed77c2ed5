import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkgSrc = (name: string) =>
  fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

/**
 * Tests run against each workspace package's source, so a change in `core` is seen by
 * `layers` tests without a rebuild.
 */
export const sharedConfig = defineConfig({
  resolve: {
    alias: {
      '@resnet-ts/core': pkgSrc('core'),
      '@resnet-ts/layers': pkgSrc('layers'),
      '@resnet-ts/data': pkgSrc('data'),
      '@resnet-ts/train': pkgSrc('train'),
      '@resnet-ts/models': pkgSrc('models'),
    },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run sum the tests of every package into one line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});

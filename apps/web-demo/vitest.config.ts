import { defineConfig } from 'vitest/config';

/**
 * The browser tests drive Chromium from Node against the built site; nothing is aliased
 * because the tests never import the page's code.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 480_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One Chromium at a time: the machine has two cores and SwiftShader wants both.
    fileParallelism: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});

import { fileURLToPath } from 'node:url';
import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared';

// The shared alias maps '@resnet-ts/core' to core's index.ts, which would turn the
// '@resnet-ts/core/node' subpath into a path under that file; point it at node.ts first.
export default mergeConfig(sharedConfig, {
  resolve: {
    alias: [
      {
        find: /^@resnet-ts\/core\/node$/,
        replacement: fileURLToPath(new URL('../core/src/node.ts', import.meta.url)),
      },
    ],
  },
});

import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// The embedded-digits tests read dist/assets/mnist-digits.bin, which the build generates.
export default mergeConfig(sharedConfig, {
  test: { globalSetup: ['./scripts/vitest-global-setup.ts'] },
});

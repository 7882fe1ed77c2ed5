import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

/** Each file packs and installs with npm: one at a time on a small machine. */
export default mergeConfig(sharedConfig, defineConfig({ test: { fileParallelism: false } }));

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Every workspace package's entry points, mapped from its exports map (`./dist/x.js`) to
 * the source (`./src/x.ts`), so tests see a change in `core` without a rebuild and
 * subpaths such as `@resnet-ts/core/node` resolve too.
 */
function sourceAliases(): Array<{ find: RegExp; replacement: string }> {
  const aliases: Array<{ find: RegExp; replacement: string }> = [];
  for (const dir of readdirSync(packagesDir)) {
    let pkg: { name?: string; exports?: Record<string, unknown> };
    try {
      pkg = JSON.parse(readFileSync(`${packagesDir}${dir}/package.json`, 'utf8'));
    } catch {
      continue;
    }
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const file = typeof target === 'string' ? target : (target as { import?: string }).import;
      if (!pkg.name || !file?.startsWith('./dist/') || !file.endsWith('.js')) continue;
      const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
      const source = file.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
      aliases.push({
        find: new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`),
        replacement: `${packagesDir}${dir}/${source.slice(2)}`,
      });
    }
  }
  return aliases;
}

/** The vitest settings every package shares. */
export const sharedConfig = defineConfig({
  resolve: { alias: sourceAliases() },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run sum the tests of every package into one line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});

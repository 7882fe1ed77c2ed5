// tfjs-core ships its gradient registrations only as extensionless ESM
// (`dist/register_all_gradients`), which Node cannot load. Bundling that module
// yields one self-contained file that registers every gradient and chained op into the shared
// engine (tfjs keeps its registries on globalThis), under Node, vitest and bundlers.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'generated');
const outFile = join(outDir, 'register-gradients.js');
const bundlerFile = join(outDir, 'register-gradients.bundler.js');
if (process.argv.includes('--if-missing') && existsSync(outFile) && existsSync(bundlerFile)) {
  process.exit(0);
}

const require = createRequire(import.meta.url);
const corePkg = require.resolve('@tensorflow/tfjs-core/package.json');
const dist = join(dirname(corePkg), 'dist');
// Chained ops (`x.add(y)`, `x.mean()`) live behind the same extensionless imports.
const entry = [
  `import ${JSON.stringify(join(dist, 'register_all_gradients.js'))};`,
  `import ${JSON.stringify(join(dist, 'public', 'chained_ops', 'register_all_chained_ops.js'))};`,
].join('\n');

mkdirSync(outDir, { recursive: true });
const tmp = `${outFile}.${process.pid}.tmp`;
await build({
  stdin: { contents: entry, resolveDir: dist, loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  outfile: tmp,
  logLevel: 'warning',
});
renameSync(tmp, outFile);
// Bundlers read tfjs-core's ESM (extensionless imports are no problem for them), so browser
// builds get the same registrations without a second copy of tfjs-core's engine and ops:
// package.json's `browser` field swaps this file in.
writeFileSync(
  bundlerFile,
  [
    "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
    "import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';",
    '',
  ].join('\n'),
);
writeFileSync(
  join(outDir, 'register-gradients.d.ts'),
  '// Side-effect module: registers tfjs-core gradients.\nexport {};\n',
);

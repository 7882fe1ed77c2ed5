// Bundles the CLI and the @resnet-ts packages it uses into dist/, so the packed tarball
// installs as a command by itself (`npm i -g ./resnet-ts-node-trainer-x.y.z.tgz`). The
// package's own dependencies (tfjs-core, its backends, commander, the image decoders) stay
// real imports: one tfjs engine, the backends' .wasm files where the backends expect them.
// The embedded MNIST digits go to assets/, where @resnet-ts/data looks beside dist/.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
const external = [
  ...Object.keys(pkg.dependencies ?? {}),
  '@tensorflow/*',
  // Dawn for Node: optional, large and native; found at run time if the user installed it.
  'webgpu',
];

const require = createRequire(join(app, 'package.json'));
const data = dirname(require.resolve('@resnet-ts/data/package.json'));

rmSync(join(app, 'dist'), { recursive: true, force: true });
await build({
  // The folder dataset's decoding workers load `./folder-worker.js` beside the module that
  // starts them, which in the bundle is a chunk in dist/.
  entryPoints: {
    cli: join(app, 'src', 'cli.ts'),
    'folder-worker': join(data, 'dist', 'node', 'folder-worker.js'),
  },
  outdir: join(app, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Every chunk sits in dist/ beside cli.js, so @resnet-ts/data's `../assets/` is assets/.
  chunkNames: '[name]-[hash]',
  legalComments: 'eof',
  logLevel: 'warning',
});

mkdirSync(join(app, 'assets'), { recursive: true });
copyFileSync(
  join(data, 'dist', 'assets', 'mnist-digits.bin'),
  join(app, 'assets', 'mnist-digits.bin'),
);

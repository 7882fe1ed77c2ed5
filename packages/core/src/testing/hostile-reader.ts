/**
 * Reads one file the way the project reads untrusted input, in a child process of
 * hostile-input.test.ts: `node reader.mjs <safetensors|json> <path> [maxBytes]`. Prints the
 * error as one line `Name: message` on stderr (exit 1) or `ok` (exit 0), then the peak RSS
 * in KB as JSON on stdout's last line.
 */
import * as v from 'valibot';
import { loadSafetensors, readJsonFile } from '../node.js';

const pointer = v.object({ latest: v.string(), epoch: v.pipe(v.number(), v.integer()) });

const [kind, path, maxBytes] = process.argv.slice(2);
try {
  const limit = maxBytes ? { maxBytes: Number(maxBytes) } : {};
  if (kind === 'safetensors') await loadSafetensors(path, limit);
  else await readJsonFile(pointer, path, limit);
  process.stdout.write('ok\n');
} catch (e) {
  const error = e as Error;
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exitCode = 1;
}
process.stdout.write(`${JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })}\n`);

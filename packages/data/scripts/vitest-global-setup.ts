import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Generates the embedded digits asset before the tests when it is missing. */
export default function setup(): void {
  const script = fileURLToPath(new URL('./build-mnist-digits.mjs', import.meta.url));
  execFileSync(process.execPath, [script, '--if-missing'], { stdio: 'inherit' });
}

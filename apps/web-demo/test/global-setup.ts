import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noChromium } from './chromium.js';

const app = fileURLToPath(new URL('..', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The tests run against the production build. `turbo run test` has built it already; run
 * directly, the suite rebuilds when the page's or the packages' sources are newer than it.
 */
export default function setup(): void {
  mkdirSync(join(app, 'test-results'), { recursive: true });
  // Nothing will open the site: the tests are skipped (see chromium.ts).
  if (noChromium) return;
  const built = join(app, 'dist', 'index.html');
  const packages = join(app, '..', '..', 'packages');
  const sources = [
    newest(join(app, 'src')),
    statSync(join(app, 'index.html')).mtimeMs,
    ...readdirSync(packages).map((p) => newest(join(packages, p, 'src'))),
  ];
  const stale = !existsSync(built) || Math.max(...sources) > statSync(built).mtimeMs;
  if (stale) {
    execFileSync(
      process.execPath,
      [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
      {
        cwd: app,
        stdio: 'inherit',
      },
    );
  }
}

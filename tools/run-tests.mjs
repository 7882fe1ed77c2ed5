// The README's test command (`pnpm test`): every package's tests through turbo, one at a
// time (the browser and SwiftShader tests want the whole machine), then the closing line
// `N passed, N failed, N skipped` with what was skipped and why. Exits non-zero when
// anything failed or did not report.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Reports from an earlier run must not be summed as this one's.
for (const group of ['packages', 'apps', 'tools']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    rmSync(join(dir, entry.name, 'test-results', 'vitest.json'), { force: true });
  }
}
const start = Date.now();
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
const shell = process.platform === 'win32';
const turbo = spawnSync(
  'turbo',
  ['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)],
  { cwd: root, env, stdio: 'inherit', shell },
);
console.log(
  `test suite: ${Math.round((Date.now() - start) / 1000)} s, turbo exit code ${turbo.status}`,
);
// With a filter (`pnpm test --filter=...`) the packages left out have no report to sum.
const filtered = process.argv.length > 2 ? ['--allow-missing'] : [];
const sum = spawnSync(
  process.execPath,
  [join(root, 'tools', 'sum-test-results.mjs'), ...filtered],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(turbo.status === 0 && sum.status === 0 ? 0 : 1);

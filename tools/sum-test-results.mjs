// Sums the vitest JSON reports of every workspace package into one closing line,
// `N passed, N failed, N skipped`, after listing what was skipped and why (tests that
// skip themselves put the reason, with the install command, in their `skipReason` meta).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// Set by the test command when a filter ran only some packages.
const allowMissing = process.argv.includes('--allow-missing');
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
/** reason -> the packages and how many of their tests it skipped */
const reasons = new Map();
for (const group of ['packages', 'apps', 'tools']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (!existsSync(join(pkg, 'package.json'))) continue;
    const scripts = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).scripts ?? {};
    if (!scripts.test) continue;
    const report = join(pkg, 'test-results', 'vitest.json');
    if (!existsSync(report)) {
      if (allowMissing) continue;
      missing.push(`${group}/${name}`);
      failed += 1;
      continue;
    }
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    // A test file that failed before any of its tests ran (an import error) has no failed
    // test to count; it counts as one failure. Failed describe blocks are not counted again.
    for (const file of r.testResults ?? []) {
      const ran = (file.assertionResults ?? []).some((t) => t.status === 'failed');
      if (file.status === 'failed' && !ran) failed += 1;
    }
    skipped += r.numPendingTests + r.numTodoTests;
    for (const file of r.testResults ?? []) {
      for (const t of file.assertionResults ?? []) {
        if (t.status !== 'skipped' && t.status !== 'pending' && t.status !== 'todo') continue;
        const reason = t.meta?.skipReason ?? 'skipped in the test file (it.skip or todo)';
        const where = `${group}/${name}`;
        const counts = reasons.get(reason) ?? new Map();
        counts.set(where, (counts.get(where) ?? 0) + 1);
        reasons.set(reason, counts);
      }
    }
  }
}
for (const [reason, counts] of reasons) {
  const where = [...counts].map(([pkg, n]) => `${pkg} (${n})`).join(', ');
  console.log(`skipped: ${where}: ${reason}`);
}
for (const m of missing) console.log(`no test report from ${m}: counted as one failure`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);

// How a training step's time spreads, one thread against N: the library's step (as `pnpm
// bench` runs it) timed one step at a time, in child processes that alternate between the
// thread counts, each warmed up first as `pnpm bench` warms its rows (warmup.mjs). Prints
// each run's percentiles and mean, and the second thread's speed-up from the medians and from
// the means: throughput follows the mean, so a gap between the two is time lost to slow steps
// (a worker the system preempted, another thread spinning beside it), not to the kernels'
// split.
// Usage: node step-tails.mjs [vanresnet|resnet18] [--steps=N] [--runs=N] [--threads=N]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';
import { warmupSeconds } from './warmup.mjs';

const option = (name, fallback) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const which = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'vanresnet';
const steps = option('steps', which === 'vanresnet' ? 300 : 15);
const runs = option('runs', 3);
const threads = option('threads', 2);

if (process.env.STEP_TAILS_CHILD) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-wasm');
  await import('@resnet-ts/core');
  const n = Number(process.env.STEP_TAILS_CHILD);
  if (n > 1) {
    const { useThreadedWasm } = await import('@resnet-ts/core/node');
    await useThreadedWasm({ threads: n });
  } else {
    await tf.setBackend('wasm');
  }
  const { trainingSteps } = await import('./training-steps.mjs');
  const all = await trainingSteps('');
  const [, step] = all[which === 'vanresnet' ? 0 : 1];
  const warmup = warmupSeconds[which] * 1000;
  for (const t = performance.now(); performance.now() - t < warmup; ) step();
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    step();
    times.push(performance.now() - t);
  }
  console.log(JSON.stringify(times));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
/** Milliseconds of each step of one child run on `n` threads. */
function run(n) {
  const out = execFileSync(process.execPath, [self, ...process.argv.slice(2)], {
    env: { ...process.env, STEP_TAILS_CHILD: String(n) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '[]');
}
const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const f = (v) => v.toFixed(2).padStart(7);

const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
console.log(
  `${which}, ${steps} steps a run, ${runs} runs per thread count, load average ${load()}`,
);
console.log(
  `${'run'.padEnd(14)} ${'p10'.padStart(7)} ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)} ${'mean'.padStart(7)}  ms per step`,
);
/** @type {Record<number, { median: number, mean: number }[]>} */
const summary = { 1: [], [threads]: [] };
for (let r = 0; r < runs; r++) {
  for (const n of r % 2 ? [threads, 1] : [1, threads]) {
    const times = run(n);
    const sorted = [...times].sort((a, b) => a - b);
    summary[n].push({ median: at(sorted, 0.5), mean: mean(times) });
    console.log(
      `${`${n} thread${n > 1 ? 's' : ''}, run ${r + 1}`.padEnd(14)} ${f(at(sorted, 0.1))} ${f(at(sorted, 0.5))} ${f(at(sorted, 0.9))} ${f(at(sorted, 0.99))} ${f(mean(times))}`,
    );
  }
}
const one = summary[1];
const many = summary[threads];
console.log(
  `speed-up of ${threads} threads, medians of the runs: from median steps ${(median(one.map((s) => s.median)) / median(many.map((s) => s.median))).toFixed(2)}x, from mean steps ${(median(one.map((s) => s.mean)) / median(many.map((s) => s.mean))).toFixed(2)}x; load average ${load()}`,
);

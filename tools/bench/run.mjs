// `pnpm bench`: training and forward throughput of VanResNet (batch 64, 32x32x3) and ResNet-18
// with the CIFAR stem (batch 32), SGD with momentum, measured side by side in one run:
// resnet-ts on each CPU backend, the same model as a hand-written tfjs-core step (library
// overhead), in tfjs-layers with model.fit, and in PyTorch. Each case runs in its own process.
// Prints a table and writes bench-results/<timestamp>.json.
//
// Options: --quick (shorter timings), --no-build (skip building the workspace packages),
//          --only=vanresnet|resnet18.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const only = [...args].find((a) => a.startsWith('--only='))?.slice(7);
const seconds = quick ? 2 : 5;
const threads = Math.min(cpus().length, 8);

if (!args.has('--no-build')) {
  console.error('building workspace packages (turbo, cached) ...');
  execFileSync(
    'npx',
    ['turbo', 'run', 'build', '--filter=@resnet-ts/bench^...', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

function runCase(cfg, timeoutS) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(here, 'case.mjs'), JSON.stringify(cfg)], {
    cwd: here,
    encoding: 'utf8',
    timeout: timeoutS * 1000,
    maxBuffer: 1 << 24,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (line) return JSON.parse(line);
  const why =
    /** @type {NodeJS.ErrnoException | undefined} */ (r.error)?.code === 'ETIMEDOUT'
      ? `timed out after ${timeoutS} s`
      : ((r.stderr ?? '').match(/Error: .*/)?.[0] ?? `exit ${r.status}`);
  return { ...cfg, error: why, seconds: (Date.now() - started) / 1000 };
}

function runTorch(cfg, timeoutS) {
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch-bench.py'), JSON.stringify(cfg)], {
    encoding: 'utf8',
    timeout: timeoutS * 1000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
  if (line) return { ...cfg, ...JSON.parse(line) };
  return { ...cfg, error: (r.stderr ?? '').trim().split('\n').pop() || `exit ${r.status}` };
}

const plans = {
  vanresnet: { batch: 64, cpuBatch: 8 },
  resnet18: { batch: 32, cpuBatch: null },
};

const results = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  loadavgBefore: loadavg(),
  models: {},
};
for (const [model, plan] of Object.entries(plans)) {
  if (only && only !== model) continue;
  const b = plan.batch;
  const base = { model, seconds, batch: b };
  const slow = model === 'resnet18' ? { warmup: 1, minSteps: 2 } : {};
  /** @type {Array<[string, Record<string, any>]>} */
  const cases = [
    ['ours, wasm, 1 thread', { ...base, ...slow, impl: 'ours', backend: 'wasm', threads: 1 }],
    [
      `ours, wasm, ${threads} threads`,
      { ...base, ...slow, impl: 'ours', backend: 'wasm', threads },
    ],
    [
      'tfjs-core by hand, wasm, 1 thread',
      { ...base, ...slow, impl: 'core', backend: 'wasm', threads: 1 },
    ],
    [
      'tfjs-layers fit, wasm + our kernels',
      { ...base, ...slow, impl: 'layers', backend: 'wasm', threads: 1 },
    ],
    [
      'tfjs-layers fit, wasm (stock)',
      {
        ...base,
        impl: 'layers',
        backend: 'wasm',
        stock: true,
        warmup: 0,
        minSteps: 1,
        seconds: 0,
        skipForward: true,
      },
    ],
  ];
  if (plan.cpuBatch) {
    const cpu = {
      ...base,
      batch: plan.cpuBatch,
      warmup: 0,
      minSteps: 1,
      seconds: 0,
      skipForward: true,
    };
    cases.push([
      'tfjs-layers fit, cpu (stock)',
      { ...cpu, impl: 'layers', backend: 'cpu', stock: true },
    ]);
    cases.push(['ours, cpu (stock tfjs kernels)', { ...cpu, impl: 'ours', backend: 'cpu' }]);
  }
  const rows = [];
  for (const [label, cfg] of cases) {
    console.error(`${model}: ${label} ...`);
    rows.push({ label, ...runCase(cfg, cfg.backend === 'cpu' ? 240 : 300) });
  }
  for (const t of [1, threads]) {
    console.error(`${model}: PyTorch, ${t} thread(s) ...`);
    rows.push({
      label: `PyTorch ${'' + t} thread${t > 1 ? 's' : ''}`,
      ...runTorch({ model, batch: b, threads: t, seconds }, 300),
    });
  }
  results.models[model] = rows;
}
results.loadavgAfter = loadavg();

// Ratios, all from this run.
const ips = (r) => r?.train?.imagesPerSec ?? r?.trainImagesPerSec ?? null;
const fwd = (r) => r?.forward?.imagesPerSec ?? r?.forwardImagesPerSec ?? null;
const find = (rows, prefix) => rows.find((r) => r.label.startsWith(prefix));
const summary = {};
for (const [model, rows] of Object.entries(results.models)) {
  const ours1 = find(rows, 'ours, wasm, 1 thread');
  const oursN = find(rows, `ours, wasm, ${threads} threads`);
  const best = [ours1, oursN].filter((r) => ips(r) != null).sort((a, b) => ips(b) - ips(a))[0];
  const core = find(rows, 'tfjs-core by hand');
  const torch1 = find(rows, 'PyTorch 1 thread');
  const torchN = find(rows, `PyTorch ${threads} threads`);
  const stockFits = rows.filter(
    (r) => r.label.includes('(stock)') && r.impl === 'layers' && ips(r) != null,
  );
  const bestStock = stockFits.sort((a, b) => ips(b) - ips(a))[0];
  summary[model] = {
    oursBest: best?.label,
    vsPyTorchSameThreads: ips(oursN) && ips(torchN) ? ips(oursN) / ips(torchN) : null,
    vsPyTorch1Thread: ips(ours1) && ips(torch1) ? ips(ours1) / ips(torch1) : null,
    vsPyTorchBest:
      ips(best) && ips(torchN) && ips(torch1)
        ? ips(best) / Math.max(ips(torchN), ips(torch1))
        : null,
    vsTfjsLayersStock: ips(best) && bestStock ? ips(best) / ips(bestStock) : null,
    tfjsLayersStockBackend: bestStock?.label ?? null,
    libraryOverhead: ips(ours1) && ips(core) ? ips(core) / ips(ours1) - 1 : null,
    libraryOverheadCpuTime:
      ours1?.train && core?.train
        ? core.train.cpuImagesPerSec / ours1.train.cpuImagesPerSec - 1
        : null,
  };
}
results.summary = summary;

const fmt = (v, d = 1) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(d));
for (const [model, rows] of Object.entries(results.models)) {
  console.log(
    `\n${model} (batch ${plans[model].batch}; cpu rows batch ${plans[model].cpuBatch ?? '-'})`,
  );
  console.log(
    `${'case'.padEnd(38)} ${'train img/s'.padStart(12)} ${'img/CPU-s'.padStart(10)} ${'fwd img/s'.padStart(10)}  note`,
  );
  for (const r of rows) {
    const leak = r.train?.leakedTensorsPerStep;
    const note = r.error ?? (leak ? `${leak} tensors leaked per step` : '');
    const cpuIps = r.train?.cpuImagesPerSec;
    console.log(
      `${r.label.padEnd(38)} ${fmt(ips(r)).padStart(12)} ${fmt(cpuIps).padStart(10)} ${fmt(fwd(r)).padStart(10)}  ${note}`,
    );
  }
  const s = summary[model];
  const pct = (v) => (v == null ? '-' : `${(v * 100).toFixed(1)}%`);
  const x = (v) => (v == null ? '-' : `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}x`);
  console.log(
    `  ours/PyTorch: ${x(s.vsPyTorchSameThreads)} at ${threads} threads, ${x(s.vsPyTorch1Thread)} at 1 thread, ${x(s.vsPyTorchBest)} best vs best` +
      ` | ours/tfjs-layers fit (${s.tfjsLayersStockBackend ?? 'none trains'}): ${x(s.vsTfjsLayersStock)}` +
      ` | library overhead: ${pct(s.libraryOverhead)} wall, ${pct(s.libraryOverheadCpuTime)} CPU time`,
  );
}
console.log(
  `\nload average before ${results.loadavgBefore.map((v) => v.toFixed(1)).join(' ')}, after ${results.loadavgAfter.map((v) => v.toFixed(1)).join(' ')} (${cpus().length} cores)`,
);

const outDir = join(root, 'bench-results');
if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${file}`);

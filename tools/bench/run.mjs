// `pnpm bench`: training and forward throughput of VanResNet (batch 64, 32x32x3), ResNet-18
// with the CIFAR stem (batch 32) and ResNet-50 (64x64x3, batch 16), SGD with momentum,
// measured side by side in one run: resnet-ts on each CPU backend, the same model as a
// hand-written tfjs-core step (library overhead), in tfjs-layers with model.fit, and in
// PyTorch, each case in its own process, ours and PyTorch alternated. Every row also says the
// GFLOP/s it reached, and its GFLOP per CPU-second against the machine's peak measured on
// one core in the same run (the wasm backend's matMul, on resnet-ts's own GEMM, and oneDNN's 3x3 convolution in PyTorch).
// Prints a table and writes bench-results/<timestamp>.json.
//
// Options: --quick (shorter timings), --no-build (skip building the workspace packages),
//          --only=vanresnet|resnet18|resnet50, --rounds=N (rounds of the ours and PyTorch
//          rows, default 3).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';
import { warmupSeconds } from './warmup.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const only = [...args].find((a) => a.startsWith('--only='))?.slice(7);
const seconds = quick ? 2 : 5;
const threads = Math.min(cpus().length, 8);
/**
 * Rounds of the ours and PyTorch rows at each thread count, alternated: on this shared VM a
 * 2-thread rate measured once moved by 15% between two quiet runs minutes apart (the second
 * thread 1.74x then 1.50x, PyTorch's 1.73x then 1.48x), so rows show medians and the ratios
 * are medians of each round's ratio.
 */
const rounds = Number([...args].find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error(`--rounds must be an integer >= 1, got ${rounds}`);
}

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

/** The median of the numbers among `v`; null when there are none. */
function medianOf(/** @type {Array<number | null | undefined>} */ v) {
  const n = /** @type {number[]} */ (v.filter((x) => typeof x === 'number'));
  return n.length === 0 ? null : median(n);
}

/**
 * One row per label: a row measured in several rounds shows the medians of its rates and
 * keeps each round's run in `rounds`.
 * @param {Array<Record<string, any>>} runs
 */
function mergeRounds(runs) {
  /** @type {Map<string, Array<Record<string, any>>>} */
  const byLabel = new Map();
  for (const r of runs) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
  return [...byLabel.values()].map((rs) => {
    if (rs.length === 1) return rs[0];
    const ok = rs.filter((r) => r.error == null);
    const [first] = ok.length > 0 ? ok : rs;
    if (first.torch) {
      return {
        ...first,
        trainImagesPerSec: medianOf(ok.map((r) => r.trainImagesPerSec)),
        trainCpuImagesPerSec: medianOf(ok.map((r) => r.trainCpuImagesPerSec)),
        rounds: rs,
      };
    }
    return {
      ...first,
      train:
        first.train == null
          ? null
          : {
              ...first.train,
              imagesPerSec: medianOf(ok.map((r) => r.train?.imagesPerSec)),
              cpuImagesPerSec: medianOf(ok.map((r) => r.train?.cpuImagesPerSec)),
            },
      rounds: rs,
    };
  });
}

// full: also the tfjs-core, tfjs-layers and stock rows; the ResNet-50 row is ours and PyTorch.
const plans = {
  vanresnet: { batch: 64, cpuBatch: 8, full: true },
  resnet18: { batch: 32, cpuBatch: null, full: true },
  // Batch 16 even with --quick: below 16 images, PyTorch on one thread runs 1x1 convolutions
  // through im2col and BLAS instead of oneDNN, which would make its row slower than it is.
  resnet50: { batch: 16, cpuBatch: null, full: false },
};
const threadCounts = threads > 1 ? [1, threads] : [1];

const results = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  loadavgBefore: loadavg(),
  peak: /**
   * @type {{ wasmMatMul: number | null, wasmMatMulCpu: number | null, wasmConv: number | null,
   *   torchMm: number | null, torchConv: number | null, torchConvCpu: number | null } | null}
   */ (null),
  models: {},
};

// The machine's peak on one core, wasm and native; N threads' reference is N times it.
console.error('peak GFLOP/s, 1 thread ...');
{
  const wasm = runCase({ impl: 'peak', backend: 'wasm', threads: 1, seconds: quick ? 1 : 2 }, 120);
  const native = runTorch({ mode: 'peak', threads: 1, seconds: quick ? 1 : 2 }, 120);
  results.peak = {
    wasmMatMul: wasm.mmGflops ?? null,
    wasmMatMulCpu: wasm.mmGflopsCpu ?? null,
    wasmConv: wasm.convGflops ?? null,
    torchMm: native.mmGflops ?? null,
    torchConv: native.convGflops ?? null,
    torchConvCpu: native.convGflopsCpu ?? null,
  };
}

for (const [model, plan] of Object.entries(plans)) {
  if (only && only !== model) continue;
  const b = plan.batch;
  const base = { model, seconds, warmupSeconds: warmupSeconds[model], batch: b };
  const slow = model === 'vanresnet' ? {} : { warmup: 1, minSteps: 2 };
  const flops = runTorch({ mode: 'flops', model }, 120);
  // A training step: forward (2 FLOP per multiply-add) and backward (about twice the forward).
  const macs = flops.macsPerImage ?? null;
  /** @type {Array<[string, Record<string, any>]>} */
  const cases = [];
  /** @returns {[string, Record<string, any>]} */
  const torchCase = (t) => [
    `PyTorch ${t} thread${t > 1 ? 's' : ''}`,
    { model, batch: b, threads: t, seconds, warmupSeconds: base.warmupSeconds, torch: true },
  ];
  // Ours and PyTorch alternate, thread count by thread count, so load drifts hit both alike;
  // forward passes are timed in the first round only.
  for (let round = 0; round < rounds; round++) {
    const later = round > 0 ? { round, skipForward: true } : { round };
    for (const t of threadCounts) {
      cases.push([
        `ours, wasm, ${t} thread${t > 1 ? 's' : ''}`,
        { ...base, ...slow, ...later, impl: 'ours', backend: 'wasm', threads: t },
      ]);
      const [label, cfg] = torchCase(t);
      cases.push([label, { ...cfg, ...later }]);
    }
  }
  if (plan.full) {
    cases.push([
      'tfjs-core by hand, wasm, 1 thread',
      { ...base, ...slow, impl: 'core', backend: 'wasm', threads: 1 },
    ]);
    cases.push([
      'tfjs-layers fit, wasm + our kernels',
      { ...base, ...slow, impl: 'layers', backend: 'wasm', threads: 1 },
    ]);
    cases.push([
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
    ]);
  }
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
  const runs = [];
  for (const [label, cfg] of cases) {
    console.error(`${model}: ${label}${cfg.round != null ? `, round ${cfg.round + 1}` : ''} ...`);
    const r = cfg.torch ? runTorch(cfg, 300) : runCase(cfg, cfg.backend === 'cpu' ? 240 : 300);
    runs.push({ label, ...r });
  }
  const rows = mergeRounds(runs);
  // The library overhead: the library's step and the hand-written one alternated in one
  // process (rows minutes apart differ by a few percent through load drift alone).
  let overheadCase = null;
  if (plan.full) {
    console.error(`${model}: library overhead (ours and by hand, alternated) ...`);
    const blockSteps = model === 'vanresnet' ? 4 : 1;
    overheadCase = runCase(
      { ...base, impl: 'overhead', backend: 'wasm', threads: 1, blockSteps },
      300,
    );
  }
  results.models[model] = { macsPerImage: macs, rows, overheadCase };
}
results.loadavgAfter = loadavg();

// Ratios, all from this run.
const ips = (r) => r?.train?.imagesPerSec ?? r?.trainImagesPerSec ?? null;
const fwd = (r) => r?.forward?.imagesPerSec ?? r?.forwardImagesPerSec ?? null;
const find = (rows, prefix) => rows.find((r) => r.label.startsWith(prefix));
const cpuIpsOf = (r) => r?.train?.cpuImagesPerSec ?? r?.trainCpuImagesPerSec ?? null;
const ratio = (a, b) => (a != null && b != null && b > 0 ? a / b : null);
/**
 * `rate(a) / rate(b)`: for rows measured in rounds, the median of the ratios within each
 * round (whose runs ran minutes apart at most, alternated).
 */
const roundRatio = (a, b, rate) => {
  if (a?.rounds != null && b?.rounds != null) {
    const byRound = (rs) => new Map(rs.map((r) => [r.round, rate(r)]));
    const bs = byRound(b.rounds);
    return medianOf([...byRound(a.rounds)].map(([k, v]) => ratio(v, bs.get(k))));
  }
  return ratio(rate(a), rate(b));
};
const summary = {};
const minusOne = (v) => (v == null ? null : v - 1);
for (const [model, { macsPerImage, rows, overheadCase }] of Object.entries(results.models)) {
  const oh = overheadCase?.overhead;
  for (const r of rows) {
    const trainFlops = macsPerImage == null ? null : 6 * macsPerImage;
    const { wasmMatMulCpu, torchConvCpu } = results.peak;
    const cpuIps = r.train?.cpuImagesPerSec ?? r.trainCpuImagesPerSec ?? null;
    r.trainGflops = trainFlops != null && ips(r) != null ? (ips(r) * trainFlops) / 1e9 : null;
    r.trainGflopsCpu = trainFlops != null && cpuIps != null ? (cpuIps * trainFlops) / 1e9 : null;
    // Per second of CPU time on both sides, so the load of a shared machine cancels out.
    r.ofWasmPeak = ratio(r.trainGflopsCpu, wasmMatMulCpu);
    r.ofNativePeak = ratio(r.trainGflopsCpu, torchConvCpu);
  }
  const ours1 = find(rows, 'ours, wasm, 1 thread');
  const oursN = threads > 1 ? find(rows, `ours, wasm, ${threads} threads`) : ours1;
  const best = [ours1, oursN].filter((r) => ips(r) != null).sort((a, b) => ips(b) - ips(a))[0];
  const torch1 = find(rows, 'PyTorch 1 thread');
  const torchN = threads > 1 ? find(rows, `PyTorch ${threads} threads`) : torch1;
  const stockFits = rows.filter(
    (r) => r.label.includes('(stock)') && r.impl === 'layers' && ips(r) != null,
  );
  const bestStock = stockFits.sort((a, b) => ips(b) - ips(a))[0];
  summary[model] = {
    oursBest: best?.label,
    vsPyTorchSameThreads: roundRatio(oursN, torchN, ips),
    vsPyTorch1Thread: roundRatio(ours1, torch1, ips),
    vsPyTorch1ThreadCpu: roundRatio(ours1, torch1, cpuIpsOf),
    vsPyTorchBest:
      ips(best) && ips(torchN) && ips(torch1)
        ? ips(best) / Math.max(ips(torchN), ips(torch1))
        : null,
    secondThreadOurs: threads > 1 ? roundRatio(oursN, ours1, ips) : null,
    secondThreadPyTorch: threads > 1 ? roundRatio(torchN, torch1, ips) : null,
    vsTfjsLayersStock: ips(best) && bestStock ? ips(best) / ips(bestStock) : null,
    tfjsLayersStockBackend: bestStock?.label ?? null,
    // Ours against the hand-written step in one process: ours / by hand - 1 per step.
    libraryOverhead: minusOne(ratio(oh?.ours.msPerStep, oh?.core.msPerStep)),
    libraryOverheadCpuTime: minusOne(ratio(oh?.ours.cpuMsPerStep, oh?.core.cpuMsPerStep)),
  };
}
results.summary = summary;

const fmt = (v, d = 1) => (v == null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(d));
const pct = (v) => (v == null ? '-' : `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`);
const x = (v) => (v == null ? '-' : `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}x`);
const p = results.peak;
console.log(
  `\npeak on 1 thread, GFLOP per second of wall clock / of CPU time: wasm matMul 1024x1024 (own GEMM) ${fmt(p.wasmMatMul)} / ${fmt(p.wasmMatMulCpu)} (conv 3x3 256ch, Winograd, as direct FLOPs ${fmt(p.wasmConv)})` +
    ` | native: PyTorch oneDNN conv 3x3 256ch ${fmt(p.torchConv)} / ${fmt(p.torchConvCpu)} (torch.mm 1024x1024 ${fmt(p.torchMm)})` +
    `\n% columns: a row's GFLOP per CPU-second against the peak's, so the load cancels out`,
);
const titles = {
  vanresnet: 'VanResNet, 32x32',
  resnet18: 'ResNet-18 CIFAR stem, 32x32',
  resnet50: 'ResNet-50, 64x64',
};
for (const [model, { macsPerImage, rows }] of Object.entries(results.models)) {
  const gf = macsPerImage == null ? '-' : ((6 * macsPerImage) / 1e9).toFixed(3);
  console.log(
    `\n${titles[model]} (batch ${plans[model].batch}; cpu rows batch ${plans[model].cpuBatch ?? '-'}; ${gf} GFLOP per training image)`,
  );
  console.log(
    `${'case'.padEnd(38)} ${'train img/s'.padStart(12)} ${'img/CPU-s'.padStart(10)} ${'fwd img/s'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'GF/CPU-s'.padStart(9)} ${'%wasm pk'.padStart(9)} ${'%native'.padStart(8)}  note`,
  );
  for (const r of rows) {
    const leak = r.train?.leakedTensorsPerStep;
    const note = r.error ?? (leak ? `${leak} tensors leaked per step` : '');
    const cpuIps = r.train?.cpuImagesPerSec ?? r.trainCpuImagesPerSec;
    console.log(
      `${r.label.padEnd(38)} ${fmt(ips(r)).padStart(12)} ${fmt(cpuIps).padStart(10)} ${fmt(fwd(r)).padStart(10)} ${fmt(r.trainGflops).padStart(8)} ${fmt(r.trainGflopsCpu).padStart(9)} ${pct(r.ofWasmPeak).padStart(9)} ${pct(r.ofNativePeak).padStart(8)}  ${note}`,
    );
  }
  const s = summary[model];
  const parts = [
    `ours/PyTorch: ${x(s.vsPyTorchSameThreads)} at ${threads} threads, ${x(s.vsPyTorch1Thread)} at 1 thread (${x(s.vsPyTorch1ThreadCpu)} per CPU-second), ${x(s.vsPyTorchBest)} best vs best`,
    `second thread: ours ${x(s.secondThreadOurs)}, PyTorch ${x(s.secondThreadPyTorch)}`,
  ];
  if (plans[model].full) {
    parts.push(
      `ours/tfjs-layers fit (${s.tfjsLayersStockBackend ?? 'none trains'}): ${x(s.vsTfjsLayersStock)}`,
      `library overhead: ${pct(s.libraryOverhead)} wall, ${pct(s.libraryOverheadCpuTime)} CPU time (alternated in one process)`,
    );
  }
  console.log(`  ${parts.join(' | ')}`);
}
console.log(
  `\nload average before ${results.loadavgBefore.map((v) => v.toFixed(1)).join(' ')}, after ${results.loadavgAfter.map((v) => v.toFixed(1)).join(' ')} (${cpus().length} cores)`,
);

const outDir = join(root, 'bench-results');
if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results: ${file}`);

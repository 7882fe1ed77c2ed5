// Where a hand-written tfjs-core training step spends its time on wasm: process CPU time per
// top-level kernel (kernels called from inside another kernel count towards their caller),
// summed over a few steps. CPU time, because the machine is shared.
// With --threads=N (tfjs's threaded build) each kernel's wall time is shown too, so the
// kernels that leave the other threads idle stand out.
// With --library the step is resnet-ts's own (models' VanResNet or ResNet-18, train's SGD and
// cross-entropy), as `pnpm bench` runs it; otherwise the hand-written tfjs-core step.
// Usage: node profile.mjs [vanresnet|resnet18|resnet50] [steps] [--threads=N] [--library]
// (resnet50, 64x64 batch 16 as in `pnpm bench`, is the library's only)
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@resnet-ts/core';
import { resNet18Core, vanResNetCore } from './models-core.mjs';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const which = args[0] ?? 'vanresnet';
const steps = Number(args[1] ?? 5);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 0);
if (threads > 0) {
  const { useThreadedWasm } = await import('@resnet-ts/core/node');
  await useThreadedWasm({ threads });
} else {
  await tf.setBackend('wasm');
}

/** The library's training step, as tools/bench/case.mjs builds it for the "ours" rows. */
async function libraryStep(name) {
  const { VanResNet, resnet18, resnet50 } = await import('@resnet-ts/models');
  const { SGD, crossEntropy, valueAndGrads } = await import('@resnet-ts/train');
  const net =
    name === 'vanresnet'
      ? new VanResNet()
      : name === 'resnet50'
        ? resnet50({ numClasses: 10 })
        : resnet18({ numClasses: 10, stem: 'cifar' });
  const params = net.parameters();
  const opt = new SGD(params, { lr: 0.01, momentum: 0.9 });
  net.train();
  return {
    step(x, yOneHot) {
      const labels = tf.argMax(yOneHot, 1);
      const { value, grads } = valueAndGrads(
        () => /** @type {tf.Scalar} */ (crossEntropy(net.forward(x), labels)),
        params,
      );
      opt.step(new Map(params.map((p, i) => [p, grads[i]])));
      const loss = value.dataSync()[0];
      tf.dispose([value, labels, ...grads]);
      return loss;
    },
  };
}

const totals = new Map();
let depth = 0;
let profiling = false;
for (const config of tf.getKernelsForBackend('wasm')) {
  const inner = config.kernelFunc;
  const name = config.kernelName;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    ...config,
    kernelFunc: (args) => {
      if (!profiling || depth > 0) return inner(args);
      depth++;
      const t0 = process.cpuUsage();
      const w0 = performance.now();
      try {
        return inner(args);
      } finally {
        const d = process.cpuUsage(t0);
        const w = performance.now() - w0;
        depth--;
        const shapes = Object.values(args.inputs).map((t) => t?.shape);
        const key = `${name} ${JSON.stringify(shapes)}`;
        const [cpu, wall] = totals.get(key) ?? [0, 0];
        totals.set(key, [cpu + (d.user + d.system) / 1000, wall + w]);
      }
    },
  });
}

const library = process.argv.includes('--library');
const [batch, size, model] =
  which === 'resnet50'
    ? [16, 64, await libraryStep('resnet50')]
    : which === 'resnet18'
      ? [32, 32, library ? await libraryStep('resnet18') : resNet18Core()]
      : [64, 32, library ? await libraryStep('vanresnet') : vanResNetCore({ inputSize: 32 })];
const x = tf.randomUniform([batch, size, size, 3]);
const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
model.step(x, y);
profiling = true;
const c0 = process.cpuUsage();
const w0 = performance.now();
for (let s = 0; s < steps; s++) model.step(x, y);
const c = process.cpuUsage(c0);
const wall = performance.now() - w0;
profiling = false;
const rows = [...totals.entries()].sort((a, b) => b[1][0] - a[1][0]);
const kernels = rows.reduce((a, [, [v]]) => a + v, 0);
const kernelsWall = rows.reduce((a, [, [, w]]) => a + w, 0);
const cpu = (c.user + c.system) / 1000;
const load = loadavg()
  .map((v) => v.toFixed(1))
  .join(' ');
console.log(
  `${which} batch ${batch}, ${threads > 0 ? `threaded build, ${threads} threads` : 'single-threaded build'}, load average ${load}`,
);
console.log(
  `step ${(cpu / steps).toFixed(1)} ms CPU (${((batch * steps * 1000) / cpu).toFixed(0)} images/s of CPU), ${(wall / steps).toFixed(1)} ms wall; kernels ${(kernels / steps).toFixed(1)} ms CPU, ${(kernelsWall / steps).toFixed(1)} ms wall`,
);
console.log('  CPU ms   wall ms  kernel [input shapes]');
for (const [k, [v, w]] of rows.slice(0, Number(process.env.ROWS ?? 40)))
  console.log(`${(v / steps).toFixed(2).padStart(8)} ${(w / steps).toFixed(2).padStart(9)}  ${k}`);
process.exit(0);

// Where a hand-written tfjs-core training step spends its time on wasm: process CPU time per
// top-level kernel (kernels called from inside another kernel count towards their caller),
// summed over a few steps. CPU time, because the machine is shared.
// Usage: node profile.mjs [vanresnet|resnet18] [steps]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@resnet-ts/core';
import { resNet18Core, vanResNetCore } from './models-core.mjs';

const which = process.argv[2] ?? 'vanresnet';
const steps = Number(process.argv[3] ?? 5);
await tf.setBackend('wasm');

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
      try {
        return inner(args);
      } finally {
        const d = process.cpuUsage(t0);
        depth--;
        const shapes = Object.values(args.inputs).map((t) => t?.shape);
        const key = `${name} ${JSON.stringify(shapes)}`;
        totals.set(key, (totals.get(key) ?? 0) + (d.user + d.system) / 1000);
      }
    },
  });
}

const [batch, size, model] =
  which === 'resnet18' ? [32, 32, resNet18Core()] : [64, 32, vanResNetCore({ inputSize: 32 })];
const x = tf.randomUniform([batch, size, size, 3]);
const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
model.step(x, y);
profiling = true;
const c0 = process.cpuUsage();
for (let s = 0; s < steps; s++) model.step(x, y);
const c = process.cpuUsage(c0);
profiling = false;
const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]);
const kernels = rows.reduce((a, [, v]) => a + v, 0);
const cpu = (c.user + c.system) / 1000;
console.log(
  `${which} batch ${batch}: step ${(cpu / steps).toFixed(1)} ms CPU (${((batch * steps * 1000) / cpu).toFixed(0)} images/s of CPU), kernels ${(kernels / steps).toFixed(1)} ms`,
);
for (const [k, v] of rows.slice(0, 40))
  console.log(`${(v / steps).toFixed(2).padStart(8)} ms  ${k}`);

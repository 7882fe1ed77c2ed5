import * as tf from '@tensorflow/tfjs-core';
import '@resnet-ts/core';
import { useThreadedWasm } from '@resnet-ts/core/node';
import { partsRunOnWorkers } from '../../packages/core/dist/kernels/own-wasm-threads.js';
import { resNet18Core, vanResNetCore } from './models-core.mjs';
await useThreadedWasm({ threads: 2 });
const which = process.argv[2] ?? 'resnet18';
const [batch, model] = which === 'resnet18' ? [32, resNet18Core()] : [64, vanResNetCore({ inputSize: 32 })];
const x = tf.randomUniform([batch, 32, 32, 3]);
const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32'), 10);
for (let i = 0; i < 4; i++) {
  const t0 = performance.now(); const c0 = process.cpuUsage();
  model.step(x, y);
  const c = process.cpuUsage(c0);
  console.log(`step ${i}: wall ${(performance.now() - t0).toFixed(0)} ms, cpu ${((c.user + c.system) / 1000).toFixed(0)} ms, parts on workers ${partsRunOnWorkers()}`);
  await new Promise((r) => setTimeout(r, 50));
}
process.exit(0);

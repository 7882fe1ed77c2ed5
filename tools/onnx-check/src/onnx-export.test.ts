import '@tensorflow/tfjs-backend-cpu';
import { Generator, type Module } from '@resnet-ts/core';
import { BasicBlock } from '@resnet-ts/layers';
import { exportOnnx, ResNet, resnet18, resnet50, VanResNet } from '@resnet-ts/models';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const deviations: string[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterAll(() => {
  console.log(`largest |ours - onnxruntime| per model:\n  ${deviations.join('\n  ')}`);
});

/**
 * Every weight and BatchNorm statistic set to a spread-out deterministic value, so running
 * statistics differ from their 0/1 defaults and a layout slip would change the logits.
 */
function scramble(model: Module): void {
  let k = 1;
  for (const [name, t] of Object.entries(model.stateDict())) {
    if (t.dtype !== 'float32') continue;
    const n = t.size;
    const fanIn = t.rank > 1 ? n / t.shape[t.rank - 1] : 1;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.sin((i + 1) * 12.9898 + k * 78.233) * 43758.5453;
      const r = u - Math.floor(u); // [0, 1)
      if (name.endsWith('running_var')) data[i] = 0.5 + r;
      else if (t.rank === 1) data[i] = name.endsWith('.weight') ? 0.5 + 0.5 * r : 0.2 * (r - 0.5);
      else data[i] = (2 * r - 1) * Math.sqrt(6 / fanIn);
    }
    (t as tf.Variable).assign(tf.tensor(data, t.shape));
    k++;
  }
}

async function compare(
  label: string,
  model: Module & { forward(x: tf.Tensor): tf.Tensor },
  nchw: [number, number, number, number],
  opset?: number,
) {
  model.eval();
  const n = nchw.reduce((a, b) => a * b, 1);
  const input = Float32Array.from(
    { length: n },
    (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i * 1.3),
  );
  const x = tf.tidy(() => tf.transpose(tf.tensor(input, nchw), [0, 2, 3, 1]));
  const y = tf.tidy(() => model.forward(x) as tf.Tensor);
  const ours = y.dataSync() as Float32Array;
  const onnxBytes = exportOnnx(model, { inputShape: ['N', nchw[1], nchw[2], nchw[3]], opset });
  const session = await ort.InferenceSession.create(onnxBytes);
  const result = await session.run({ input: new ort.Tensor('float32', input, nchw) });
  const theirs = result.logits;
  expect(theirs.dims).toEqual(y.shape);
  const data = theirs.data as Float32Array;
  let d = 0;
  let m = 0;
  for (let i = 0; i < ours.length; i++) {
    d = Math.max(d, Math.abs(ours[i] - data[i]));
    m = Math.max(m, Math.abs(data[i]));
  }
  deviations.push(
    `${label}: ${d.toExponential(2)} (largest |logit| ${m.toFixed(3)}, ${onnxBytes.length} bytes)`,
  );
  expect(m).toBeGreaterThan(0.1);
  expect(d).toBeLessThan(1e-4 * Math.max(1, m));
  tf.dispose([x, y]);
  await session.release();
}

describe('exportOnnx → onnxruntime-node (CPU)', () => {
  it('VanResNet gives our logits', async () => {
    const model = new VanResNet({ generator: new Generator(0) });
    await compare('VanResNet 3x32x32', model, [3, 3, 32, 32]);
    model.dispose();
  });

  it('VanResNet for MNIST at opset 9 gives our logits', async () => {
    const model = new VanResNet({ inChannels: 1, inputSize: 28, generator: new Generator(1) });
    await compare('VanResNet 1x28x28, opset 9', model, [2, 1, 28, 28], 9);
    model.dispose();
  });

  it('resnet18 with BatchNorm statistics gives our logits', async () => {
    const model = resnet18({ numClasses: 4, generator: new Generator(0) });
    scramble(model);
    await compare('resnet18 3x64x64', model, [2, 3, 64, 64]);
    model.dispose();
  });

  it('resnet50 (Bottleneck) gives our logits', async () => {
    const model = resnet50({ numClasses: 5, generator: new Generator(0) });
    scramble(model);
    await compare('resnet50 3x64x64, opset 17', model, [1, 3, 64, 64], 17);
    model.dispose();
  });

  it('a CIFAR-stem ResNet (no max-pool) gives our logits', async () => {
    const model = new ResNet(BasicBlock, [1, 1, 1, 1], {
      numClasses: 3,
      stem: 'cifar',
      generator: new Generator(2),
    });
    scramble(model);
    await compare('ResNet [1,1,1,1] cifar stem 3x32x32', model, [2, 3, 32, 32]);
    model.dispose();
  });

  it('refuses what it cannot export, naming it', () => {
    const model = new VanResNet({ generator: new Generator(0) });
    expect(() => exportOnnx(model, { inputShape: [1, 3, 32, 32], opset: 8 })).toThrow(
      /opset must be an integer in 9\.\.17, got 8/,
    );
    expect(() => exportOnnx(model, { inputShape: [1, 3, 32] as never })).toThrow(
      /inputShape must be/,
    );
    model.dispose();
  });
});

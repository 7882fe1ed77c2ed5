import '@tensorflow/tfjs-backend-wasm';
import { Generator } from '@resnet-ts/core';
import { nchwToNhwc } from '@resnet-ts/layers';
import { crossEntropy, SGD, valueAndGrads } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureSafetensors, maxAbsDiff } from './testing/fixtures.js';
import { loadTorchStateDict, toTorchStateDict } from './torch-interop.js';
import { VanResNet } from './van-resnet.js';

// wasm, not cpu: tfjs-backend-cpu's Conv2DBackpropFilter makes these three steps take
// minutes, while core's wasm training kernels take about a second.
beforeAll(async () => {
  expect(await tf.setBackend('wasm')).toBe(true);
});

describe('VanResNet training steps against PyTorch on wasm (vanresnet-io.safetensors)', () => {
  it('SGD(lr 0.01, momentum 0.9, weight decay 5e-4) + cross-entropy: same losses and weights', () => {
    const io = fixtureSafetensors('vanresnet-io.safetensors').tensors;
    const model = new VanResNet({ generator: new Generator(0) });
    loadTorchStateDict(model, fixtureBytes('vanresnet.safetensors'));
    model.train();
    const x = tf.tidy(() => nchwToNhwc(tf.tensor(io.input.data, io.input.shape)));
    const target = tf.tensor1d(io.target.data as Int32Array, 'int32');
    const params = model.parameters();
    const opt = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const losses: number[] = [];
    let afterFirstStep = 0;
    let weightDeviation = 0;
    for (let step = 0; step < 3; step++) {
      const { value, grads } = valueAndGrads(
        () => crossEntropy(model.forward(x), target) as tf.Scalar,
        params,
      );
      opt.step(grads);
      losses.push(value.dataSync()[0]);
      tf.dispose([value, ...grads]);
      if (step === 0) {
        afterFirstStep = tf.memory().numTensors;
        for (const [name, t] of Object.entries(toTorchStateDict(model))) {
          const d = maxAbsDiff(t.data, io[`step1.${name}`].data);
          weightDeviation = Math.max(weightDeviation, d);
          expect(d, name).toBeLessThan(1e-4);
        }
      }
    }
    const lossDeviation = maxAbsDiff(losses, io.losses.data);
    const y = tf.tidy(() => model.forward(x));
    const logitDeviation = maxAbsDiff(y.dataSync(), io['step3.logits'].data);
    y.dispose();
    console.log(
      `VanResNet SGD vs PyTorch: losses ${losses.map((l) => l.toFixed(6)).join(', ')}; max |Δloss| ${lossDeviation.toExponential(2)}, max |Δweight| after step 1 ${weightDeviation.toExponential(2)}, max |Δlogit| after step 3 ${logitDeviation.toExponential(2)}`,
    );
    expect(lossDeviation).toBeLessThan(1e-4);
    expect(logitDeviation).toBeLessThan(1e-4);
    // The loss falls, so the three steps did train (the fixture's own losses fall too).
    expect(losses[2]).toBeLessThan(losses[0]);
    // Only the optimizer's state (momentum buffers) outlives a step.
    expect(tf.memory().numTensors).toBe(afterFirstStep);
    tf.dispose([x, target]);
    opt.dispose();
    model.dispose();
  });
});

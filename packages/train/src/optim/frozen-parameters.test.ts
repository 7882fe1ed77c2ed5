import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from './adam.js';
import { SGD } from './sgd.js';

beforeAll(async () => {
  await selectBackend(['cpu']);
});

const values = (v: tf.Tensor) => Array.from(v.dataSync());

describe('fine-tuning: frozen parameters and per-group learning rates', () => {
  it('skips a frozen parameter even when a gradient is passed for it (no decay, no momentum)', () => {
    const frozen = tf.variable(tf.tensor1d([1, -2]), true);
    const live = tf.variable(tf.tensor1d([1, -2]), true);
    const opt = new SGD([frozen, live], { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
    frozen.trainable = false;
    const g = tf.tensor1d([0.2, 0.4]);
    opt.step([g, g]);
    expect(values(frozen)).toEqual([1, -2]);
    // First SGD step: buf = g + wd·p = [0.7, -0.6]; p -= lr·buf.
    expect(values(live)[0]).toBeCloseTo(1 - 0.1 * 0.7, 6);
    expect(values(live)[1]).toBeCloseTo(-2 + 0.1 * 0.6, 6);
    // A frozen parameter gets no state, so unfreezing starts its momentum afresh.
    expect(Object.keys(opt.stateDict().state)).toEqual(['1']);
    frozen.trainable = true;
    opt.step([g, g]);
    expect(values(frozen)[0]).toBeCloseTo(1 - 0.1 * 0.7, 6);
    tf.dispose([g, frozen, live]);
    opt.dispose();
  });

  it('gives each parameter group its own learning rate', () => {
    const backbone = tf.variable(tf.tensor1d([1, 1]), true);
    const head = tf.variable(tf.tensor1d([1, 1]), true);
    const opt = new SGD([{ params: [backbone], lr: 0.001 }, { params: [head] }], { lr: 0.1 });
    expect(opt.paramGroups.map((group) => group.lr)).toEqual([0.001, 0.1]);
    const g = tf.tensor1d([2, -3]);
    opt.step([g, g]);
    expect(values(backbone)[0]).toBeCloseTo(1 - 0.002, 7);
    expect(values(backbone)[1]).toBeCloseTo(1 + 0.003, 7);
    expect(values(head)[0]).toBeCloseTo(1 - 0.2, 6);
    expect(values(head)[1]).toBeCloseTo(1 + 0.3, 6);
    // A group's rate changed later (as a scheduler does) takes effect on the next step.
    opt.paramGroups[0].lr = 0.01;
    opt.step([g, g]);
    expect(values(backbone)[0]).toBeCloseTo(1 - 0.002 - 0.02, 6);
    tf.dispose([g, backbone, head]);
    opt.dispose();
  });

  it('AdamW neither decays nor moves frozen parameters, and adds unfrozen ones as a new group', () => {
    const frozen = tf.variable(tf.tensor1d([3]), true);
    const head = tf.variable(tf.tensor1d([3]), true);
    frozen.trainable = false;
    const opt = new AdamW([head], { lr: 0.1, weightDecay: 0.1 });
    const g = tf.tensor1d([1]);
    opt.step([g]);
    // AdamW: p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε) with m̂ = g, v̂ = g² on the first step.
    expect(values(head)[0]).toBeCloseTo(3 * (1 - 0.01) - 0.1, 5);
    frozen.trainable = true;
    opt.addParamGroup({ params: [frozen], lr: 0.01 });
    opt.step([g, g]);
    expect(values(frozen)[0]).toBeCloseTo(3 * (1 - 0.001) - 0.01, 5);
    tf.dispose([g, frozen, head]);
    opt.dispose();
  });
});

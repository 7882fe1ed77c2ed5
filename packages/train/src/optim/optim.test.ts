import '@tensorflow/tfjs-backend-cpu';
import { selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/optim.json' with { type: 'json' };
import { Adagrad, Adam, AdamW, type Optimizer, RMSprop, SGD } from '../index.js';

type Case = (typeof fixture.cases)[number] & { groups?: Record<string, unknown>[] };

const CLASSES: Record<string, new (params: any, options: any) => Optimizer<any>> = {
  SGD,
  Adam,
  AdamW,
  RMSprop,
  Adagrad,
};

function makeParams(): tf.Variable[] {
  return fixture.init.map((v, i) => tf.variable(tf.tensor(v, fixture.shapes[i]), true));
}

function makeOptimizer(c: Case, params: tf.Variable[]): Optimizer<any> {
  const cls = CLASSES[c.optimizer];
  if (c.groups) {
    return new cls(
      c.groups.map((g, i) => ({ params: [params[i]], ...g })),
      c.options,
    );
  }
  return new cls(params, c.options);
}

/**
 * Relative deviation of a snapshot: per tensor, the largest |ours - torch| over the tensor's
 * largest |torch| (entries passing near zero would otherwise turn float32 rounding, which
 * differs where torch's kernels fuse multiply-adds, into huge ratios); the worst tensor wins.
 */
function deviation(params: tf.Variable[], expected: number[][]): number {
  let worst = 0;
  params.forEach((p, i) => {
    const got = p.dataSync();
    const scale = Math.max(...expected[i].map(Math.abs));
    expected[i].forEach((e, j) => {
      worst = Math.max(worst, Math.abs(got[j] - e) / scale);
    });
  });
  return worst;
}

function stepGrads(t: number): tf.Tensor[] {
  return fixture.grads[t].map((g, i) => tf.tensor(g, fixture.shapes[i]));
}

function label(c: Case): string {
  return `${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ` groups ${JSON.stringify(c.groups)}` : ''}`;
}

for (const backend of ['cpu', 'wasm'] as const)
  describe(`optimizers match torch 1.13 over 100 steps of fixed gradients on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend([backend]);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    let largest = 0;
    for (const c of fixture.cases as Case[]) {
      it(label(c), () => {
        const params = makeParams();
        const opt = makeOptimizer(c, params);
        const before = tf.memory().numTensors;
        for (let t = 0; t < 100; t++) {
          const grads = stepGrads(t);
          opt.step(grads);
          tf.dispose(grads);
          if (t === 0) expect(tf.memory().numTensors).toBeGreaterThanOrEqual(before);
          const expected = (c.trajectory as Record<string, number[][]>)[String(t + 1)];
          if (expected) {
            const dev = deviation(params, expected);
            largest = Math.max(largest, dev);
            expect(dev, `after step ${t + 1}`).toBeLessThan(1e-5);
          }
        }
        opt.dispose();
        tf.dispose(params);
      });
    }

    it('a state dict saved after 50 steps continues the same trajectory', () => {
      for (const c of fixture.cases as Case[]) {
        const params = makeParams();
        const opt = makeOptimizer(c, params);
        for (let t = 0; t < 50; t++) {
          const g = stepGrads(t);
          opt.step(g);
          tf.dispose(g);
        }
        const saved = opt.stateDict();
        const json = JSON.parse(JSON.stringify({ ...saved, state: {} }));
        // A fresh optimizer built with different hyper-parameters gets them back from the dict.
        const params2 = params.map((p) => tf.variable(p.clone(), true));
        const opt2 = makeOptimizer({ ...c, options: { ...c.options, lr: 123 } } as Case, params2);
        opt2.loadStateDict({ paramGroups: json.paramGroups, state: saved.state });
        opt.dispose();
        for (let t = 50; t < 100; t++) {
          const g = stepGrads(t);
          opt2.step(g);
          tf.dispose(g);
        }
        const dev = deviation(params2, (c.trajectory as Record<string, number[][]>)['100']);
        expect(dev, label(c)).toBeLessThan(1e-5);
        opt2.dispose();
        tf.dispose([...params, ...params2]);
      }
    });

    it('steps without leaking tensors', () => {
      const params = makeParams();
      const opt = new Adam(params, { lr: 0.01, amsgrad: true, weightDecay: 0.1 });
      const g0 = stepGrads(0);
      opt.step(g0);
      const after1 = tf.memory().numTensors;
      for (let t = 1; t < 5; t++) opt.step(g0);
      expect(tf.memory().numTensors).toBe(after1);
      opt.dispose();
      tf.dispose([...g0, ...params]);
    });

    it('reports the largest deviation', () => {
      console.log(
        `[${backend}] largest optimizer deviation from torch 1.13: ${largest.toExponential(2)}`,
      );
      expect(largest).toBeLessThan(1e-5);
    });
  });

describe('optimizer API', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('accepts gradients by variable and skips parameters without one', () => {
    const [a, b] = makeParams();
    const opt = new SGD([a, b], { lr: 1 });
    const before = b.dataSync().slice();
    const g = tf.onesLike(a);
    const aBefore = a.dataSync()[0];
    opt.step(new Map([[a, g]]));
    expect(a.dataSync()[0]).toBeCloseTo(aBefore - 1, 6);
    expect(Array.from(b.dataSync())).toEqual(Array.from(before));
    tf.dispose([a, b, g]);
  });

  it('rejects misaligned gradients and bad options with the offending value', () => {
    const [a, b] = makeParams();
    const opt = new SGD([a, b], { lr: 0.1 });
    expect(() => opt.step([tf.zeros([3, 4])])).toThrow(/expected 2 gradients/);
    expect(() => new SGD([a], { lr: -1 })).toThrow(/lr must be >= 0, got -1/);
    expect(() => new SGD([a], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Adam([a], { betas: [1.2, 0.9] })).toThrow(/betas/);
    expect(() => new SGD([{ params: [a] }, { params: [a] }], { lr: 0.1 })).toThrow(
      /more than one group/,
    );
    tf.dispose([a, b]);
  });

  it('keeps per-group options, with defaults filling the gaps', () => {
    const [a, b] = makeParams();
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups[0].lr).toBe(0.1);
    expect(opt.paramGroups[1].lr).toBe(0.01);
    expect(opt.paramGroups[1].momentum).toBe(0.9);
    expect(opt.params).toEqual([a, b]);
    const sd = opt.stateDict();
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1]]);
    tf.dispose([a, b]);
  });

  it('adds parameter groups later, as add_param_group', () => {
    const [a, b] = makeParams();
    const opt = new Adam([a], { lr: 0.01 });
    opt.addParamGroup({ params: [b], lr: 0.1 });
    expect(opt.params).toEqual([a, b]);
    expect(opt.paramGroups[1].betas).toEqual([0.9, 0.999]);
    expect(opt.paramGroups[1].lr).toBe(0.1);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(/more than one group/);
    const before = b.dataSync()[0];
    const g = [tf.zerosLike(a), tf.onesLike(b)];
    opt.step(g);
    // Adam's first step moves each entry by lr (m/√v = 1).
    expect(b.dataSync()[0]).toBeCloseTo(before - 0.1, 5);
    expect(() => opt.step([tf.zeros([4, 3]), g[1]])).toThrow(/gradient 0 has shape \[4,3\]/);
    opt.dispose();
    tf.dispose([a, b, ...g]);
  });
});

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/schedulers.json' with { type: 'json' };
import type { LRScheduler, Optimizer, Scheduler } from '../index.js';
import * as train from '../index.js';

interface Spec {
  type: string;
  options?: Record<string, unknown>;
  schedulers?: Spec[];
  milestones?: number[];
}
interface Case {
  optimizer: 'SGD' | 'Adam';
  optimizerOptions: Record<string, unknown>;
  groups: Record<string, unknown>[];
  scheduler: Spec;
  recordMomentum: boolean;
  lrs: number[][];
  momenta?: number[][];
}

const LAMBDAS: Record<string, (e: number) => number> = {
  pow095: (e) => 0.95 ** e,
  warmup10: (e) => Math.min(1, (e + 1) / 10),
  const098: () => 0.98,
  sawtooth: (e) => 1 + 0.5 * ((e % 7) / 7),
};

const cases = fixture.cases as unknown as Case[];
const vars: tf.Variable[] = [];

function makeOptimizer(c: Case): Optimizer<any> {
  const groups = c.groups.map((g) => {
    const v = tf.variable(tf.zeros([1]));
    vars.push(v);
    return { params: [v], ...g };
  });
  return c.optimizer === 'SGD'
    ? new train.SGD(groups, c.optimizerOptions as { lr: number })
    : new train.Adam(groups, c.optimizerOptions);
}

function build(spec: Spec, opt: Optimizer<any>): Scheduler {
  const o = { ...spec.options };
  switch (spec.type) {
    case 'SequentialLR':
      return new train.SequentialLR(opt, {
        schedulers: spec.schedulers!.map((s) => build(s, opt) as LRScheduler),
        milestones: spec.milestones!,
      });
    case 'ChainedScheduler':
      return new train.ChainedScheduler(spec.schedulers!.map((s) => build(s, opt) as LRScheduler));
    case 'LambdaLR':
      return new train.LambdaLR(opt, LAMBDAS[o.lrLambda as string]);
    case 'MultiplicativeLR':
      return new train.MultiplicativeLR(opt, LAMBDAS[o.lrLambda as string]);
    default: {
      const cls = (
        train as unknown as Record<string, new (o: Optimizer<any>, x: unknown) => Scheduler>
      )[spec.type];
      return new cls(opt, o);
    }
  }
}

function momenta(opt: Optimizer<any>): number[] {
  return opt.paramGroups.map((g) => (Array.isArray(g.betas) ? g.betas[0] : (g.momentum as number)));
}

function step(s: Scheduler, t: number): void {
  if (s instanceof train.ReduceLROnPlateau) s.step(fixture.metrics[t]);
  else s.step();
}

let largest = 0;
function expectClose(got: number[], want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => {
    const rel = Math.abs(g - want[i]) / Math.max(Math.abs(want[i]), 1e-300);
    largest = Math.max(largest, want[i] === 0 ? Math.abs(g) : rel);
    if (want[i] === 0) expect(Math.abs(g), what).toBeLessThan(1e-15);
    else expect(rel, `${what}: got ${g}, torch ${want[i]}`).toBeLessThan(1e-7);
  });
}

function label(c: Case): string {
  const s = c.scheduler;
  const inner = s.schedulers
    ? s.schedulers.map((x) => `${x.type}${JSON.stringify(x.options)}`).join(' → ')
    : '';
  return `${s.type} ${JSON.stringify(s.options ?? { milestones: s.milestones })} ${inner} on ${c.optimizer}, ${c.groups.length} group(s)`;
}

describe(`schedulers match torch ${fixture.torch} get_last_lr() over ${fixture.steps} steps`, () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => tf.dispose(vars));

  for (const c of cases) {
    it(label(c), () => {
      const opt = makeOptimizer(c);
      const sched = build(c.scheduler, opt);
      expectClose(sched.getLastLr(), c.lrs[0], 'after construction');
      if (c.momenta) expectClose(momenta(opt), c.momenta[0], 'momentum after construction');
      for (let t = 0; t < fixture.steps; t++) {
        step(sched, t);
        expectClose(sched.getLastLr(), c.lrs[t + 1], `lr after step ${t + 1}`);
        expectClose(
          opt.paramGroups.map((g) => g.lr),
          c.lrs[t + 1],
          `group lr after step ${t + 1}`,
        );
        if (c.momenta) expectClose(momenta(opt), c.momenta[t + 1], `momentum after step ${t + 1}`);
      }
    });
  }

  it('a scheduler restored mid-run continues the same sequence', () => {
    for (const c of cases) {
      const opt = makeOptimizer(c);
      const sched = build(c.scheduler, opt);
      const half = 137;
      for (let t = 0; t < half; t++) step(sched, t);
      // What a checkpoint holds: the optimizer's groups and the scheduler's fields.
      const optState = structuredClone({ ...opt.stateDict(), state: {} });
      const schedState = structuredClone(sched.stateDict());
      const opt2 = makeOptimizer(c);
      const sched2 = build(c.scheduler, opt2);
      opt2.loadStateDict(optState);
      sched2.loadStateDict(schedState);
      for (let t = half; t < fixture.steps; t++) {
        step(sched2, t);
        expectClose(sched2.getLastLr(), c.lrs[t + 1], `${label(c)} resumed, step ${t + 1}`);
        if (c.momenta) expectClose(momenta(opt2), c.momenta[t + 1], `${label(c)} resumed momentum`);
      }
    }
  });

  it('declares per-batch stepping for OneCycleLR and CyclicLR only', () => {
    const opt = makeOptimizer(cases[0]);
    expect(new train.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 }).interval).toBe('batch');
    expect(new train.CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1 }).interval).toBe('batch');
    expect(new train.StepLR(opt, { stepSize: 3 }).interval).toBe('epoch');
    expect(new train.CosineAnnealingLR(opt, { tMax: 3 }).interval).toBe('epoch');
    expect(new train.ReduceLROnPlateau(opt).interval).toBe('epoch');
  });

  it('rejects bad options with the offending value', () => {
    const opt = makeOptimizer(cases[0]);
    expect(() => new train.OneCycleLR(opt, { maxLr: 0.1 })).toThrow(/totalSteps/);
    expect(() => new train.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 5 }).step()).not.toThrow();
    const oc = new train.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 2 });
    oc.step();
    oc.step();
    expect(() => oc.step()).toThrow(/tried to step 4 times; the schedule has 2 steps/);
    expect(() => new train.ReduceLROnPlateau(opt, { factor: 1.5 })).toThrow(
      /factor must be < 1, got 1.5/,
    );
    expect(() => new train.CyclicLR(opt, { baseLr: [0.1, 0.2], maxLr: 1 })).toThrow(
      /expected 1 values for baseLr/,
    );
    expect(() => new train.StepLR(opt, { stepSize: 0 })).toThrow(/stepSize/);
  });

  it("cycles Adam's beta1 as PyTorch 2.x does, on the momentum curve torch 1.13 gives SGD", () => {
    const c = cases.find(
      (x) => x.scheduler.type === 'CyclicLR' && x.recordMomentum && x.groups.length === 1,
    )!;
    const v = tf.variable(tf.zeros([1]));
    vars.push(v);
    const adam = new train.Adam([v], { lr: 0.01 });
    const sched = new train.CyclicLR(adam, c.scheduler.options as unknown as train.CyclicLROptions);
    for (let t = 0; t <= fixture.steps; t++) {
      if (t > 0) sched.step();
      expectClose(sched.getLastLr(), c.lrs[t], `lr after step ${t}`);
      expectClose(
        [(adam.paramGroups[0].betas as number[])[0]],
        c.momenta![t],
        `beta1 after step ${t}`,
      );
      expect(adam.paramGroups[0].betas[1]).toBe(0.999);
    }
  });

  it('reports the largest deviation', () => {
    console.log(
      `largest scheduler deviation from torch ${fixture.torch}: ${largest.toExponential(2)}`,
    );
    expect(largest).toBeLessThan(1e-7);
  });
});

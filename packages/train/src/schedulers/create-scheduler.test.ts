import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/factories.json' with { type: 'json' };
import {
  createOptimizer,
  createScheduler,
  fit,
  type OneCycleLR,
  type Optimizer,
  type OptimizerName,
  SCHEDULER_NAMES,
  type SchedulerName,
  type SchedulerSettings,
} from '../index.js';
import { LinearProbe, makeDataset, ShuffledLoader } from '../testing/fixtures.js';

interface Case {
  name: SchedulerName;
  settings: SchedulerSettings;
  optimizer: { name: OptimizerName; settings: { lr: number; momentum?: number } };
  className: string;
  interval: 'batch' | 'epoch';
  lrs: number[][];
  momenta?: number[][];
}

const cases = fixture.schedulers as Case[];
const vars: tf.Variable[] = [];
function optimizerFor(c: Pick<Case, 'optimizer'>): Optimizer<any> {
  const v = tf.variable(tf.zeros([2]));
  vars.push(v);
  return createOptimizer(c.optimizer.name, [v], c.optimizer.settings);
}

function momentumOf(opt: Optimizer<any>): number {
  const g = opt.paramGroups[0];
  return Array.isArray(g.betas) ? (g.betas[0] as number) : (g.momentum as number);
}

function expectClose(got: number, want: number, what: string): void {
  if (want === 0) expect(Math.abs(got), what).toBeLessThan(1e-15);
  else
    expect(
      Math.abs(got - want) / Math.abs(want),
      `${what}: got ${got}, torch ${want}`,
    ).toBeLessThan(1e-7);
}

describe(`createScheduler steps as torch ${fixture.torch}'s lr_scheduler does for each name`, () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => tf.dispose(vars));

  for (const c of cases) {
    it(`${c.name} ${JSON.stringify(c.settings)} on ${c.optimizer.name} is ${c.className}, per ${c.interval}`, () => {
      const opt = optimizerFor(c);
      const sched = createScheduler(c.name, opt, c.settings);
      if (!sched) throw new Error(`${c.name} built no scheduler`);
      expect(sched.constructor.name).toBe(c.className);
      expect(sched.interval).toBe(c.interval);
      expectClose(opt.paramGroups[0].lr, c.lrs[0][0], 'lr after construction');
      for (let t = 1; t < c.lrs.length; t++) {
        sched.step(c.name === 'plateau' ? fixture.metrics[t - 1] : undefined);
        expectClose(opt.paramGroups[0].lr, c.lrs[t][0], `lr after step ${t}`);
        if (c.momenta) expectClose(momentumOf(opt), c.momenta[t][0], `momentum after step ${t}`);
      }
    });
  }

  it('covers every name but none, which builds nothing', () => {
    const named = new Set(cases.map((c) => c.name));
    expect([...named, 'none'].sort()).toEqual([...SCHEDULER_NAMES].sort());
    const opt = optimizerFor(cases[0]);
    expect(createScheduler('none', opt, { epochs: 3, stepsPerEpoch: 10, lr: 0.1 })).toBeUndefined();
    expect(opt.paramGroups[0].lr).toBe(0.1);
  });

  it('onecycle runs exactly epochs × stepsPerEpoch steps, as fit gives it', () => {
    const opt = optimizerFor(cases[0]);
    const sched = createScheduler('onecycle', opt, { epochs: 2, stepsPerEpoch: 3, lr: 0.1 })!;
    for (let i = 0; i < 6; i++) sched.step();
    expect(() => sched.step()).toThrow(/tried to step 8 times; the schedule has 6 steps/);
  });

  it('fit steps a onecycle once per optimizer step, gradient accumulation included', async () => {
    const model = new LinearProbe(3);
    const opt = createOptimizer('sgd', model.parameters(), { lr: 0.1, momentum: 0.9 });
    // 48 examples in batches of 16, two batches per step: 2 optimizer steps per epoch.
    const loader = new ShuffledLoader(makeDataset(48, 1), 16, null);
    const stepsPerEpoch = Math.ceil(loader.length / 2);
    const sched = createScheduler('onecycle', opt, {
      epochs: 3,
      stepsPerEpoch,
      lr: 0.1,
    }) as OneCycleLR;
    const lrs: number[] = [];
    await fit({
      model,
      optimizer: opt,
      scheduler: sched,
      trainLoader: loader,
      epochs: 3,
      accumulate: 2,
      callbacks: [{ onEpochEnd: (_, logs) => void lrs.push(logs.lr) }],
    });
    expect(sched.lastEpoch).toBe(6);
    // The rate of each epoch's last batch is the one after the epoch's first step.
    const alone = createScheduler('onecycle', optimizerFor(cases[0]), {
      epochs: 3,
      stepsPerEpoch,
      lr: 0.1,
    })!;
    const expected = [1, 3, 5].map((k) => {
      while ((alone as OneCycleLR).lastEpoch < k) alone.step();
      return alone.getLastLr()[0];
    });
    expect(lrs).toEqual(expected);
    opt.dispose();
    model.dispose();
  });

  it('refuses a setting the named schedule does not read, rather than ignoring it', () => {
    const opt = optimizerFor(cases[0]);
    const base = { epochs: 10, stepsPerEpoch: 5, lr: 0.1 };
    expect(() => createScheduler('cosine', opt, { ...base, gamma: 0.5 })).toThrow(
      /cosine has no gamma \(got 0\.5\); only step, multistep, plateau read it/,
    );
    expect(() => createScheduler('step', opt, { ...base, milestones: [3] })).toThrow(
      /step has no milestones \(got \[3\]\); only multistep read it/,
    );
    expect(() => createScheduler('onecycle', opt, { ...base, stepSize: 2 })).toThrow(
      /onecycle has no stepSize/,
    );
  });

  it('names the bad value and what was expected', () => {
    const opt = optimizerFor(cases[0]);
    const base = { epochs: 10, stepsPerEpoch: 5, lr: 0.1 };
    expect(() => createScheduler('linear' as SchedulerName, opt, base)).toThrow(
      /unknown scheduler "linear"; expected one of onecycle, cosine, step, multistep, plateau, none/,
    );
    expect(() => createScheduler('cosine', opt, { ...base, epochs: 0 })).toThrow(
      /epochs must be a positive integer, got 0/,
    );
    expect(() => createScheduler('onecycle', opt, { ...base, stepsPerEpoch: 2.5 })).toThrow(
      /stepsPerEpoch must be a positive integer, got 2\.5/,
    );
    expect(() => createScheduler('step', opt, { ...base, stepSize: 0 })).toThrow(
      /stepSize must be a positive integer, got 0/,
    );
    expect(() => createScheduler('multistep', opt, { ...base, milestones: [] })).toThrow(
      /milestones must be a non-empty list of increasing positive integers, got \[\]/,
    );
    expect(() => createScheduler('multistep', opt, { ...base, milestones: [6, 3] })).toThrow(
      /got \[6,3\]/,
    );
    expect(() => createScheduler('plateau', opt, { ...base, gamma: 2 })).toThrow(
      /gamma must be in \(0, 1\], got 2/,
    );
  });
});

import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fixture from '../__fixtures__/factories.json' with { type: 'json' };
import {
  Adam,
  AdamW,
  createOptimizer,
  OPTIMIZER_NAMES,
  type OptimizerName,
  RMSprop,
  SGD,
} from '../index.js';

interface Case {
  name: OptimizerName;
  settings: { lr: number; momentum?: number; weightDecay?: number };
  className: string;
  hyper: Record<string, unknown>;
}

const CLASSES = { SGD, Adam, AdamW, RMSprop } as Record<
  string,
  abstract new (
    ...a: never[]
  ) => unknown
>;
const vars: tf.Variable[] = [];
function param(): tf.Variable {
  const v = tf.variable(tf.zeros([2]));
  vars.push(v);
  return v;
}

describe(`createOptimizer builds what torch ${fixture.torch}'s torch.optim builds from the same settings`, () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => tf.dispose(vars));

  for (const c of fixture.optimizers as Case[]) {
    it(`${c.name} ${JSON.stringify(c.settings)} is ${c.className} with PyTorch's defaults for the rest`, () => {
      const p = param();
      const opt = createOptimizer(c.name, [p], c.settings);
      expect(opt).toBeInstanceOf(CLASSES[c.className]);
      expect(opt.constructor.name).toBe(c.className);
      expect(opt.params).toEqual([p]);
      const { params: _, ...group } = opt.paramGroups[0];
      expect(group).toEqual(c.hyper);
    });
  }

  it('covers every name', () => {
    const named = new Set((fixture.optimizers as Case[]).map((c) => c.name));
    expect([...named].sort()).toEqual([...OPTIMIZER_NAMES].sort());
  });

  it('an undefined setting keeps the default instead of overwriting it', () => {
    const opt = createOptimizer('adamw', [param()], {
      lr: 0.001,
      weightDecay: undefined,
      momentum: undefined,
    });
    expect(opt.paramGroups[0].weightDecay).toBe(0.01);
  });

  it('refuses momentum for the Adam family rather than dropping it', () => {
    expect(() => createOptimizer('adam', [param()], { lr: 0.001, momentum: 0.9 })).toThrow(
      /adam has no momentum .*got momentum 0\.9/,
    );
    expect(() => createOptimizer('adamw', [param()], { lr: 0.001, momentum: 0 })).toThrow(
      /adamw has no momentum/,
    );
  });

  it('names the bad value and what was expected', () => {
    expect(() => createOptimizer('lamb' as OptimizerName, [param()], { lr: 0.1 })).toThrow(
      /unknown optimizer "lamb"; expected one of sgd, adam, adamw, rmsprop/,
    );
    expect(() => createOptimizer('sgd', [param()], { lr: -1 })).toThrow(
      /lr must be a non-negative finite number, got -1/,
    );
    expect(() => createOptimizer('sgd', [param()], {} as { lr: number })).toThrow(
      /lr must be a non-negative finite number, got undefined/,
    );
    expect(() => createOptimizer('sgd', [param()], { lr: 0.1, momentum: Number.NaN })).toThrow(
      /momentum/,
    );
  });
});

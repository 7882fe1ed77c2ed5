import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Module, StateDictError } from './index.js';

class Affine extends Module {
  weight: tf.Variable;
  bias: tf.Variable;
  constructor(n: number) {
    super();
    this.weight = this.registerParameter('weight', tf.ones([n]));
    this.bias = this.registerParameter('bias', tf.zeros([n]));
    this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32'));
    this.registerBuffer('scratch', tf.zeros([n]), { persistent: false });
  }
  override extraRepr() {
    return `${this.weight.shape[0]}`;
  }
  override forward(x: tf.Tensor) {
    return tf.add(tf.mul(x, this.weight), this.bias);
  }
}

class Net extends Module {
  a = this.registerModule('a', new Affine(3));
  blocks = this.registerModule('blocks', new Module());
  constructor() {
    super();
    this.blocks.registerModule('0', new Affine(3));
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Module', () => {
  it('names parameters, buffers and children as PyTorch does', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'a.weight',
      'a.bias',
      'blocks.0.weight',
      'blocks.0.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'a.num_batches_tracked',
      'a.scratch',
      'blocks.0.num_batches_tracked',
      'blocks.0.scratch',
    ]);
    expect(Object.keys(net.stateDict())).toEqual([
      'a.weight',
      'a.bias',
      'a.num_batches_tracked',
      'blocks.0.weight',
      'blocks.0.bias',
      'blocks.0.num_batches_tracked',
    ]);
    expect(net.numParameters()).toBe(12);
    expect(net.blocks.children()[0].path).toBe('blocks.0');
    net.dispose();
  });

  it('propagates train/eval to every descendant', () => {
    const net = new Net();
    net.eval();
    expect(net.modules().map((m) => m.training)).toEqual([false, false, false, false]);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.dispose();
  });

  it('prints a PyTorch-like tree with parameter counts', () => {
    const net = new Net();
    expect(net.toString()).toBe(
      [
        'Net(  # 12 params',
        '  (a): Affine(3)  # 6 params',
        '  (blocks): Module(  # 6 params',
        '    (0): Affine(3)  # 6 params',
        '  )',
        ')',
      ].join('\n'),
    );
    net.dispose();
  });

  it("shows a parent's own settings on the first inner line, as PyTorch does", () => {
    class Wrapper extends Module {
      inner = this.registerModule('inner', new Affine(2));
      override extraRepr() {
        return 'scale=2';
      }
    }
    const w = new Wrapper();
    expect(w.toString()).toBe(
      ['Wrapper(  # 4 params', '  scale=2', '  (inner): Affine(2)  # 4 params', ')'].join('\n'),
    );
    w.dispose();
  });

  it('round-trips a state dict and reports every problem in strict mode', () => {
    const src = new Net();
    src.a.weight.assign(tf.tensor1d([1, 2, 3]));
    const dst = new Net();
    dst.loadStateDict(src.stateDict());
    expect(Array.from(dst.a.weight.dataSync())).toEqual([1, 2, 3]);

    const bad = { ...src.stateDict(), extra: tf.zeros([1]), 'a.bias': tf.zeros([4]) };
    delete (bad as Record<string, tf.Tensor>)['blocks.0.bias'];
    let err: StateDictError | undefined;
    try {
      dst.loadStateDict(bad);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).toBeInstanceOf(StateDictError);
    expect(err!.missingKeys).toEqual(['blocks.0.bias']);
    expect(err!.unexpectedKeys).toEqual(['extra']);
    expect(err!.shapeMismatches).toEqual([{ key: 'a.bias', expected: [3], found: [4] }]);
    expect(err!.message).toContain('Size mismatch for a.bias: expected shape [3], found [4]');

    const { 'a.bias': _b, ...withoutShapeError } = bad;
    expect(dst.loadStateDict(withoutShapeError, { strict: false })).toEqual({
      missingKeys: ['a.bias', 'blocks.0.bias'],
      unexpectedKeys: ['extra'],
    });
    src.dispose();
    dst.dispose();
  });

  it('dispose frees every variable it owns', () => {
    const before = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

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

class Matrix extends Module {
  weight = this.registerParameter('weight', tf.zeros([2, 3]));
}

/** A foreign layout: weights stored transposed, as raw `{shape, data}` records. */
interface RawRecord {
  shape: number[];
  data: number[];
}

const transposed = {
  sourceShape: (_key: string, own: readonly number[]) => [...own].reverse(),
  toTensor: (_key: string, value: RawRecord) => tf.transpose(tf.tensor(value.data, value.shape)),
};

describe('Module.loadStateDict with a transform', () => {
  it('converts each entry from the source layout and frees what it created', () => {
    const m = new Matrix();
    const before = tf.memory().numTensors;
    const result = m.loadStateDict(
      { weight: { shape: [3, 2], data: [1, 4, 2, 5, 3, 6] } },
      { transform: transposed },
    );
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(m.getParameter('weight').arraySync()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('reports shape mismatches in the source layout, and changes nothing', () => {
    const m = new Matrix();
    let error: unknown;
    try {
      m.loadStateDict(
        { weight: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } },
        { transform: transposed },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StateDictError);
    expect((error as StateDictError).shapeMismatches).toEqual([
      { key: 'weight', expected: [3, 2], found: [2, 3] },
    ]);
    expect(m.getParameter('weight').arraySync()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    m.dispose();
  });

  it('refuses a transform whose result does not fit, changing nothing and leaking nothing', () => {
    const m = new Matrix();
    const before = tf.memory().numTensors;
    const wrong = { toTensor: () => tf.ones([6]) };
    expect(() =>
      m.loadStateDict({ weight: { shape: [2, 3], data: [] } as RawRecord }, { transform: wrong }),
    ).toThrow('the transform made "weight" of shape [6]; expected [2,3]');
    expect(tf.memory().numTensors).toBe(before);
    expect((m.getParameter('weight').arraySync() as number[][])[0]).toEqual([0, 0, 0]);
    m.dispose();
  });

  it('does not dispose tensors passed in, even when the transform returns them', () => {
    const m = new Matrix();
    const w = tf.ones([2, 3]);
    m.loadStateDict({ weight: w }, { transform: { toTensor: (_k, t: tf.Tensor) => t } });
    expect(w.isDisposed).toBe(false);
    expect((m.getParameter('weight').arraySync() as number[][])[1]).toEqual([1, 1, 1]);
    w.dispose();
    m.dispose();
  });

  it('refuses an entry that is not a tensor with a typed error naming the key', () => {
    const m = new Matrix();
    expect(() => m.loadStateDict({ weight: [1, 2] as unknown as tf.Tensor })).toThrow(
      'Matrix.loadStateDict: entry "weight" must be a tfjs Tensor, got [1,2]',
    );
    m.dispose();
  });
});

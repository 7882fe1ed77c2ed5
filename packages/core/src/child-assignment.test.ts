import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Module } from './index.js';

class Scale extends Module {
  weight: tf.Variable;
  constructor(n: number, value = 1) {
    super();
    this.weight = this.registerParameter('weight', tf.fill([n], value));
  }
  override forward(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, this.weight);
  }
}

class Head extends Module {
  inner: Scale;
  constructor(n: number, value: number) {
    super();
    this.inner = this.registerModule('inner', new Scale(n, value));
  }
  override forward(x: tf.Tensor): tf.Tensor {
    return this.inner.forward(x);
  }
}

class Net extends Module {
  body: Scale;
  fc: Module | null;
  constructor() {
    super();
    this.body = this.registerModule('body', new Scale(3, 2));
    this.fc = this.registerModule('fc', new Scale(3, 3));
  }
  override forward(x: tf.Tensor): tf.Tensor {
    return (this.fc as Module).forward(this.body.forward(x)) as tf.Tensor;
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('assigning a child module through its property, as in PyTorch', () => {
  it('model.fc = new head replaces the registered child in place', () => {
    const net = new Net();
    const old = net.fc as Scale;
    net.fc = new Head(3, 5);
    expect(Object.keys(net.stateDict())).toEqual(['body.weight', 'fc.inner.weight']);
    expect(net.parameters()).not.toContain(old.weight);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['body', 'fc']);
    expect((net.fc as Head).inner.path).toBe('fc.inner');
    const y = net.forward(tf.ones([3]));
    expect(Array.from(y.dataSync())).toEqual([10, 10, 10]);
    // Freezing the body and training the new head is the fine-tuning recipe.
    net.body.requiresGrad(false);
    expect(net.numParameters({ trainableOnly: true })).toBe(3);
    old.dispose();
    net.dispose();
  });

  it('null removes the child; a non-module is refused with the name and the value', () => {
    const net = new Net();
    const old = net.fc as Scale;
    net.fc = null;
    expect(net.fc).toBeNull();
    expect(Object.keys(net.stateDict())).toEqual(['body.weight']);
    expect(() => {
      (net as unknown as { body: unknown }).body = 42;
    }).toThrow(/cannot assign 42 to child module "body"/);
    old.dispose();
    net.dispose();
  });

  it('a child named like a method does not shadow the method', () => {
    const m = new Module();
    m.registerModule('train', new Scale(1));
    expect(typeof m.train).toBe('function');
    expect(m.namedChildren().map(([n]) => n)).toEqual(['train']);
    m.dispose();
  });
});

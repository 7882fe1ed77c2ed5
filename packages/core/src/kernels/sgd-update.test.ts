import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { oddValues, scalarCache } from '../testing/optimizer-kernels.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';
import { setOwnWasmKernels } from './own-wasm.js';
import { SGD_UPDATE, type SgdUpdateOptions, sgdUpdate } from './sgd-update.js';

const PLAIN = {
  lr: 0.01,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
};
/** [title, options, whether a momentum buffer exists yet]. */
const CASES: Array<[string, SgdUpdateOptions, boolean]> = [
  ['plain', PLAIN, false],
  ['momentum, first step', { ...PLAIN, momentum: 0.9 }, false],
  ['momentum, later step', { ...PLAIN, momentum: 0.9 }, true],
  [
    'dampening and weight decay',
    { ...PLAIN, lr: 0.1, momentum: 0.8, dampening: 0.3, weightDecay: 5e-4 },
    true,
  ],
  ['Nesterov', { ...PLAIN, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }, true],
  ['Nesterov, first step', { ...PLAIN, momentum: 0.9, nesterov: true }, false],
  ['maximize', { ...PLAIN, lr: 0.3, momentum: 0.5, maximize: true, weightDecay: 0.01 }, true],
];

/** torch.optim.SGD's update written out element by element, every operation rounded to float32. */
function reference(
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array | null,
  o: SgdUpdateOptions,
): [number[], number[] | null] {
  const f = Math.fround;
  const out: number[] = [];
  const next: number[] = [];
  for (let i = 0; i < p.length; i++) {
    let d = o.maximize ? -g[i] : g[i];
    if (o.weightDecay !== 0) d = f(d + f(p[i] * f(o.weightDecay)));
    if (o.momentum !== 0) {
      const m = f(o.momentum);
      const b =
        buf == null ? d : f(f(buf[i] * m) + (o.dampening !== 0 ? f(d * f(1 - o.dampening)) : d));
      next.push(b);
      d = o.nesterov ? f(d + f(b * m)) : b;
    }
    out.push(f(p[i] + f(d * f(-o.lr))));
  }
  return [out, o.momentum !== 0 ? next : null];
}

/** sgdUpdate on the current backend: [new parameter, new buffer]. */
function run(
  p: Float32Array,
  g: Float32Array,
  buf: Float32Array | null,
  shape: number[],
  o: SgdUpdateOptions,
): [number[], number[] | null] {
  const inputs = [p, g, ...(buf ? [buf] : [])].map((v) => tf.tensor(v, shape));
  const r = sgdUpdate(inputs[0], inputs[1], inputs[2] ?? null, o);
  const out: [number[], number[] | null] = [
    Array.from(r.param.dataSync()),
    r.buffer && Array.from(r.buffer.dataSync()),
  ];
  tf.dispose([...inputs, r.param, ...(r.buffer ? [r.buffer] : [])]);
  return out;
}

it("computes torch.optim.SGD's update bit for bit with tfjs ops on cpu, which has no kernel of its own", async () => {
  await tf.setBackend('cpu');
  expect(tf.getKernel(SGD_UPDATE, 'cpu')).toBeUndefined();
  const gen = new Generator(4);
  for (const [title, o, hasBuffer] of CASES) {
    const [p, g, b] = [oddValues(gen, 37), oddValues(gen, 37), oddValues(gen, 37)];
    const buf = hasBuffer ? b : null;
    expect(run(p, g, buf, [37], o), title).toEqual(reference(p, g, buf, o));
  }
});

it("takes the fallback's scalars from the caller's cache, one tensor per value", async () => {
  await tf.setBackend('cpu');
  const { cache, scalar } = scalarCache();
  const o = { ...PLAIN, lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 };
  const gen = new Generator(8);
  const [p, g, b] = [oddValues(gen, 9), oddValues(gen, 9), oddValues(gen, 9)];
  const before = tf.memory().numTensors;
  const inputs = [p, g, b].map((v) => tf.tensor(v));
  for (let step = 0; step < 2; step++) {
    const r = sgdUpdate(inputs[0], inputs[1], inputs[2], o, scalar);
    expect([Array.from(r.param.dataSync()), r.buffer && Array.from(r.buffer.dataSync())]).toEqual(
      reference(p, g, b, o),
    );
    tf.dispose([r.param, r.buffer as tf.Tensor]);
  }
  // -lr, the weight decay and the momentum: made once for both steps, nothing else left.
  expect([...cache.keys()].sort()).toEqual(
    [Math.fround(-0.1), Math.fround(0.01), Math.fround(0.9)].sort(),
  );
  tf.dispose([...inputs, ...cache.values()]);
  expect(tf.memory().numTensors).toBe(before);
});

it('names what does not match', async () => {
  await tf.setBackend('cpu');
  const [param, grad] = [tf.zeros([2, 3]), tf.zeros([3, 2])];
  expect(() => sgdUpdate(param, grad, null, PLAIN)).toThrow(
    'sgdUpdate: param, grad and buffer must be float32 of one shape, got param float32 [2,3], grad float32 [3,2]',
  );
  tf.dispose([param, grad]);
});

onOneAndTwoThreads('The SGD update on wasm', (threads) => {
  for (const shape of [[3, 3, 32, 64], [1000], [7], [0, 5]]) {
    for (const [title, o, hasBuffer] of CASES) {
      it(`matches cpu bit for bit for [${shape}], ${title}`, async () => {
        expect(tf.getKernel(SGD_UPDATE, 'wasm')).toBeDefined();
        const gen = new Generator(shape.reduce((q, v) => q * 7 + v, title.length));
        const n = shape.reduce((q, v) => q * v, 1);
        const [p, g, b] = [oddValues(gen, n), oddValues(gen, n), oddValues(gen, n)];
        const buf = hasBuffer ? b : null;
        const [want, got] = await cpuAndWasm(threads, n > 32, () => run(p, g, buf, shape, o));
        expect(got).toEqual(want);
        expect(want).toEqual(reference(p, g, buf, o));
      });
    }
  }

  it('gives the same bits in JavaScript where the own module is off', async () => {
    await tf.setBackend('wasm');
    const gen = new Generator(11);
    const [p, g, b] = [oddValues(gen, 300), oddValues(gen, 300), oddValues(gen, 300)];
    for (const [title, o, hasBuffer] of CASES) {
      const buf = hasBuffer ? b : null;
      setOwnWasmKernels(false);
      try {
        expect(run(p, g, buf, [300], o), title).toEqual(reference(p, g, buf, o));
      } finally {
        setOwnWasmKernels(true);
      }
    }
  });
});

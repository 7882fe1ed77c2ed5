import '@tensorflow/tfjs-backend-cpu';
import '../index.js';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { Generator } from '../generator.js';
import { oddValues, scalarCache } from '../testing/optimizer-kernels.js';
import { cpuAndWasm, onOneAndTwoThreads } from '../testing/wasm-threads.js';
import { ADAM_UPDATE, type AdamUpdateOptions, adamUpdate } from './adam-update.js';
import { setOwnWasmKernels } from './own-wasm.js';

const PLAIN: AdamUpdateOptions = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  decoupled: false,
  amsgrad: false,
  maximize: false,
  step: 1,
};
const CASES: Array<[string, AdamUpdateOptions]> = [
  ['first step', PLAIN],
  ['a later step', { ...PLAIN, step: 37, lr: 0.01 }],
  ['L2 weight decay', { ...PLAIN, step: 3, weightDecay: 5e-4 }],
  ['decoupled weight decay (AdamW)', { ...PLAIN, step: 5, weightDecay: 0.01, decoupled: true }],
  ['AMSGrad', { ...PLAIN, step: 9, amsgrad: true, beta1: 0.8, beta2: 0.99, eps: 1e-6 }],
  ['maximize', { ...PLAIN, step: 2, maximize: true, weightDecay: 0.1, lr: 0.3 }],
];

/**
 * torch.optim.Adam's update written out element by element, every operation rounded to
 * float32 (a square root or quotient in double precision rounds to the float32 one).
 */
function reference(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vmax: Float32Array | null,
  o: AdamUpdateOptions,
): number[][] {
  const f = Math.fround;
  const out: number[][] = [[], [], [], []];
  const decay = f(o.decoupled ? 1 - o.lr * o.weightDecay : o.weightDecay);
  const bc2 = f(Math.sqrt(1 - o.beta2 ** o.step));
  const negStep = f(-o.lr / (1 - o.beta1 ** o.step));
  for (let i = 0; i < p.length; i++) {
    let d = o.maximize ? -g[i] : g[i];
    let w = p[i];
    if (o.weightDecay !== 0 && !o.decoupled) d = f(d + f(w * decay));
    if (o.weightDecay !== 0 && o.decoupled) w = f(w * decay);
    const m1 = f(f(m[i] * f(o.beta1)) + f(d * f(1 - o.beta1)));
    const v1 = f(f(v[i] * f(o.beta2)) + f(f(d * d) * f(1 - o.beta2)));
    // torch.maximum: NaN if either is.
    const s =
      vmax == null
        ? v1
        : Number.isNaN(vmax[i]) || Number.isNaN(v1)
          ? Number.NaN
          : Math.max(vmax[i], v1);
    out[0].push(f(w + f(f(m1 * negStep) / f(f(f(Math.sqrt(s)) / bc2) + f(o.eps)))));
    out[1].push(m1);
    out[2].push(v1);
    if (vmax != null) out[3].push(s);
  }
  return vmax == null ? out.slice(0, 3) : out;
}

/** adamUpdate on the current backend: [param, m, v, (vmax)]. */
function run(data: Float32Array[], shape: number[], o: AdamUpdateOptions): number[][] {
  const [p, g, m, v, vmax] = data.map((d) => tf.tensor(d, shape));
  const r = adamUpdate(p, g, m, v, o.amsgrad ? vmax : null, o);
  const outs = [r.param, r.m, r.v, ...(r.vmax ? [r.vmax] : [])];
  const got = outs.map((t) => Array.from(t.dataSync()));
  tf.dispose([p, g, m, v, vmax, ...outs]);
  return got;
}

function inputs(gen: Generator, n: number): Float32Array[] {
  // The second moments are squares: mostly non-negative, with the odd values mixed in.
  return [
    oddValues(gen, n),
    oddValues(gen, n),
    oddValues(gen, n),
    oddValues(gen, n, 0),
    oddValues(gen, n, 0),
  ];
}

it("computes torch.optim.Adam's update bit for bit with tfjs ops on cpu, which has no kernel of its own", async () => {
  await tf.setBackend('cpu');
  expect(tf.getKernel(ADAM_UPDATE, 'cpu')).toBeUndefined();
  const gen = new Generator(5);
  for (const [title, o] of CASES) {
    const data = inputs(gen, 41);
    const [p, g, m, v, vmax] = data;
    expect(run(data, [41], o), title).toEqual(reference(p, g, m, v, o.amsgrad ? vmax : null, o));
  }
});

it("takes the fallback's scalars from the caller's cache, one tensor per value", async () => {
  await tf.setBackend('cpu');
  const { cache, scalar } = scalarCache();
  const o = { ...PLAIN, step: 4, weightDecay: 0.01 };
  const gen = new Generator(9);
  const data = inputs(gen, 11);
  const before = tf.memory().numTensors;
  const [p, g, m, v] = data.slice(0, 4).map((d) => tf.tensor(d));
  for (let i = 0; i < 2; i++) {
    const r = adamUpdate(p, g, m, v, null, o, scalar);
    expect([r.param, r.m, r.v].map((t) => Array.from(t.dataSync()))).toEqual(
      reference(data[0], data[1], data[2], data[3], null, o),
    );
    tf.dispose([r.param, r.m, r.v]);
  }
  // decay, beta1, 1 - beta1, beta2, 1 - beta2, the bias correction, eps and the step size.
  expect(cache.size).toBe(8);
  tf.dispose([p, g, m, v, ...cache.values()]);
  expect(tf.memory().numTensors).toBe(before);
});

it('names what does not match', async () => {
  await tf.setBackend('cpu');
  const z = tf.zeros([2, 3]);
  const t = tf.zeros([3, 2]);
  expect(() => adamUpdate(z, z, t, z, null, PLAIN)).toThrow(
    'adamUpdate: param, grad, m, v (and vmax, with amsgrad only) must be float32 of one shape, got param float32 [2,3], grad float32 [2,3], m float32 [3,2], v float32 [2,3], vmax none',
  );
  expect(() => adamUpdate(z, z, z, z, null, { ...PLAIN, amsgrad: true })).toThrow('vmax none');
  expect(() => adamUpdate(z, z, z, z, null, { ...PLAIN, step: 0 })).toThrow(
    'adamUpdate: step must be an integer >= 1, got 0',
  );
  tf.dispose([z, t]);
});

onOneAndTwoThreads('The Adam update on wasm', (threads) => {
  for (const shape of [[3, 3, 32, 64], [1000], [7], [0, 5]]) {
    for (const [title, o] of CASES) {
      it(`matches cpu bit for bit for [${shape}], ${title}`, async () => {
        expect(tf.getKernel(ADAM_UPDATE, 'wasm')).toBeDefined();
        const n = shape.reduce((q, d) => q * d, 1);
        const data = inputs(new Generator(shape.reduce((q, d) => q * 7 + d, title.length)), n);
        const [want, got] = await cpuAndWasm(threads, n > 32, () => run(data, shape, o));
        expect(got).toEqual(want);
        const [p, g, m, v, vmax] = data;
        expect(want).toEqual(reference(p, g, m, v, o.amsgrad ? vmax : null, o));
      });
    }
  }

  it('gives the same bits in JavaScript where the own module is off', async () => {
    await tf.setBackend('wasm');
    const data = inputs(new Generator(12), 300);
    const [p, g, m, v, vmax] = data;
    for (const [title, o] of CASES) {
      setOwnWasmKernels(false);
      try {
        expect(run(data, [300], o), title).toEqual(
          reference(p, g, m, v, o.amsgrad ? vmax : null, o),
        );
      } finally {
        setOwnWasmKernels(true);
      }
    }
  });
});

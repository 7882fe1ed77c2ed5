/**
 * Compares every layer against values recorded from PyTorch (see
 * tools/fixtures/layers/make-layer-fixtures.py): forward outputs, the gradients of
 * sum(output * r) with respect to the input and each parameter, and the buffers after each
 * call, on every backend that runs in Node here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Module, selectBackend } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BasicBlock,
  BatchNorm2d,
  Bottleneck,
  Conv2d,
  LeakyReLU,
  Linear,
  MaxPool2d,
  makeDownsample,
  nchwToNhwc,
  oihwToHwio,
  oiToIo,
  ReLU,
  Sequential,
} from './index.js';

interface Arr {
  shape: number[];
  data: number[];
}
interface Spec {
  type: string;
  args?: any[];
  kwargs?: Record<string, any>;
  children?: Spec[];
}
interface Call {
  mode: 'train' | 'eval';
  input: Arr;
  r: Arr;
  output: Arr;
  grads: Record<string, Arr>;
  buffers: Record<string, Arr | number>;
}
interface Case {
  name: string;
  spec: Spec;
  stateDict: Record<string, Arr>;
  stateDictKeys: string[];
  calls: Call[];
}

const fixture = JSON.parse(
  readFileSync(new URL('./__fixtures__/layers.json', import.meta.url), 'utf8'),
) as { torch: string; cases: Case[] };

const ABS = 1e-5;
const REL = 1e-4;

function build(spec: Spec): Module {
  const a = spec.args ?? [];
  const kw = spec.kwargs ?? {};
  switch (spec.type) {
    case 'Conv2d':
      return new Conv2d(a[0], a[1], a[2], kw);
    case 'Linear':
      return new Linear(a[0], a[1], kw);
    case 'BatchNorm2d':
      return new BatchNorm2d(a[0], kw);
    case 'ReLU':
      return new ReLU();
    case 'LeakyReLU':
      return new LeakyReLU(a[0]);
    case 'MaxPool2d':
      return new MaxPool2d(a[0], kw);
    case 'AvgPool2d':
      return new AvgPool2d(a[0], kw);
    case 'AdaptiveAvgPool2d':
      return new AdaptiveAvgPool2d(a[0]);
    case 'Sequential':
      return new Sequential(...(spec.children ?? []).map(build));
    case 'BasicBlock':
    case 'Bottleneck': {
      const Block = spec.type === 'BasicBlock' ? BasicBlock : Bottleneck;
      const { downsample, ...rest } = kw;
      const ds = downsample
        ? makeDownsample(a[0], a[1] * Block.expansion, { stride: rest.stride ?? 1 })
        : null;
      return new Block(a[0], a[1], { ...rest, downsample: ds });
    }
    default:
      throw new Error(`no builder for ${spec.type}`);
  }
}

/** A PyTorch-layout tensor in ours: NCHW → NHWC, OIHW → HWIO, Linear [out, in] → [in, out]. */
function toOurs(a: Arr, kind: 'activation' | 'param'): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(a.data, a.shape, 'float32');
    if (t.rank === 4) return kind === 'activation' ? nchwToNhwc(t) : oihwToHwio(t);
    if (t.rank === 2 && kind === 'param') return oiToIo(t);
    return t;
  });
}

/** Per backend: the largest absolute error, and the largest share of the tolerance used. */
let worst = { abs: 0, absAt: '', share: 0, shareAt: '' };

/** Checks |a-b| <= ABS or |a-b| <= REL·|b| element-wise, recording the worst errors. */
async function compare(actual: tf.Tensor, expected: tf.Tensor, where: string): Promise<void> {
  expect(actual.shape, `${where}: shape`).toEqual(expected.shape);
  // webgpu in Node can only read back asynchronously.
  const a = await actual.data();
  const b = await expected.data();
  let bad = -1;
  for (let i = 0; i < a.length; i++) {
    const err = Number.isNaN(a[i] - b[i]) ? Infinity : Math.abs(a[i] - b[i]);
    const share = err / Math.max(ABS, REL * Math.abs(b[i]));
    if (err > worst.abs) worst = { ...worst, abs: err, absAt: where };
    if (share > worst.share) worst = { ...worst, share, shareAt: where };
    if (share > 1 && bad < 0) bad = i;
  }
  expect(bad, bad < 0 ? '' : `${where}: element ${bad} is ${a[bad]}, PyTorch has ${b[bad]}`).toBe(
    -1,
  );
}

const MISSING_KERNEL = /Kernel '(\w+)' not registered for backend '(\w+)'/;

/** The engine can be left mid-scope by a kernel that throws; this resets that state. */
function resetEngineAfterThrow(): void {
  const state = (tf.engine() as any).state;
  state.activeScope = null;
  state.scopeStack = [];
  state.gradientDepth = 0;
  state.kernelDepth = 0;
  state.activeTape = null;
}

/** Runs one call of a case; returns the kernel a backend lacks for its gradient, if any. */
async function runCall(m: Module, call: Call, at: string, backend: string): Promise<string | null> {
  const named = m.namedParameters();
  m.train(call.mode === 'train');
  const x = tf.variable(toOurs(call.input, 'activation'));
  const r = toOurs(call.r, 'activation');
  const before = tf.memory().numTensors;
  let y: tf.Tensor | null = null;
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
  let missing: string | null = null;
  try {
    result = tf.variableGrads(() => {
      y = tf.keep(m.forward(x) as tf.Tensor);
      return tf.sum(tf.mul(y, r));
    }, [x, ...named.map(([, p]) => p)]);
  } catch (e) {
    const found = MISSING_KERNEL.exec(String((e as Error)?.message));
    if (backend === 'cpu' || !found || found[2] !== backend) throw e;
    resetEngineAfterThrow();
    missing = found[1];
  }
  const out = y as tf.Tensor | null;
  expect(out, `${at}: the forward pass ran`).not.toBeNull();
  const expectedOut = toOurs(call.output, 'activation');
  await compare(out!, expectedOut, `${at}: output`);
  for (const [name, b] of m.namedBuffers()) {
    const want = call.buffers[name];
    if (typeof want === 'number') {
      expect((await b.data())[0], `${at}: ${name}`).toBe(want);
    } else {
      const w = toOurs(want, 'param');
      await compare(b, w, `${at}: ${name}`);
      w.dispose();
    }
  }
  tf.dispose([out!, expectedOut]);
  if (result) {
    const gIn = toOurs(call.grads.input, 'activation');
    await compare(result.grads[x.name], gIn, `${at}: d/dinput`);
    for (const [name, p] of named) {
      const g = toOurs(call.grads[name], 'param');
      await compare(result.grads[p.name], g, `${at}: d/d${name}`);
      g.dispose();
    }
    tf.dispose([gIn, result.value, ...Object.values(result.grads)]);
    expect(tf.memory().numTensors, `${at}: live tensors after forward+backward`).toBe(before);
  }
  x.dispose();
  r.dispose();
  return missing;
}

async function runCase(c: Case, backend: string, ctx: TestContext): Promise<void> {
  const m = build(c.spec);
  try {
    expect(Object.keys(m.stateDict())).toEqual(c.stateDictKeys);
    const state = Object.fromEntries(
      Object.entries(c.stateDict).map(([k, v]) => [k, toOurs(v, 'param')]),
    );
    m.loadStateDict(state, { strict: false });
    tf.dispose(Object.values(state));
    const missing = new Set<string>();
    for (const [step, call] of c.calls.entries()) {
      const kernel = await runCall(m, call, `${c.name}, call ${step} (${call.mode})`, backend);
      if (kernel) missing.add(kernel);
    }
    if (missing.size) {
      // Reported, not skipped: forward and buffers were checked, and the gradients will be
      // as soon as the kernel is registered.
      const note = `gradients not computable on ${backend} yet: ${[...missing].join(', ')}`;
      console.info(`${c.name}: ${note}`);
      ctx.annotate(note);
    }
  } finally {
    m.dispose();
  }
}

/** A small slice of the grid for the slow software GPU. */
const WEBGPU_CASES = new Set([
  'conv k3 s2 p1 odd 7x7',
  'conv k3 dilation 2 p2',
  'conv depthwise multiplier 2 s2',
  'linear',
  'batchnorm train x3 then eval',
  'maxpool k3 s2 p1 (stem)',
  'avgpool k3 s2 p1 ceil',
  'adaptive avgpool 3 on 7x7',
  'basicblock 4->6 s2 downsample',
]);

const SWIFTSHADER_ICD = process.env.SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
// Without SwiftShader (Debian's chromium) the webgpu cases are skipped, unless CI needs them.
const noSwiftShader =
  !existsSync(SWIFTSHADER_ICD) && process.env.CI !== 'true'
    ? `no SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}: apt-get install chromium (as .ci/run does) to run the webgpu cases`
    : null;

async function setUp(backend: string): Promise<void> {
  if (backend === 'webgpu') {
    if (noSwiftShader) return;
    process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    await selectBackend(['webgpu']);
  } else {
    expect(await tf.setBackend(backend), `backend ${backend} initialises`).toBe(true);
  }
}

/**
 * cpu and wasm run every case, webgpu the slice above. LAYERS_FIXTURE_BACKENDS=a,b runs the
 * suite on other registered backends instead (e.g. a faster CPU backend under development).
 */
const backends = (process.env.LAYERS_FIXTURE_BACKENDS ?? 'cpu,wasm,webgpu')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean)
  .map((name) => ({
    name,
    cases:
      name === 'webgpu' ? fixture.cases.filter((c) => WEBGPU_CASES.has(c.name)) : fixture.cases,
  }));

for (const { name: backend, cases } of backends) {
  describe(`PyTorch fixtures on ${backend} (torch ${fixture.torch})`, () => {
    let setUpError: Error | null = null;
    beforeAll(async () => {
      try {
        await setUp(backend);
      } catch (e) {
        setUpError = e as Error;
      }
    });

    if (backend === 'webgpu' && noSwiftShader) console.warn(`skipped: ${noSwiftShader}`);
    for (const c of cases) {
      it(c.name, async (ctx) => {
        if (backend === 'webgpu' && noSwiftShader) {
          (ctx.task.meta as Record<string, unknown>).skipReason = noSwiftShader;
          ctx.skip(noSwiftShader);
        }
        if (setUpError) throw new Error(`${backend} is not available: ${setUpError.message}`);
        await runCase(c, backend, ctx);
      });
    }

    afterAll(async () => {
      console.info(
        `[${backend}] largest abs error vs PyTorch ${worst.abs.toExponential(2)} (${worst.absAt}); ` +
          `largest share of the tolerance ${(100 * worst.share).toFixed(1)}% (${worst.shareAt})`,
      );
      worst = { abs: 0, absAt: '', share: 0, shareAt: '' };
      await tf.setBackend('cpu');
    });
  });
}

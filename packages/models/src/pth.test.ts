import '@tensorflow/tfjs-backend-cpu';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decodeSafetensors, Generator, type Module } from '@resnet-ts/core';
import {
  Adam,
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  crossEntropy,
  MultiStepLR,
  OneCycleLR,
  ReduceLROnPlateau,
  type Scheduler,
  SGD,
  StepLR,
  valueAndGrads,
} from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PyTuple } from './pickle.js';
import { readTorchFile, type TorchFileValue, type TorchValue, writeTorchFile } from './pth.js';
import { resnet18 } from './resnet.js';
import { fixtureBytes, fixtureJson, fixtureSafetensors, formulaInput } from './testing/fixtures.js';
import { fillFormulaOurLayout } from './testing/formula.js';
import {
  fromTorchOptimizerState,
  fromTorchSchedulerState,
  toTorchSchedulerState,
  writeTorchCheckpoint,
} from './torch-checkpoint.js';
import { TorchFileError, UnsafeGlobalError } from './torch-file-error.js';
import { loadPretrainedWeights, loadTorchStateDict, toTorchStateDict } from './torch-interop.js';
import { VanResNet } from './van-resnet.js';

interface Case {
  inputName: string;
  inputShape: number[];
  target?: number[];
  logits: number[];
  logitsAfterStep?: number[];
  lrAfterStep?: number;
}
interface Exported extends Case {
  bytes: number;
  sha256: string;
  torchKeys?: string[];
  lrs?: number[];
  momenta?: number[];
}
interface SchedCase {
  optimizer: 'sgd' | 'adam';
  before: number;
  after: number;
  metrics?: number[];
  lrs: number[];
  momenta: number[];
}

const made = fixtureJson<{ torch: string; cases: Record<string, Case> }>('pth/pth-fixtures.json');
const exportedPath = new URL('./__fixtures__/pth/pth-exported.json', import.meta.url);
const exported = existsSync(exportedPath)
  ? fixtureJson<{ files: Record<string, Exported> }>('pth/pth-exported.json')
  : null;
const deviations: string[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

afterAll(() => {
  console.log(
    `largest |ours - PyTorch| / max |PyTorch logit| per case:\n  ${deviations.join('\n  ')}`,
  );
});

/** Largest difference relative to the largest reference magnitude. */
function relDiff(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(ours.length).toBe(ref.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ours[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return d / m;
}

function logitsOf(model: Module & { forward(x: tf.Tensor): tf.Tensor }, c: Case): Float32Array {
  model.eval();
  const x = formulaInput(c.inputName, c.inputShape);
  const y = tf.tidy(() => model.forward(x) as tf.Tensor);
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return out;
}

function check(label: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number) {
  const d = relDiff(ours, ref);
  deviations.push(`${label}: ${d.toExponential(2)}`);
  expect(d).toBeLessThan(tol);
}

const smallModel = () =>
  new VanResNet({
    inChannels: 1,
    inputSize: 28,
    filters: 8,
    fcHidden: 16,
    generator: new Generator(0),
  });

/** One step of cross-entropy on the case's batch, as the fixture script's `train_step`. */
function trainStep(model: VanResNet, opt: SGD | Adam, sched: StepLR, c: Case) {
  model.train();
  const x = formulaInput(c.inputName, c.inputShape);
  const y = tf.tensor1d(c.target!, 'int32');
  const params = model.parameters();
  const { value, grads } = valueAndGrads(
    () => crossEntropy(model.forward(x), y) as tf.Scalar,
    params,
  );
  opt.step(grads);
  sched.step();
  tf.dispose([x, y, value, ...grads]);
}

function makeOptimizer(kind: string, model: VanResNet) {
  return kind === 'sgd'
    ? new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 })
    : new Adam(model.parameters(), { lr: 0.01, betas: [0.9, 0.99], weightDecay: 1e-4 });
}

/** A model, optimizer and scheduler restored from one of PyTorch's training checkpoints. */
function restore(kind: string, bytes: Uint8Array) {
  const file = readTorchFile(bytes) as Map<string, TorchValue>;
  const model = smallModel();
  loadTorchStateDict(model, file, { key: 'model' });
  const opt = makeOptimizer(kind, model);
  const state = fromTorchOptimizerState(model, file.get('optimizer')!);
  opt.loadStateDict(state as Parameters<typeof opt.loadStateDict>[0]);
  for (const st of Object.values(state.state))
    tf.dispose(Object.values(st).filter((v) => v instanceof tf.Tensor));
  const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
  sched.loadStateDict(fromTorchSchedulerState(file.get('scheduler')!));
  return { model, opt, sched, epoch: file.get('epoch') };
}

describe('PyTorch → .pth → ours', () => {
  it('reads VanResNet tensors bit for bit and gives its logits', () => {
    const pth = readTorchFile(fixtureBytes('pth/vanresnet.pth')) as Map<string, TorchValue>;
    const st = fixtureSafetensors('vanresnet.safetensors').tensors;
    expect([...pth.keys()]).toEqual(Object.keys(st));
    for (const [k, v] of pth) {
      const t = v as { dtype: string; shape: number[]; data: Float32Array };
      expect(t.dtype, k).toBe('F32');
      expect(t.shape, k).toEqual(st[k].shape);
      expect(Buffer.from(t.data.buffer).equals(Buffer.from(st[k].data.buffer)), k).toBe(true);
    }
    const model = new VanResNet({ generator: new Generator(0) });
    loadTorchStateDict(model, fixtureBytes('pth/vanresnet.pth'));
    const io = fixtureSafetensors('vanresnet-io.safetensors').tensors;
    const x = tf.tidy(() => tf.transpose(tf.tensor(io.input.data, io.input.shape), [0, 2, 3, 1]));
    model.eval();
    const y = tf.tidy(() => model.forward(x));
    check('VanResNet .pth (PyTorch init) → ours', y.dataSync(), io.logits.data, 1e-5);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('loads torchvision resnet18 (4 classes) from torch.save and gives its logits', () => {
    const model = resnet18({ numClasses: 4, generator: new Generator(0) });
    const result = loadTorchStateDict(model, gunzipSync(fixtureBytes('pth/resnet18-c4.pth.gz')));
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    check(
      'resnet18 .pth → ours',
      logitsOf(model, made.cases['resnet18-c4']),
      made.cases['resnet18-c4'].logits,
      1e-5,
    );
    model.dispose();
  });

  it("strips DataParallel's module. prefix on request, and says to when it is missing", () => {
    const bytes = fixtureBytes('pth/small-dataparallel.pth');
    const model = smallModel();
    expect(() => loadTorchStateDict(model, bytes)).toThrow(/starts with "module.".*stripPrefix/);
    loadTorchStateDict(model, bytes, { stripPrefix: true });
    const c = made.cases['small-dataparallel'];
    check('DataParallel .pth → ours', logitsOf(model, c), c.logits, 1e-5);
    model.dispose();
  });

  it('initialises a model whose head differs from pretrained weights, reporting what it skipped', () => {
    const bytes = gunzipSync(fixtureBytes('pth/resnet18-c4.pth.gz'));
    const reference = resnet18({ numClasses: 4, generator: new Generator(0) });
    loadTorchStateDict(reference, bytes);
    const model = resnet18({ numClasses: 10, generator: new Generator(0) });
    const fcBefore = (model.stateDict()['fc.weight'] as tf.Tensor).dataSync().slice();
    const report = loadPretrainedWeights(model, bytes);
    expect(report.shapeMismatched).toEqual([
      { key: 'fc.weight', expected: [10, 512], found: [4, 512] },
      { key: 'fc.bias', expected: [10], found: [4] },
    ]);
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.loaded.length).toBe(Object.keys(model.stateDict()).length - 2);
    const ours = model.stateDict();
    const ref = reference.stateDict();
    for (const key of [
      'conv1.weight',
      'layer4.1.bn2.running_var',
      'layer2.0.downsample.0.weight',
    ]) {
      expect([...(ours[key] as tf.Tensor).dataSync()], key).toEqual([
        ...(ref[key] as tf.Tensor).dataSync(),
      ]);
    }
    expect([...(ours['fc.weight'] as tf.Tensor).dataSync()]).toEqual([...fcBefore]);
    const small = smallModel();
    expect(
      loadPretrainedWeights(small, fixtureBytes('pth/small-dataparallel.pth'), {
        stripPrefix: true,
      }).loaded.length,
    ).toBe(10);
    for (const m of [model, reference, small]) m.dispose();
  });

  for (const kind of ['sgd', 'adam']) {
    it(`continues PyTorch's ${kind} training checkpoint: same logits after one more step`, () => {
      const bytes = fixtureBytes(`pth/small-${kind}-checkpoint.pth`);
      expect(() => loadTorchStateDict(smallModel(), bytes)).toThrow(
        /training checkpoint.*key: "model"/,
      );
      const c = made.cases[`small-${kind}-checkpoint`];
      const { model, opt, sched, epoch } = restore(kind, bytes);
      expect(epoch).toBe(2);
      check(`${kind} checkpoint .pth → ours`, logitsOf(model, c), c.logits, 1e-5);
      trainStep(model, opt, sched, c);
      expect(opt.paramGroups[0].lr).toBeCloseTo(c.lrAfterStep!, 12);
      check(
        `${kind} checkpoint, one more step in ours vs PyTorch`,
        logitsOf(model, c),
        c.logitsAfterStep!,
        1e-4,
      );
      model.dispose();
    });
  }
});

describe('ours → .pth → PyTorch (make-pth-fixtures.py --check)', () => {
  const write = (name: string, bytes: Uint8Array) => {
    if (!process.env.RESNET_TS_WRITE_EXPORTS) return;
    const dir = new URL('../../../tools/fixtures/models/exported/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL(name, dir), bytes);
  };
  const verified = (name: string, bytes: Uint8Array): Exported => {
    expect(exported, 'run make-pth-fixtures.py --check').not.toBeNull();
    const record = exported!.files[name];
    expect(bytes.length).toBe(record.bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.sha256);
    return record;
  };

  it('resnet18 written by writeTorchFile loads strictly into torchvision with the same logits', () => {
    const model = resnet18({ numClasses: 4, generator: new Generator(0) });
    fillFormulaOurLayout(model, 'pth-export:');
    const bare = writeTorchFile(toTorchStateDict(model) as unknown as TorchFileValue);
    write('resnet18-c4.pth', bare);
    const record = verified('resnet18-c4.pth', bare);
    check('resnet18 ours → .pth → PyTorch', logitsOf(model, record), record.logits, 1e-5);
    model.dispose();
  });

  for (const kind of ['sgd', 'adam']) {
    it(`a ${kind} run continued in ours, saved with its optimizer and scheduler, continues in PyTorch`, () => {
      const c = made.cases[`small-${kind}-checkpoint`];
      const { model, opt, sched } = restore(kind, fixtureBytes(`pth/small-${kind}-checkpoint.pth`));
      trainStep(model, opt, sched, c);
      const bytes = writeTorchCheckpoint(model, {
        optimizer: opt.stateDict(),
        scheduler: sched,
        epoch: 3,
      });
      write(`small-${kind}-continued.pth`, bytes);
      const record = verified(`small-${kind}-continued.pth`, bytes);
      check(`${kind} run ours → .pth → PyTorch`, logitsOf(model, record), record.logits, 1e-5);
      trainStep(model, opt, sched, { ...record, target: c.target });
      expect(opt.paramGroups[0].lr).toBeCloseTo(record.lrAfterStep!, 12);
      check(
        `${kind} run, next step in PyTorch vs ours`,
        logitsOf(model, record),
        record.logitsAfterStep!,
        1e-4,
      );
      model.dispose();
    });
  }
});

const schedMade = fixtureJson<{ cases: Record<string, SchedCase> }>('pth/scheduler-fixtures.json');

/** The scheduler of each case, constructed as make-pth-fixtures.py's `make_case_scheduler`. */
function caseScheduler(name: string, opt: SGD | Adam): Scheduler {
  if (name === 'onecycle-sgd')
    return new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 20, pctStart: 0.3 });
  if (name === 'onecycle-adam') {
    return new OneCycleLR(opt, {
      maxLr: 0.01,
      totalSteps: 16,
      pctStart: 0.25,
      annealStrategy: 'linear',
      threePhase: true,
      baseMomentum: 0.8,
    });
  }
  if (name === 'cosine-sgd') return new CosineAnnealingLR(opt, { tMax: 3, etaMin: 0.001 });
  if (name === 'warm-restarts-sgd')
    return new CosineAnnealingWarmRestarts(opt, { t0: 2, tMult: 2, etaMin: 0.001 });
  return new ReduceLROnPlateau(opt, { factor: 0.5, patience: 1, cooldown: 1, minLr: 0.01 });
}

const momentumOf = (g: Record<string, unknown>) =>
  Array.isArray(g.betas) ? (g.betas[0] as number) : (g.momentum as number);

/** The rates and momenta of the steps after `start`, as the script's `sched_trace`. */
function schedTrace(c: SchedCase, opt: SGD | Adam, sched: Scheduler, start: number) {
  const lrs: number[] = [];
  const momenta: number[] = [];
  for (let i = start; i < start + c.after; i++) {
    sched.step(c.metrics?.[i]);
    lrs.push(opt.paramGroups[0].lr);
    momenta.push(momentumOf(opt.paramGroups[0] as Record<string, unknown>));
  }
  return { lrs, momenta };
}

const schedDeviations: string[] = [];
afterAll(() => {
  console.log(`largest |ours - PyTorch| of rates and momenta:\n  ${schedDeviations.join('\n  ')}`);
});

function sameTrace(
  label: string,
  ours: { lrs: number[]; momenta: number[] },
  ref: SchedCase | Exported,
) {
  expect(ours.lrs.length).toBe(ref.lrs!.length);
  let d = 0;
  for (let i = 0; i < ours.lrs.length; i++) {
    d = Math.max(
      d,
      Math.abs(ours.lrs[i] - ref.lrs![i]),
      Math.abs(ours.momenta[i] - ref.momenta![i]),
    );
  }
  schedDeviations.push(`${label}: ${d.toExponential(2)}`);
  expect(d).toBeLessThan(1e-12);
}

describe('OneCycleLR, cosine annealing (with restarts) and ReduceLROnPlateau state, both ways', () => {
  for (const name of Object.keys(schedMade.cases)) {
    const c = schedMade.cases[name];
    it(`${name}: PyTorch's state read into ours continues with PyTorch's rates and momenta`, () => {
      const file = readTorchFile(fixtureBytes(`pth/sched-${name}.pth`)) as Map<string, TorchValue>;
      const model = smallModel();
      const opt = makeOptimizer(c.optimizer, model);
      const sched = caseScheduler(name, opt);
      opt.loadStateDict(
        fromTorchOptimizerState(model, file.get('optimizer')!) as Parameters<
          typeof opt.loadStateDict
        >[0],
      );
      const state = fromTorchSchedulerState(file.get('scheduler')!);
      for (const k of ['verbose', 'modeWorse', '_getLrCalledWithinStep', 'annealFunc'])
        expect(state).not.toHaveProperty(k);
      sched.loadStateDict(state);
      // What was loaded is what a scheduler of ours would have after the same steps.
      const fresh = caseScheduler(name, makeOptimizer(c.optimizer, model));
      for (let i = 0; i < c.before; i++) fresh.step(c.metrics?.[i]);
      expect(sched.stateDict()).toEqual(fresh.stateDict());
      sameTrace(`${name} PyTorch → ours`, schedTrace(c, opt, sched, c.before), c);
      model.dispose();
    });

    it(`${name}: our state loaded by PyTorch's own scheduler continues with our rates and momenta`, () => {
      const model = smallModel();
      const opt = makeOptimizer(c.optimizer, model);
      const sched = caseScheduler(name, opt);
      for (let i = 0; i < c.before; i++) sched.step(c.metrics?.[i]);
      const bytes = writeTorchCheckpoint(model, { optimizer: opt.stateDict(), scheduler: sched });
      const fileName = `sched-${name}.pth`;
      if (process.env.RESNET_TS_WRITE_EXPORTS) {
        const dir = new URL('../../../tools/fixtures/models/exported/', import.meta.url);
        mkdirSync(dir, { recursive: true });
        writeFileSync(new URL(fileName, dir), bytes);
      }
      expect(exported, 'run make-pth-fixtures.py --check').not.toBeNull();
      const record = exported!.files[fileName];
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.sha256);
      const written = readTorchFile(bytes) as Map<string, Map<string, TorchValue>>;
      expect([...written.get('scheduler')!.keys()].sort()).toEqual(record.torchKeys);
      const ours = schedTrace(c, opt, sched, c.before);
      sameTrace(`${name} ours → PyTorch`, ours, record);
      // And PyTorch continuing its own run agrees with both.
      sameTrace(`${name} PyTorch's own run vs ours`, ours, c);
      model.dispose();
    });
  }
});

describe('scheduler state in PyTorch types', () => {
  it("refuses OneCycleLR's state_dict() saved as is, naming the bound method to leave out", () => {
    const bytes = fixtureBytes('pth/sched-onecycle-raw.pth');
    expect(() => readTorchFile(bytes)).toThrow(UnsafeGlobalError);
    expect(() => readTorchFile(bytes)).toThrow(/__builtin__\.getattr.*without 'anneal_func'/);
  });

  it("writes MultiStepLR's milestones as PyTorch's Counter and reads them back", () => {
    const model = smallModel();
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const sched = new MultiStepLR(opt, { milestones: [3, 1, 3], gamma: 0.5 });
    sched.step();
    sched.step();
    const bytes = writeTorchFile({ scheduler: toTorchSchedulerState(sched.stateDict()) });
    // collections.Counter is written as a global the reader allows, and read back as a Map.
    expect(Buffer.from(bytes).includes('collections\nCounter\n')).toBe(true);
    const file = readTorchFile(bytes) as Map<string, Map<string, TorchValue>>;
    expect(file.get('scheduler')!.get('milestones')).toEqual(
      new Map([
        [1, 1],
        [3, 2],
      ]),
    );
    expect(file.get('scheduler')!.get('_step_count')).toBe(3);
    const back = fromTorchSchedulerState(file.get('scheduler')!);
    expect(back.milestones).toEqual([1, 3, 3]);
    expect(back.lastEpoch).toBe(2);
    // Checked once by hand against PyTorch 1.13: MultiStepLR.load_state_dict of this file and
    // one step give 0.0125 from the optimizer's 0.05, as here.
    const again = new MultiStepLR(opt, { milestones: [9], gamma: 0.5 });
    again.loadStateDict(back);
    again.step();
    expect(again.getLastLr()[0]).toBeCloseTo(0.1 * 0.5 * 0.25, 12);
    model.dispose();
  });
});

describe('writeTorchFile / readTorchFile', () => {
  it('reads back every kind of value it writes', () => {
    const value = {
      ints: [0, 255, 256, -1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER],
      floats: [0.5, -1e-30, Infinity, -Infinity],
      flags: new PyTuple([true, false, null]),
      text: 'ünïcode',
      byIndex: new Map<number, string>([
        [0, 'a'],
        [7, 'b'],
      ]),
      f32: { dtype: 'F32' as const, shape: [2, 3], data: [1, 2, 3, 4, 5, 6.5] },
      i64: { dtype: 'I64' as const, shape: [3], data: [-5, 0, 2 ** 31 - 1] },
      scalar: { dtype: 'F32' as const, shape: [], data: [3] },
      empty: { dtype: 'F32' as const, shape: [0, 4], data: [] },
    };
    const back = readTorchFile(writeTorchFile(value)) as Map<string, TorchValue>;
    expect(back.get('ints')).toEqual(value.ints);
    expect(back.get('floats')).toEqual(value.floats);
    expect((back.get('flags') as PyTuple).items).toEqual([true, false, null]);
    expect(back.get('text')).toBe('ünïcode');
    expect(back.get('byIndex')).toEqual(value.byIndex);
    const f32 = back.get('f32') as { shape: number[]; data: Float32Array };
    expect(f32.shape).toEqual([2, 3]);
    expect([...f32.data]).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect([...(back.get('i64') as { data: Int32Array }).data]).toEqual([-5, 0, 2 ** 31 - 1]);
    expect((back.get('scalar') as { shape: number[] }).shape).toEqual([]);
    expect((back.get('empty') as { data: Float32Array }).data.length).toBe(0);
  });

  it('reads safetensors through the same loadTorchStateDict, and names what other bytes look like', () => {
    const model = new VanResNet({ generator: new Generator(1) });
    const st = fixtureBytes('vanresnet.safetensors');
    loadTorchStateDict(model, st);
    const fromSt = decodeSafetensors(st).tensors['fc2.weight'].data;
    const ours = tf.transpose(model.stateDict()['fc2.weight'] as tf.Tensor);
    expect(Buffer.from(ours.dataSync().buffer).equals(Buffer.from(fromSt.buffer))).toBe(true);
    ours.dispose();
    const legacy = Uint8Array.from([
      0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
    ]);
    expect(() => loadTorchStateDict(model, legacy)).toThrow(/legacy format.*torch\.save/);
    expect(() =>
      loadTorchStateDict(model, new TextEncoder().encode('{"format": "layers-model"}')),
    ).toThrow(/look like JSON text/);
    expect(() => loadTorchStateDict(model, new Uint8Array(0))).toThrow(TorchFileError);
    expect(() => loadTorchStateDict(model, fixtureBytes('pth/resnet18-c4.pth.gz'))).toThrow(
      /gzip file/,
    );
    model.dispose();
  });
});

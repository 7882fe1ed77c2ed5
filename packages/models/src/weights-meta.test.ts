import '@tensorflow/tfjs-backend-cpu';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeSafetensors,
  encodeSafetensors,
  FileFormatError,
  Generator,
  type RawTensor,
  type SafetensorsFile,
  stateDictToSafetensors,
} from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ModelSpec, modelSpec, specShapes } from './registry.js';
import { fixtureSafetensors } from './testing/fixtures.js';
import {
  describeForeignModel,
  encodeWeightsMeta,
  loadModelFromSafetensors,
  MODEL_META_KEY,
  parseWeightsMeta,
  readWeightsMeta,
  sameModelSpec,
  type WeightsMeta,
} from './weights-meta.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const MNIST_SPEC = modelSpec('vanresnet', { inChannels: 1, inputSize: 28, numClasses: 10 });

function mnistMeta(): WeightsMeta {
  return {
    model: { ...MNIST_SPEC },
    dataset: {
      name: 'mnist',
      input: { size: 28, channels: 1, mean: [0.1307], std: [0.3081] },
      classes: [...DIGITS],
    },
    epoch: 3,
  };
}

/** A weights file of `spec` (zero weights) whose metadata entry is `text`. */
function fileWith(spec: ModelSpec, text: string): SafetensorsFile {
  const model = buildModel(spec, new Generator(0));
  try {
    return decodeSafetensors(stateDictToSafetensors(model, { [MODEL_META_KEY]: text }));
  } finally {
    model.dispose();
  }
}

/** A file holding only zero tensors of the given shapes, with `meta` as its metadata. */
function sparseFile(shapes: Record<string, number[]>, meta: unknown): Uint8Array {
  const tensors: Record<string, RawTensor> = {};
  for (const [key, shape] of Object.entries(shapes)) {
    tensors[key] = {
      dtype: 'F32',
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    };
  }
  return encodeSafetensors(tensors, { [MODEL_META_KEY]: JSON.stringify(meta) });
}

function refusal(fn: () => unknown): FileFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FileFormatError);
    const err = e as FileFormatError;
    expect(err.message).not.toContain('\n');
    expect(err.message.length).toBeLessThanOrEqual(300);
    return err;
  }
  throw new Error('expected a FileFormatError, nothing was thrown');
}

describe('weights metadata', () => {
  it('round-trips a model and its metadata through a safetensors file', () => {
    const spec = modelSpec('resnet18', { inChannels: 1, inputSize: 16, numClasses: 3 });
    const meta: WeightsMeta = {
      model: spec,
      dataset: {
        name: 'shapes',
        input: { size: 16, channels: 1, mean: [0.5], std: [0.25] },
        classes: ['circle', 'square', 'triangle'],
      },
      epoch: 2,
      transforms: [{ name: 'RandomCrop', size: 16, padding: 2 }],
    };
    const original = buildModel(spec, new Generator(5));
    const bytes = stateDictToSafetensors(original, encodeWeightsMeta(meta));
    const { model, meta: read } = loadModelFromSafetensors(decodeSafetensors(bytes), 'w.st');
    try {
      expect(read).toEqual(meta);
      original.eval();
      model.eval();
      const x = new Generator(1).normalTensor([2, 16, 16, 1]);
      const a = original.forward(x) as tf.Tensor;
      const b = model.forward(x) as tf.Tensor;
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([x, a, b]);
    } finally {
      original.dispose();
      model.dispose();
    }
  });

  it('reads the weights of a run written by resnet-ts 0.1.0', () => {
    const file = fixtureSafetensors('vanresnet-mnist-0.1.0.safetensors');
    const { model, meta } = loadModelFromSafetensors(file, 'model.safetensors');
    try {
      expect(meta).toEqual({ ...mnistMeta(), epoch: 1 });
      const x = tf.zeros([1, 28, 28, 1]);
      const logits = model.forward(x) as tf.Tensor;
      expect(logits.shape).toEqual([1, 10]);
      expect(Array.from(logits.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, logits]);
    } finally {
      model.dispose();
    }
  });

  // Each case edits one thing of a valid MNIST VanResNet file's metadata (or replaces it);
  // each must be refused by a typed error naming the file and the field, before a model is
  // built.
  type Edit = (m: WeightsMeta & Record<string, any>) => unknown;
  const cases: Array<[string, Edit, string, RegExp]> = [
    [
      'a million classes',
      (m) => {
        m.model.numClasses = 1_000_000;
      },
      'model.numClasses',
      /expected <=100000, got 1000000$/,
    ],
    [
      'fewer labels than classes',
      (m) => {
        m.dataset.classes.pop();
      },
      'dataset.classes',
      /expected 10 labels \(model.numClasses\), got 9/,
    ],
    [
      'an empty mean',
      (m) => {
        m.dataset.input.mean = [];
      },
      'dataset.input.mean',
      /expected 1 numbers \(one per channel\), got \[\]/,
    ],
    [
      'a zero std',
      (m) => {
        m.dataset.input.std = [0];
      },
      'dataset.input.std[0]',
      /expected >0, got 0$/,
    ],
    [
      'an infinite mean',
      // JSON has no Infinity, but 1e400 parses to it.
      (m) => JSON.stringify(m).replace('"mean":[0.1307]', '"mean":[1e400]'),
      'dataset.input.mean[0]',
      /finite/,
    ],
    [
      'a label that is not a string',
      (m) => {
        m.dataset.classes[3] = 3 as never;
      },
      'dataset.classes[3]',
      /expected string, got 3$/,
    ],
    [
      'an unknown model',
      (m) => {
        m.model.name = 'resnet19' as never;
      },
      'model.name',
      /expected \("vanresnet" \| "resnet18" .*\), got "resnet19"$/,
    ],
    [
      'a null model',
      (m) => {
        m.model = null as never;
      },
      'model',
      /expected Object, got null$/,
    ],
    ['null in place of the whole', () => null, '', /expected Object, got null$/],
    [
      'a negative epoch',
      (m) => {
        m.epoch = -1;
      },
      'epoch',
      /expected >=0, got -1$/,
    ],
    [
      'a fractional channel count',
      (m) => {
        m.model.inChannels = 1.5;
      },
      'model.inChannels',
      /integer/,
    ],
    [
      'a 4-pixel vanresnet',
      (m) => {
        m.model.inputSize = 4;
      },
      'model.inputSize',
      /at least 8/,
    ],
    [
      'channels that disagree with the model',
      (m) => {
        m.dataset.input.channels = 3;
      },
      'dataset.input.channels',
      /expected 1 \(model.inChannels\), got 3/,
    ],
    // Plausible metadata that the tensors contradict.
    [
      '5000 classes on a 10-class classifier',
      (m) => {
        m.model.numClasses = 5000;
        m.dataset.classes = Array.from({ length: 5000 }, String);
      },
      'model.numClasses',
      /5000 does not match the weights: "fc2.weight" has shape \[32,10\].*needs \[32,5000\]/,
    ],
    [
      '3 channels for a greyscale first conv',
      (m) => {
        m.model.inChannels = 3;
        m.dataset.input = { size: 28, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] };
      },
      'model.inChannels',
      /3 does not match the weights: "conv1.weight" has shape \[3,3,1,32\]/,
    ],
    [
      '32 pixels for a 28-pixel fc1',
      (m) => {
        m.model.inputSize = 32;
      },
      'model.inputSize',
      /"fc1.weight" has shape \[576,32\].*needs \[1024,32\]/,
    ],
    [
      'a resnet18 in place of a vanresnet',
      (m) => {
        m.model.name = 'resnet18';
      },
      'model.name',
      /"conv1.weight" has shape \[3,3,1,32\].*needs \[3,3,1,64\]/,
    ],
  ];
  for (const [what, edit, field, message] of cases) {
    it(`refuses metadata with ${what}, naming the field`, () => {
      const meta = mnistMeta();
      const edited = edit(meta);
      const text =
        typeof edited === 'string' ? edited : JSON.stringify(edited === undefined ? meta : edited);
      const file = fileWith(MNIST_SPEC, text);
      const err = refusal(() => readWeightsMeta(file, 'evil.safetensors'));
      const path = field ? `${MODEL_META_KEY}.${field}` : MODEL_META_KEY;
      expect(err.file).toBe('evil.safetensors');
      expect(err.field).toBe(path);
      expect(err.message.startsWith(`evil.safetensors: ${path}: `)).toBe(true);
      expect(err.message).toMatch(message);
    });
  }

  it('refuses missing, malformed and deeply nested metadata text', () => {
    const missing = refusal(() => parseWeightsMeta({}, 'a.safetensors'));
    expect(missing.message).toMatch(
      /^a.safetensors: resnet-ts: missing: .*not written by resnet-ts/,
    );
    const broken = refusal(() => parseWeightsMeta({ [MODEL_META_KEY]: '{"model":' }, 'b'));
    expect(broken.message).toMatch(/^b: resnet-ts: not valid JSON \(/);
    const nested = `{"transforms":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const deep = refusal(() => parseWeightsMeta({ [MODEL_META_KEY]: nested }, 'c'));
    expect(deep.message).toBe('c: resnet-ts: refused: JSON nesting is deeper than 32 levels');
  });

  it('refuses a file whose tensors are fewer than the model it names, before building it', () => {
    // The right first conv and classifier of a resnet152, and nothing else.
    const spec = modelSpec('resnet152', { inChannels: 3, inputSize: 32, numClasses: 10 });
    const meta = {
      model: spec,
      dataset: {
        name: 'cifar10',
        input: { size: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] },
        classes: DIGITS,
      },
      epoch: 0,
    };
    const file = decodeSafetensors(sparseFile(specShapes(spec), meta));
    const before = tf.memory().numBytes;
    const err = refusal(() => loadModelFromSafetensors(file, 'thin.safetensors'));
    expect(tf.memory().numBytes).toBe(before);
    expect(err.field).toBe('resnet-ts.model.name');
    expect(err.message).toMatch(
      /a resnet152 with these options has 932 tensors of \d+ numbers, the file holds 3 of 22218$/,
    );
  });

  it('says in words when a file holds another model than the one expected', () => {
    const meta = mnistMeta();
    expect(describeForeignModel(meta, MNIST_SPEC)).toBeNull();
    const resnet = {
      ...meta,
      model: modelSpec('resnet18', { inChannels: 3, inputSize: 32, numClasses: 10 }),
    };
    expect(describeForeignModel(resnet, MNIST_SPEC)).toBe(
      'it holds a resnet18 for 3×32×32 images and 10 classes (cifar stem), but the model here is a vanresnet for 1×28×28 images and 10 classes',
    );
    // A file written before stems were recorded has the CIFAR stem.
    const { stem: _, ...noStem } = resnet.model;
    expect(describeForeignModel({ ...meta, model: noStem }, resnet.model)).toBeNull();
    expect(describeForeignModel(resnet, { ...resnet.model, stem: 'imagenet' })).toMatch(
      /\(cifar stem\), but the model here is .*\(imagenet stem\)$/,
    );
    expect(sameModelSpec(noStem, resnet.model)).toBe(true);
    expect(sameModelSpec(resnet.model, { ...resnet.model, numClasses: 9 })).toBe(false);
    expect(sameModelSpec(MNIST_SPEC, { ...MNIST_SPEC, inputSize: 32 })).toBe(false);
  });
});

// Hostile files are loaded by a separate Node process, as a user's program would, so its
// peak memory can be measured: the built package (`pnpm build` first) and the cpu backend.
describe('hostile weights files in a child process', () => {
  const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const script = `
    import '@tensorflow/tfjs-backend-cpu';
    import { readFileSync } from 'node:fs';
    import { decodeSafetensors } from '@resnet-ts/core';
    import * as tf from '@tensorflow/tfjs-core';
    await tf.setBackend('cpu');
    const { loadModelFromSafetensors } = await import(process.argv[1]);
    const path = process.argv[2];
    let code = 0;
    try {
      loadModelFromSafetensors(decodeSafetensors(readFileSync(path)), path);
    } catch (e) {
      process.stderr.write(e.name + ': ' + e.message + '\\n');
      code = 1;
    }
    process.stdout.write(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
    process.exit(code);`;

  function load(path: string): Promise<{ code: number; stderr: string; maxRssBytes: number }> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script, dist, path],
        { cwd: fileURLToPath(new URL('..', import.meta.url)), timeout: 60_000 },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') return reject(error);
          try {
            resolve({ code: error ? Number(error.code) : 0, stderr, ...JSON.parse(stdout) });
          } catch {
            reject(new Error(`child printed no report; stderr: ${stderr}`));
          }
        },
      );
    });
  }

  const meta = (spec: ModelSpec, classes = spec.numClasses) => ({
    model: spec,
    dataset: {
      name: 'x',
      input: { size: spec.inputSize, channels: 3, mean: [0, 0, 0], std: [1, 1, 1] },
      classes: Array.from({ length: classes }, String),
    },
    epoch: 1,
  });
  const resnet18 = modelSpec('resnet18', { inChannels: 3, inputSize: 32, numClasses: 1_000_000 });
  const wide = modelSpec('wide_resnet50_2', { inChannels: 3, inputSize: 32, numClasses: 100_000 });
  const resnet152 = modelSpec('resnet152', { inChannels: 3, inputSize: 224, numClasses: 1000 });
  const files: Array<[string, string, () => Uint8Array, RegExp]> = [
    [
      'million',
      'a tiny file that claims a resnet18 with a million classes',
      () => sparseFile({ 'fc.bias': [1] }, meta(resnet18, 1)),
      /^FileFormatError: \S+million.safetensors: resnet-ts.model.numClasses: expected <=100000, got 1000000$/,
    ],
    [
      'wide',
      'a wide_resnet50_2 with 100,000 labelled classes over a 10-class classifier',
      () =>
        sparseFile(
          { 'conv1.weight': [3, 3, 3, 64], 'fc.weight': [2048, 10], 'fc.bias': [10] },
          meta(wide),
        ),
      /^FileFormatError: \S+wide.safetensors: resnet-ts.model.numClasses: 100000 does not match the weights: "fc.weight" has shape \[2048,10\]/,
    ],
    [
      'thin',
      'a resnet152 of three tensors',
      () => sparseFile(specShapes(resnet152), meta(resnet152)),
      /^FileFormatError: \S+thin.safetensors: resnet-ts.model.name: a resnet152 with these options has 932 tensors/,
    ],
  ];
  for (const [name, what, make, message] of files) {
    it(`refuses ${what} in one typed line, below 512 MB`, async () => {
      expect(existsSync(dist), `${dist} is missing: build @resnet-ts/models first`).toBe(true);
      const path = join(dir, `${name}.safetensors`);
      writeFileSync(path, make());
      const result = await load(path);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr.trimEnd()).toMatch(message);
      expect(result.maxRssBytes).toBeLessThan(512 * 1024 * 1024);
    });
  }
});

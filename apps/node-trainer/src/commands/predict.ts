import { type InputSpec, sanitizeForTerminal } from '@resnet-ts/core';
import { readRegularFile } from '@resnet-ts/core/node';
import { Compose, Normalize, Resize, ToTensor, toModelInput } from '@resnet-ts/data';
import { decodeImage, MAX_IMAGE_FILE_BYTES, readImage } from '@resnet-ts/data/node';
import { predict } from '@resnet-ts/train';
import * as tf from '@tensorflow/tfjs-core';
import { activateBackend, type BackendOptions } from '../backend.js';
import { loadModel } from '../checkpoint.js';
import { percent } from '../format.js';
import type { Reporter } from '../reporter.js';

/** The options of `predict`. */
export interface PredictOptions extends BackendOptions {
  top: number;
  invert: 'auto' | 'yes' | 'no';
}

/** `resnet-ts predict <checkpoint> <image…>`: the top-k classes of each image with probabilities. */
export async function runPredict(
  checkpoint: string,
  images: string[],
  opts: PredictOptions,
  report: Reporter,
): Promise<void> {
  await activateBackend(opts, report);
  const { model, meta } = await loadModel(checkpoint);
  const spec = meta.dataset.input;
  const classes = meta.dataset.classes;
  const inputs: Array<{ path: string } & ReturnType<typeof toModelInput>> = [];
  for (const path of images) {
    const input =
      meta.dataset.name === 'folder'
        ? await folderInput(path, spec)
        : toModelInput(await readImage(path), spec, opts.invert);
    inputs.push({ path, ...input });
  }
  const k = Math.min(opts.top, classes.length);
  const probs = tf.tidy(() => {
    const x = tf.stack(
      inputs.map((i) => tf.tensor3d(i.pixels, [spec.size, spec.size, spec.channels])),
    );
    return tf.softmax(predict(model, x, { batchSize: 64 }));
  });
  const rows = (await probs.array()) as number[][];
  probs.dispose();
  model.dispose();
  inputs.forEach((input, n) => {
    const top = rows[n]
      .map((p, c) => ({ class: c, label: classes[c] ?? String(c), probability: p }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, k);
    const note = input.info.inverted ? ' (inverted: light background)' : '';
    report.result(
      `${sanitizeForTerminal(input.path)}: ${top.map((t) => `${sanitizeForTerminal(t.label)} ${percent(t.probability)}`).join(', ')}${note}`,
      { file: input.path, top, inverted: input.info.inverted, size: input.info.from },
      'prediction',
    );
  });
}

/**
 * A picture as a folder run's evaluation reads it: decoded to RGB, then the test transforms
 * of `loadDataset('folder')` (Resize to the model's side, ToTensor, Normalize).
 */
async function folderInput(
  path: string,
  spec: InputSpec,
): Promise<ReturnType<typeof toModelInput>> {
  const bytes = await readRegularFile(path, { maxBytes: MAX_IMAGE_FILE_BYTES, what: 'picture' });
  const { data, width, height } = await decodeImage(bytes, path);
  const test = new Compose([
    new Resize([spec.size, spec.size]),
    new ToTensor(),
    new Normalize(spec.mean, spec.std),
  ]);
  const { image } = test.apply({ image: data, shape: [height, width, 3] });
  return { pixels: image as Float32Array, info: { from: { width, height }, inverted: false } };
}

import { sanitizeForTerminal } from '@resnet-ts/core';
import { type ModelInput, readModelInput } from '@resnet-ts/data/node';
import { predict } from '@resnet-ts/train';
import { formatPercent } from '@resnet-ts/train/node';
import * as tf from '@tensorflow/tfjs-core';
import { activateBackend, type BackendOptions } from '../backend.js';
import { loadModel } from '../checkpoint.js';
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
  const inputs: Array<{ path: string } & ModelInput> = [];
  for (const path of images) {
    inputs.push({ path, ...(await readModelInput(path, meta.dataset, opts.invert)) });
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
      `${sanitizeForTerminal(input.path)}: ${top.map((t) => `${sanitizeForTerminal(t.label)} ${formatPercent(t.probability)}`).join(', ')}${note}`,
      { file: input.path, top, inverted: input.info.inverted, size: input.info.from },
      'prediction',
    );
  });
}

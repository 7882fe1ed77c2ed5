import { formatValue, type Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Loader } from './loader.js';
import { crossEntropy } from './losses.js';
import { countCorrect, type Metric, RunningMean } from './metrics.js';

/** A loss: model output and target in, a scalar (the batch mean) out. */
export type LossFn = (output: tf.Tensor, target: tf.Tensor) => tf.Tensor;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Loss to average (default {@link crossEntropy}). */
  loss?: LossFn;
  /** Extra metrics by name, updated on every batch; their results appear under `metrics`. */
  metrics?: Record<string, Metric>;
}

/** What {@link evaluate} returns. */
export interface EvaluateResult {
  /** Mean loss per example. */
  loss: number;
  /** Top-1 accuracy, when outputs are `[N, C]` scores and targets int32 labels; else NaN. */
  accuracy: number;
  /** Number of examples seen. */
  count: number;
  /** Results of the extra metrics, by name. */
  metrics: Record<string, unknown>;
}

/** The model's output for `x` as a tensor, or a clear error. */
export function forwardTensor(model: Module, x: tf.Tensor): tf.Tensor {
  const out = model.forward(x);
  if (!(out instanceof tf.Tensor)) {
    throw new ValueError(`${model.typeName}.forward must return a tensor, got ${formatValue(out)}`);
  }
  return out;
}

/** Whether accuracy can be counted for this output and target. */
export function isClassification(out: tf.Tensor, y: tf.Tensor): boolean {
  return out.rank === 2 && y.rank === 1 && y.dtype === 'int32' && out.shape[0] === y.shape[0];
}

/**
 * Runs the model in evaluation mode over a loader and returns the mean loss, the accuracy
 * and any extra metrics, reading the device once at the end (without blocking where a metric
 * can: `Metric.read`). The model's mode is restored
 * afterwards; the batches are disposed.
 */
export async function evaluate(
  model: Module,
  loader: Loader,
  { loss = crossEntropy, metrics = {} }: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const wasTraining = model.training;
  model.eval();
  const meanLoss = new RunningMean();
  const correct = new RunningMean();
  try {
    for await (const { x, y } of loader) {
      try {
        tf.tidy(() => {
          const n = x.shape[0];
          const out = forwardTensor(model, x);
          meanLoss.update(loss(out, y), n);
          for (const m of Object.values(metrics)) m.update(out, y);
          if (isClassification(out, y)) correct.addSum(countCorrect(out, y), n);
        });
      } finally {
        tf.dispose([x, y]);
      }
    }
    const [lossValue, accuracy] = await Promise.all([meanLoss.read(), correct.read()]);
    return {
      loss: lossValue,
      accuracy,
      count: meanLoss.count,
      metrics: Object.fromEntries(
        await Promise.all(
          Object.entries(metrics).map(async ([k, m]) => [k, m.read ? await m.read() : m.result()]),
        ),
      ),
    };
  } finally {
    meanLoss.reset();
    correct.reset();
    model.train(wasTraining);
  }
}

/**
 * The model's output for `x` in evaluation mode (no dropout, running batch-norm statistics),
 * in batches of `batchSize` rows when given. The caller owns the result; the model's mode is
 * restored.
 */
export function predict(
  model: Module,
  x: tf.Tensor,
  { batchSize }: { batchSize?: number } = {},
): tf.Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return tf.tidy(() => {
      const n = x.shape[0];
      if (!batchSize || batchSize >= n) return forwardTensor(model, x);
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < n; i += batchSize) {
        parts.push(forwardTensor(model, tf.slice(x, i, Math.min(batchSize, n - i))));
      }
      return tf.concat(parts, 0);
    });
  } finally {
    model.train(wasTraining);
  }
}

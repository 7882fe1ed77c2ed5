import { defaultGenerator, type Generator, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Apply dropout (true) or return the input unchanged (false); default true, as PyTorch. */
  training?: boolean;
  /** Source of the mask; default the process-wide default generator. */
  generator?: Generator;
}

/** Checks a dropout probability. @internal */
export function checkProbability(label: string, p: number): number {
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new ValueError(`${label}: dropout probability must be in [0, 1], got ${p}`);
  }
  return p;
}

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1-p), as
 * `torch.nn.functional.dropout`. The mask comes from a seeded {@link Generator}, so runs
 * repeat exactly.
 */
export function dropout(
  x: tf.Tensor,
  p = 0.5,
  { training = true, generator }: DropoutOptions = {},
): tf.Tensor {
  checkProbability('dropout', p);
  if (!training || p === 0) return x;
  if (p === 1) return tf.mul(x, 0);
  const gen = generator ?? defaultGenerator();
  const scale = 1 / (1 - p);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = gen.random() < p ? 0 : scale;
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, 'float32')));
}

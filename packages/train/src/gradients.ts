import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** The value of a scalar function and its gradients, from {@link valueAndGrads}. */
export interface ValueAndGrads {
  /** The function's value; the caller owns it. */
  value: tf.Scalar;
  /** One gradient per parameter, in the order given; the caller owns them. */
  grads: tf.Tensor[];
}

/**
 * Evaluates `fn` and the gradient of its scalar result with respect to each of `params`
 * (what `loss.backward()` fills into `.grad`), on tfjs's tape. Every intermediate tensor is
 * freed; the value and the gradients belong to the caller. A parameter `fn` does not touch
 * gets a zero gradient, so `grads[i]` always lines up with `params[i]`.
 *
 * @example
 * const { value, grads } = valueAndGrads(() => crossEntropy(model.forward(x), y), optimizer.params);
 * optimizer.step(grads);
 * tf.dispose([value, ...grads]);
 */
export function valueAndGrads(fn: () => tf.Scalar, params: tf.Variable[]): ValueAndGrads {
  if (params.length === 0) throw new ValueError('valueAndGrads needs at least one parameter');
  const { value, grads } = tf.engine().gradients(
    () => {
      const y = fn();
      if (!(y instanceof tf.Tensor) || y.rank !== 0) {
        throw new ValueError(
          `valueAndGrads: fn must return a scalar tensor, got ${y instanceof tf.Tensor ? `shape ${formatValue(y.shape)}` : formatValue(y)}`,
        );
      }
      return y;
    },
    params,
    undefined,
    true,
  );
  return {
    value: value as tf.Scalar,
    grads: grads.map((g, i) => g ?? tf.zerosLike(params[i])),
  };
}

/**
 * Sums gradients over several batches before one optimizer step, to train with an
 * effective batch larger than memory allows. Divide by the number of batches (or use
 * {@link GradientAccumulator.mean}) when the loss is a per-batch mean.
 */
export class GradientAccumulator {
  private sums: tf.Tensor[] | null = null;
  private n = 0;

  /** Number of batches added since the last {@link GradientAccumulator.reset}. */
  get count(): number {
    return this.n;
  }

  /** Adds one batch's gradients (aligned as always); the caller still owns `grads`. */
  add(grads: tf.Tensor[]): void {
    if (this.sums && this.sums.length !== grads.length) {
      throw new ValueError(
        `GradientAccumulator.add: expected ${this.sums.length} gradients, got ${grads.length}`,
      );
    }
    const old = this.sums;
    this.sums = tf.tidy(() => grads.map((g, i) => (old ? tf.add(old[i], g) : tf.clone(g))));
    if (old) tf.dispose(old);
    this.n += 1;
  }

  /** The summed gradients (new tensors the caller owns). */
  sum(): tf.Tensor[] {
    if (!this.sums) throw new ValueError('GradientAccumulator: no gradients were added');
    const sums = this.sums;
    return sums.map((g) => tf.clone(g));
  }

  /** The mean gradients over the batches added (new tensors the caller owns). */
  mean(): tf.Tensor[] {
    if (!this.sums) throw new ValueError('GradientAccumulator: no gradients were added');
    const sums = this.sums;
    const n = this.n;
    return tf.tidy(() => sums.map((g) => tf.div(g, n)));
  }

  /** Frees the running sums and starts again. */
  reset(): void {
    if (this.sums) tf.dispose(this.sums);
    this.sums = null;
    this.n = 0;
  }
}

/** What {@link clipGradNorm} returns. */
export interface ClippedGrads {
  /** The clipped gradients (new tensors the caller owns). */
  grads: tf.Tensor[];
  /** The total norm of the gradients BEFORE clipping, as PyTorch returns it. */
  totalNorm: tf.Scalar;
}

/**
 * Rescales gradients so that their joint norm is at most `maxNorm`, as
 * `torch.nn.utils.clip_grad_norm_`: the total norm is the `normType`-norm of the per-tensor
 * norms (`Infinity` gives the largest absolute entry), and every gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))`. The inputs are left as they are. The norm stays a
 * tensor so that clipping costs no device read.
 */
export function clipGradNorm(grads: tf.Tensor[], maxNorm: number, normType = 2): ClippedGrads {
  if (!(maxNorm >= 0)) throw new ValueError(`maxNorm must be >= 0, got ${formatValue(maxNorm)}`);
  if (!(normType > 0)) {
    throw new ValueError(`normType must be > 0 or Infinity, got ${formatValue(normType)}`);
  }
  return tf.tidy(() => {
    if (grads.length === 0) return { grads: [], totalNorm: tf.scalar(0) };
    let totalNorm: tf.Scalar;
    if (normType === Number.POSITIVE_INFINITY) {
      totalNorm = tf.max(tf.stack(grads.map((g) => tf.max(tf.abs(g))))) as tf.Scalar;
    } else if (normType === 2) {
      totalNorm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    } else {
      const pNorm = (t: tf.Tensor) => tf.pow(tf.sum(tf.pow(tf.abs(t), normType)), 1 / normType);
      totalNorm = pNorm(tf.stack(grads.map(pNorm))) as tf.Scalar;
    }
    const coef = tf.minimum(tf.div(maxNorm, tf.add(totalNorm, 1e-6)), 1);
    return { grads: grads.map((g) => tf.mul(g, coef)), totalNorm };
  });
}

/**
 * Clamps every gradient entry to `[-clipValue, clipValue]`, as
 * `torch.nn.utils.clip_grad_value_`. Returns new tensors; the inputs are left as they are.
 */
export function clipGradValue(grads: tf.Tensor[], clipValue: number): tf.Tensor[] {
  if (!(clipValue >= 0)) {
    throw new ValueError(`clipValue must be >= 0, got ${formatValue(clipValue)}`);
  }
  return tf.tidy(() => grads.map((g) => tf.clipByValue(g, -clipValue, clipValue)));
}

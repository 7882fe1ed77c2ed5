import { formatValue, Module, type Parameter, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';
import { batchNorm } from './functional/batch-norm.js';
import { checkNHWC, integer } from './validate.js';

/** Formats a number as Python's repr does (1e-05, 0.001), so reprs read like PyTorch's. */
function pythonFloat(v: number): string {
  if (v === 0 || Math.abs(v) >= 1e-4) return String(v);
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Options of {@link BatchNorm2d}, mirroring `torch.nn.BatchNorm2d`'s. */
export interface BatchNorm2dOptions {
  /** Added to the variance; default 1e-5. */
  eps?: number;
  /** Weight of each new batch in the running statistics; `null` = cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel scale (`weight`) and shift (`bias`); default true. */
  affine?: boolean;
  /** Keep `running_mean`/`running_var`/`num_batches_tracked` and use them in eval; default true. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over the channels of an NHWC batch, as `torch.nn.BatchNorm2d`:
 * training normalises with the batch mean and biased variance and updates `running_var`
 * with the unbiased one; eval uses the running statistics.
 */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Parameter | null = null;
  readonly bias: Parameter | null = null;

  constructor(
    numFeatures: number,
    {
      eps = 1e-5,
      momentum = 0.1,
      affine = true,
      trackRunningStats = true,
    }: BatchNorm2dOptions = {},
  ) {
    super();
    this.numFeatures = integer(this.typeName, 'numFeatures', numFeatures, 1);
    if (!(eps > 0))
      throw new ValueError(`${this.typeName}: eps must be > 0, got ${formatValue(eps)}`);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) {
      throw new ValueError(
        `${this.typeName}: momentum must be in [0, 1] or null, got ${formatValue(momentum)}`,
      );
    }
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    if (affine) {
      this.weight = this.registerParameter('weight', tf.ones([numFeatures]));
      this.bias = this.registerParameter('bias', tf.zeros([numFeatures]));
    }
    if (trackRunningStats) {
      this.registerBuffer('running_mean', tf.zeros([numFeatures]));
      this.registerBuffer('running_var', tf.ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32'));
    }
  }

  override forward(x: tf.Tensor): tf.Tensor {
    checkNHWC(this.label, x, this.numFeatures);
    const track = this.trackRunningStats;
    const running = track && this.training;
    const mean = track ? this.getBuffer('running_mean') : null;
    const variance = track ? this.getBuffer('running_var') : null;
    let factor: number | tf.Scalar = this.momentum ?? 0;
    if (running) {
      const count = this.getBuffer('num_batches_tracked');
      tf.tidy(() => this.setBuffer('num_batches_tracked', tf.add(count, tf.scalar(1, 'int32'))));
      // A cumulative average weighs batch k by 1/k; kept as a tensor to avoid a device sync.
      if (this.momentum === null)
        factor = tf.tidy(() => tf.div(1, tf.cast(count, 'float32')) as tf.Scalar);
    }
    try {
      return batchNorm(
        x,
        mean,
        variance,
        this.weight,
        this.bias,
        { training: this.training || !track, momentum: factor, eps: this.eps },
        this.label,
      );
    } finally {
      if (typeof factor !== 'number') factor.dispose();
    }
  }

  override extraRepr(): string {
    const m = this.momentum === null ? 'None' : String(this.momentum);
    const b = (v: boolean) => (v ? 'True' : 'False');
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${m}, affine=${b(this.affine)}, track_running_stats=${b(this.trackRunningStats)}`;
  }
}

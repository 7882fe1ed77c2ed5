import { formatValue, ValueError } from '@resnet-ts/core';
import type * as tf from '@tensorflow/tfjs-core';
import { Adam, AdamW } from './adam.js';
import type { Optimizer } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

/** The optimizers {@link createOptimizer} builds by name, as the CLI's `--optimizer` takes them. */
export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop'] as const;

/** A name {@link createOptimizer} accepts. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The hyper-parameters {@link createOptimizer} takes; each one left out is PyTorch's default. */
export interface OptimizerSettings {
  /** Learning rate (the initial one, when a scheduler changes it). */
  lr: number;
  /** Momentum factor; only SGD and RMSprop have one (PyTorch's default 0). */
  momentum?: number;
  /** L2 penalty (SGD, Adam, RMSprop; default 0) or decoupled decay (AdamW; default 0.01). */
  weightDecay?: number;
}

/** Whether `name` is one of {@link OPTIMIZER_NAMES}. */
export function isOptimizerName(name: unknown): name is OptimizerName {
  return (OPTIMIZER_NAMES as readonly unknown[]).includes(name);
}

/**
 * The optimizer `name` stands for, over `params`, as `torch.optim.<Class>(params, **settings)`:
 * every setting given is passed as it is and every one left out (or `undefined`) keeps the
 * class's PyTorch default, whatever the optimizer. Giving `momentum` to Adam or AdamW, which
 * have none (their `betas` play that part), is an error rather than a silently dropped value.
 *
 * @example
 * const opt = createOptimizer('sgd', model.parameters(), { lr: 0.1, momentum: 0.9 });
 */
export function createOptimizer(
  name: OptimizerName,
  params: tf.Variable[],
  settings: OptimizerSettings,
): Optimizer<any> {
  if (!isOptimizerName(name)) {
    throw new ValueError(
      `createOptimizer: unknown optimizer ${formatValue(name)}; expected one of ${OPTIMIZER_NAMES.join(', ')}`,
    );
  }
  const { lr, momentum, weightDecay } = settings ?? {};
  if (!(typeof lr === 'number' && Number.isFinite(lr) && lr >= 0)) {
    throw new ValueError(
      `createOptimizer: lr must be a non-negative finite number, got ${formatValue(lr)}`,
    );
  }
  // Spreading an explicit `undefined` would overwrite the class default, so only given values go in.
  const options = {
    lr,
    ...(weightDecay !== undefined ? { weightDecay } : {}),
    ...(momentum !== undefined ? { momentum } : {}),
  };
  switch (name) {
    case 'sgd':
      return new SGD(params, options);
    case 'rmsprop':
      return new RMSprop(params, options);
    case 'adam':
    case 'adamw': {
      if (momentum !== undefined) {
        throw new ValueError(
          `createOptimizer: ${name} has no momentum (its betas play that part), got momentum ${formatValue(momentum)}`,
        );
      }
      return name === 'adam' ? new Adam(params, options) : new AdamW(params, options);
    }
  }
}

import type { Module } from '@resnet-ts/core';

/** Options of {@link freeze}. */
export interface FreezeOptions {
  /**
   * Keep the subtree's BatchNorm layers in eval mode even when the model trains, so their
   * running statistics stay those of the pretraining data (default false: as PyTorch's
   * `requires_grad_(False)` alone, they keep updating in train mode).
   */
  batchNormEval?: boolean;
}

/** A BatchNorm layer in PyTorch's sense: a module that tracks running statistics. */
function isBatchNorm(m: Module): boolean {
  return m.children().length === 0 && m.namedBuffers().some(([n]) => n === 'running_mean');
}

function evalOnly(this: Module): Module {
  this.training = false;
  return this;
}

/**
 * Freezes `module` for fine-tuning: its parameters stop training (`requiresGrad(false)`;
 * optimizers and `fit` skip them) and, with `batchNormEval`, its BatchNorm layers stay in
 * eval mode through later `model.train()` calls. Returns `module`.
 *
 * ```ts
 * freeze(model, { batchNormEval: true });
 * model.fc = new Linear(512, k); // the new head trains
 * ```
 */
export function freeze<M extends Module>(module: M, options: FreezeOptions = {}): M {
  module.requiresGrad(false);
  if (options.batchNormEval) {
    for (const m of module.modules()) {
      if (!isBatchNorm(m)) continue;
      Object.defineProperty(m, 'train', { value: evalOnly, configurable: true, writable: true });
      m.training = false;
    }
  }
  return module;
}

/**
 * Undoes {@link freeze}: parameters train again and BatchNorm layers follow `train`/`eval`
 * again (they take the mode of the next `train()` call). Returns `module`.
 */
export function unfreeze<M extends Module>(module: M): M {
  module.requiresGrad(true);
  for (const m of module.modules()) {
    if (Object.hasOwn(m, 'train')) delete (m as { train?: unknown }).train;
  }
  return module;
}

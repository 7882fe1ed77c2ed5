import { formatValue, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** Hyper-parameters every optimizer has: the learning rate, which schedulers change. */
export interface OptimizerOptions {
  lr: number;
}

/**
 * A set of parameters sharing hyper-parameters, as an entry of PyTorch's `param_groups`.
 * Schedulers write `lr` (and `momentum` or `betas`) here and may store their own entries
 * (`initialLr`, `maxLr`, ...); they are saved with the optimizer's state dict.
 */
export type ParamGroup<O extends OptimizerOptions = OptimizerOptions> = O & {
  params: tf.Variable[];
  [option: string]: unknown;
};

/** A parameter group as given to a constructor: options left out take the defaults. */
export type ParamGroupInit<O extends OptimizerOptions = OptimizerOptions> = Partial<O> & {
  params: tf.Variable[];
};

/** The state one parameter carries between steps: tensors (buffers) and numbers (`step`). */
export type ParamState = Record<string, tf.Variable | number>;

/**
 * An optimizer's serialisable state, shaped like PyTorch's `optimizer.state_dict()`:
 * `state[i]` is the state of the i-th parameter in the flattened order of all groups
 * (missing until its first step); `paramGroups[g]` holds group g's hyper-parameters and,
 * under `params`, the flat indices of its parameters. The tensors are the optimizer's own:
 * read or save them, do not dispose them. Everything else is plain JSON.
 */
export interface OptimizerStateDict {
  state: Record<string, Record<string, tf.Tensor | number>>;
  paramGroups: Array<{ params: number[]; [option: string]: unknown }>;
}

/** Gradients for {@link Optimizer.step}: aligned with {@link Optimizer.params}, or by variable. */
export type Gradients = ReadonlyArray<tf.Tensor | null | undefined> | Map<tf.Variable, tf.Tensor>;

/**
 * The base of every optimizer, like `torch.optim.Optimizer`: it holds parameter groups with
 * per-group hyper-parameters and per-parameter state, and applies one update per
 * {@link Optimizer.step}. Subclasses only say how one parameter is updated.
 *
 * Gradients are values, not fields on the parameters: `step` takes them, aligned with
 * {@link Optimizer.params} (the parameters of all groups, group by group, in the order
 * given), which is the list to pass to `valueAndGrads`. There is therefore nothing to zero
 * between steps: {@link Optimizer.zeroGrad} exists for PyTorch-shaped code and does nothing.
 */
export abstract class Optimizer<O extends OptimizerOptions = OptimizerOptions> {
  /** The hyper-parameters a group gets when it does not set them. */
  readonly defaults: Readonly<O>;
  /** The parameter groups, each with its hyper-parameters (mutable: schedulers set `lr`). */
  readonly paramGroups: ParamGroup<O>[];
  /** Per-parameter state (momentum buffers, moment estimates, step counts). */
  protected readonly state = new Map<tf.Variable, ParamState>();
  private scalars = new Map<number, tf.Scalar>();

  constructor(params: tf.Variable[] | ParamGroupInit<O>[], defaults: O) {
    if (!(typeof defaults.lr === 'number' && defaults.lr >= 0)) {
      throw new ValueError(
        `${this.constructor.name}: lr must be >= 0, got ${formatValue(defaults.lr)}`,
      );
    }
    this.defaults = { ...defaults };
    const groups: ParamGroupInit<O>[] =
      params.length > 0 && params[0] instanceof tf.Variable
        ? [{ params: params as tf.Variable[] } as ParamGroupInit<O>]
        : (params as ParamGroupInit<O>[]);
    if (groups.length === 0) {
      throw new ValueError(`${this.constructor.name} got an empty parameter list`);
    }
    this.paramGroups = [];
    for (const init of groups) this.addParamGroup(init);
  }

  /**
   * Adds a parameter group, as `add_param_group` (e.g. to unfreeze a backbone part-way
   * through fine-tuning); options it leaves out take the defaults. Its parameters come
   * after all existing ones in {@link Optimizer.params}.
   */
  addParamGroup(init: ParamGroupInit<O>): void {
    const g = this.paramGroups.length;
    if (!init || !Array.isArray(init.params)) {
      throw new ValueError(
        `${this.constructor.name}: parameter group ${g} must be { params: Variable[], ...options }`,
      );
    }
    const seen = new Set(this.params);
    for (const p of init.params) {
      if (!(p instanceof tf.Variable)) {
        throw new ValueError(
          `${this.constructor.name}: group ${g} holds a ${formatValue(typeof p)} that is not a tf.Variable`,
        );
      }
      if (seen.has(p)) {
        throw new ValueError(
          `${this.constructor.name}: parameter ${formatValue(p.name)} appears in more than one group`,
        );
      }
      seen.add(p);
    }
    const group = { ...this.defaults, ...init, params: [...init.params] } as ParamGroup<O>;
    this.validate(group);
    this.paramGroups.push(group);
  }

  /** Checks a group's hyper-parameters; subclasses throw a ValueError naming the bad one. */
  protected validate(_group: ParamGroup<O>): void {}

  /** Every parameter of every group, in the order `step`'s gradient array follows. */
  get params(): tf.Variable[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * Applies one update to every parameter that has a gradient. `grads` is aligned with
   * {@link Optimizer.params} (a missing or null entry skips that parameter, as a `None`
   * gradient does in PyTorch) or maps parameters to gradients. The gradients are read,
   * not disposed; every temporary is freed and parameters are updated in place.
   */
  step(grads: Gradients): void {
    const params = this.params;
    let gradOf: (p: tf.Variable, i: number) => tf.Tensor | null | undefined;
    if (grads instanceof Map) {
      gradOf = (p) => grads.get(p);
    } else {
      if (grads.length !== params.length) {
        throw new ValueError(
          `${this.constructor.name}.step: expected ${params.length} gradients (one per parameter, in the order of optimizer.params), got ${grads.length}`,
        );
      }
      gradOf = (_, i) => grads[i];
    }
    try {
      let i = 0;
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = gradOf(p, i++);
          if (g == null) continue;
          if (g.rank !== p.rank || g.shape.some((d, k) => d !== p.shape[k])) {
            throw new ValueError(
              `${this.constructor.name}.step: gradient ${i - 1} has shape ${formatValue(g.shape)}, parameter ${formatValue(p.name)} has ${formatValue(p.shape)}`,
            );
          }
          let st = this.state.get(p);
          if (!st) {
            st = this.initState(p, group);
            this.state.set(p, st);
          }
          const state = st;
          // One scope per parameter frees its temporaries before the next one allocates.
          tf.tidy(() => this.update(p, g, group, state));
        }
      }
    } finally {
      for (const s of this.scalars.values()) s.dispose();
      this.scalars.clear();
    }
  }

  /**
   * `value` as a float32 scalar tensor, created once per step however many parameters use
   * it: a bare number would become a new tensor (an upload on GPU backends) in every op.
   * Only valid inside {@link Optimizer.update}; freed when the step ends.
   */
  protected scalar(value: number): tf.Scalar {
    let s = this.scalars.get(value);
    if (!s) {
      s = tf.keep(tf.scalar(value));
      this.scalars.set(value, s);
    }
    return s;
  }

  /** The state of a parameter before its first step. */
  protected abstract initState(p: tf.Variable, group: ParamGroup<O>): ParamState;

  /**
   * Updates one parameter in place (with `assign`) and its state. Runs inside the step's
   * `tf.tidy`, so temporaries need no disposal.
   */
  protected abstract update(
    p: tf.Variable,
    grad: tf.Tensor,
    group: ParamGroup<O>,
    state: ParamState,
  ): void;

  /** Does nothing: gradients are values passed to `step`, never accumulated on parameters. */
  zeroGrad(): void {}

  /** The optimizer's state; see {@link OptimizerStateDict}. */
  stateDict(): OptimizerStateDict {
    const index = new Map<tf.Variable, number>();
    for (const [i, p] of this.params.entries()) index.set(p, i);
    const state: OptimizerStateDict['state'] = {};
    for (const [p, st] of this.state) state[String(index.get(p))] = { ...st };
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...options } = g;
      return { ...structuredClone(options), params: params.map((p) => index.get(p)!) };
    });
    return { state, paramGroups };
  }

  /**
   * Restores hyper-parameters and per-parameter state saved by {@link Optimizer.stateDict},
   * as `load_state_dict`: the groups must match in number and size and the tensors in shape.
   * Tensors are copied; the caller keeps ownership of `dict`.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!dict || !Array.isArray(dict.paramGroups) || typeof dict.state !== 'object') {
      throw new ValueError(
        `${name}.loadStateDict: expected { state, paramGroups }, got ${formatValue(dict)}`,
      );
    }
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new ValueError(
        `${name}.loadStateDict: the state dict has ${dict.paramGroups.length} parameter groups, this optimizer ${this.paramGroups.length}`,
      );
    }
    dict.paramGroups.forEach((saved, g) => {
      if (
        !Array.isArray(saved.params) ||
        saved.params.length !== this.paramGroups[g].params.length
      ) {
        throw new ValueError(
          `${name}.loadStateDict: group ${g} has ${saved.params?.length} parameters in the state dict, ${this.paramGroups[g].params.length} here`,
        );
      }
    });
    const params = this.params;
    const incoming = new Map<tf.Variable, ParamState>();
    for (const [key, st] of Object.entries(dict.state)) {
      const p = params[Number(key)];
      if (!p) {
        throw new ValueError(
          `${name}.loadStateDict: state for parameter ${formatValue(key)}, which does not exist`,
        );
      }
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(st)) {
        if (typeof v === 'number') {
          copy[k] = v;
        } else if (v instanceof tf.Tensor) {
          if (v.size !== p.size) {
            tf.dispose(Object.values(copy).filter((x) => x instanceof tf.Tensor));
            throw new ValueError(
              `${name}.loadStateDict: state ${formatValue(k)} of parameter ${key} has shape ${formatValue(v.shape)}, the parameter ${formatValue(p.shape)}`,
            );
          }
          copy[k] = tf.variable(
            tf.tidy(() => tf.reshape(tf.cast(v, 'float32'), p.shape)),
            false,
          );
        } else {
          throw new ValueError(
            `${name}.loadStateDict: state ${formatValue(k)} of parameter ${key} must be a tensor or a number, got ${formatValue(v)}`,
          );
        }
      }
      incoming.set(p, copy);
    }
    dict.paramGroups.forEach((saved, g) => {
      const { params: _ignored, ...options } = saved;
      Object.assign(this.paramGroups[g], structuredClone(options));
    });
    this.disposeState();
    for (const [p, st] of incoming) this.state.set(p, st);
  }

  private disposeState(): void {
    for (const st of this.state.values()) {
      for (const v of Object.values(st)) if (v instanceof tf.Tensor) v.dispose();
    }
    this.state.clear();
  }

  /** Frees the optimizer's state tensors (the parameters belong to the model). */
  dispose(): void {
    this.disposeState();
  }
}

/** Checks that `value` is a finite number >= `min`, naming the option otherwise. */
export function checkNumber(owner: string, option: string, value: unknown, min = 0): void {
  if (typeof value !== 'number' || !(value >= min) || !Number.isFinite(value)) {
    throw new ValueError(
      `${owner}: ${option} must be a number >= ${min}, got ${formatValue(value)}`,
    );
  }
}

/** Creates a state buffer: a non-trainable variable, zeros or filled with `value`. */
export function stateBuffer(p: tf.Variable, value = 0): tf.Variable {
  return tf.variable(
    tf.tidy(() => tf.fill(p.shape, value, 'float32')),
    false,
  );
}

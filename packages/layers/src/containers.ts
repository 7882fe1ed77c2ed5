import { formatValue, Module, ResnetError, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** Runs a child whose `forward` maps one tensor to one tensor. @internal */
export function call(m: Module, x: tf.Tensor): tf.Tensor {
  return m.forward(x) as tf.Tensor;
}

/**
 * Holds modules in a list, registered as "0", "1", …, as `torch.nn.ModuleList`. It has no
 * `forward`: the owner decides how to call them.
 */
export class ModuleList extends Module {
  private count = 0;

  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  /** Registers `module` under `name`, checking it is a Module. */
  protected add(name: string, module: Module): void {
    if (!(module instanceof Module)) {
      throw new ValueError(`${this.label}: child ${formatValue(name)} is not a Module`);
    }
    this.registerModule(name, module);
    this.count++;
  }

  /** Adds `module` at the end under the next index; returns this. */
  append(module: Module): this {
    this.add(String(this.count), module);
    return this;
  }

  /** Appends every module of `modules`; returns this. */
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Number of modules. */
  get length(): number {
    return this.count;
  }

  /** The module at position `index` (negative counts from the end). */
  at(index: number): Module {
    const kids = this.children();
    const m = kids[index < 0 ? kids.length + index : index];
    if (!m)
      throw new ResnetError(
        `${this.label}: index ${index} is out of range for ${kids.length} modules`,
      );
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
}

/**
 * Runs its children in order, each on the previous one's output, as `torch.nn.Sequential`:
 * a {@link ModuleList} with a `forward`. Children are named "0", "1", … (or by the keys of
 * an object, in order), so state-dict keys read `features.0.weight` as in PyTorch.
 * Intermediate tensors are freed as it goes.
 */
export class Sequential extends ModuleList {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const only = modules[0];
    if (modules.length === 1 && !(only instanceof Module) && typeof only === 'object') {
      for (const [name, m] of Object.entries(only as Record<string, Module>)) this.add(name, m);
    } else {
      this.extend(modules as Module[]);
    }
  }

  override forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let y = x;
      for (const m of this.children()) y = call(m, y);
      return y;
    });
  }
}

import { cast, dispose, type Tensor, tidy, type Variable, variable } from '@tensorflow/tfjs-core';
import { assertBackendReady } from './backends.js';
import { formatValue, ResnetError, ValueError } from './errors.js';
import { isTensor, sameShape } from './tensors.js';

/** A trainable tensor owned by a {@link Module}: a tfjs `Variable`. */
export type Parameter = Variable;

/** Parameters and persistent buffers by PyTorch-style dotted name, in registration order. */
export type StateDict = Record<string, Tensor>;

/** What {@link Module.loadStateDict} found, as PyTorch's `load_state_dict` returns it. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** One tensor whose shape differs between a state dict and the module. */
export interface ShapeMismatch {
  key: string;
  expected: number[];
  found: number[];
}

/** Thrown by {@link Module.loadStateDict} with every problem found, not just the first. */
export class StateDictError extends ResnetError {
  override name = 'StateDictError';
  constructor(
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: ShapeMismatch[],
    moduleName: string,
  ) {
    const parts: string[] = [];
    if (missingKeys.length)
      parts.push(`Missing key(s): ${missingKeys.map((k) => formatValue(k)).join(', ')}.`);
    if (unexpectedKeys.length)
      parts.push(`Unexpected key(s): ${unexpectedKeys.map((k) => formatValue(k)).join(', ')}.`);
    for (const m of shapeMismatches) {
      parts.push(
        `Size mismatch for ${m.key}: expected shape ${formatValue(m.expected)}, found ${formatValue(m.found)}.`,
      );
    }
    super(`Error(s) in loading state dict for ${moduleName}:\n  ${parts.join('\n  ')}`);
  }
}

/** Anything with a shape: a tfjs tensor, or a raw `{dtype, shape, data}` record. */
export interface Shaped {
  readonly shape: readonly number[];
}

/**
 * How {@link Module.loadStateDict} reads a state dict in another layout or of other value
 * types (PyTorch's OIHW convolutions, raw safetensors records): the one loader checks keys
 * and shapes, the transform says what shape each entry must have and how it becomes ours.
 */
export interface StateDictTransform<V extends Shaped> {
  /**
   * The shape the entry for `key` must have, given the module's own shape for it (default:
   * the same). Mismatches are reported in this shape, the one the caller knows.
   */
  sourceShape?(key: string, ownShape: readonly number[]): number[];
  /**
   * `value` as a tensor of the module's layout (`own.shape`). Runs inside `tf.tidy`; a
   * tensor it returns that was not passed in is disposed after loading.
   */
  toTensor(key: string, value: V, own: Tensor): Tensor;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions<V extends Shaped = Tensor> {
  /** Whether missing and unexpected keys throw (default true), as PyTorch's `strict`. */
  strict?: boolean;
  /** Converts each entry on the way in; without it entries are tensors of our layout. */
  transform?: StateDictTransform<V>;
}

const NAME_RE = /^[A-Za-z0-9_]+$/;

/**
 * The base class of every layer and model, like `torch.nn.Module`: it owns parameters
 * (trainable variables), buffers (non-trainable variables such as `running_mean`) and child
 * modules, all named as in PyTorch's state dicts. Subclasses register what they own in the
 * constructor and implement {@link Module.forward}.
 *
 * Tensors passed to `registerParameter`/`registerBuffer` are copied into variables and the
 * originals disposed: the module owns its state and frees it in {@link Module.dispose}.
 */
export class Module {
  /** Whether the module is in training mode; set with {@link Module.train}/{@link Module.eval}. */
  training = true;
  private readonly _parameters = new Map<string, Variable>();
  private readonly _buffers = new Map<string, Variable>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();
  private _path = '';

  constructor() {
    // Layers make their weights in their constructors: without a ready backend tfjs would
    // fail there with advice (`tf.ready()`) that does not name resnet-ts's way.
    assertBackendReady(`${new.target.name || 'Module'}`);
  }

  /** The class name shown by `toString()` and in error messages. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** The module's dotted path from the root it is attached to (`layer2.0.conv1`), or ''. */
  get path(): string {
    return this._path;
  }

  /** A label for error messages: the path, or the type name for a root module. */
  protected get label(): string {
    return this._path || this.typeName;
  }

  private checkName(name: string, kind: string): void {
    if (!NAME_RE.test(name)) {
      throw new ResnetError(
        `${this.label}: ${kind} name must be letters, digits or '_', got ${formatValue(name)}`,
      );
    }
    if (this._parameters.has(name) || this._buffers.has(name) || this._modules.has(name)) {
      throw new ResnetError(`${this.label}: ${formatValue(name)} is already registered`);
    }
  }

  /** Registers a trainable parameter under `name`; takes ownership of `value`. */
  registerParameter(name: string, value: Tensor, trainable = true): Parameter {
    this.checkName(name, 'parameter');
    const v = variable(value, trainable);
    if (value !== v) value.dispose();
    this._parameters.set(name, v);
    return v;
  }

  /**
   * Registers a buffer: state that is saved in the state dict (when `persistent`) but not
   * trained, such as BatchNorm's `running_mean`. Takes ownership of `value`.
   */
  registerBuffer(name: string, value: Tensor, { persistent = true } = {}): Variable {
    this.checkName(name, 'buffer');
    const v = variable(value, false);
    value.dispose();
    this._buffers.set(name, v);
    if (!persistent) this._nonPersistent.add(name);
    return v;
  }

  /**
   * Registers a child module under `name` and returns it. When `name` is an identifier, the
   * property `this[name]` becomes the child's slot, as attribute assignment in PyTorch:
   * `model.fc = new Linear(512, k)` replaces the registered child (same place in the state
   * dict; the old one is not disposed) and `= null` removes it.
   */
  registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name, 'module');
    if (!(module instanceof Module)) {
      throw new ResnetError(`${this.label}: child ${formatValue(name)} is not a Module`);
    }
    this._modules.set(name, module);
    module.setPath(this._path ? `${this._path}.${name}` : name);
    this.exposeChild(name);
    return module;
  }

  /**
   * Makes `this[name]` read and replace the child `name`. Only plain fields are turned into
   * slots (or absent names): a getter or method of the class keeps its meaning.
   */
  private exposeChild(name: string): void {
    if (!/^[A-Za-z_]/.test(name)) return;
    const own = Object.getOwnPropertyDescriptor(this, name);
    if (own ? !('value' in own) || !own.configurable : name in this) return;
    Object.defineProperty(this, name, {
      configurable: true,
      enumerable: true,
      get: () => this._modules.get(name) ?? null,
      set: (value: Module | null | undefined) => this.replaceChild(name, value),
    });
  }

  private replaceChild(name: string, value: Module | null | undefined): void {
    if (value == null) {
      this._modules.delete(name);
      return;
    }
    if (!(value instanceof Module)) {
      throw new ResnetError(
        `${this.label}: cannot assign ${formatValue(value)} to child module ${formatValue(name)}; expected a Module or null`,
      );
    }
    this._modules.set(name, value);
    value.setPath(this._path ? `${this._path}.${name}` : name);
  }

  private setPath(path: string): void {
    this._path = path;
    for (const [name, child] of this._modules) child.setPath(`${path}.${name}`);
  }

  /** The parameter registered directly on this module under `name`. */
  getParameter(name: string): Parameter {
    const p = this._parameters.get(name);
    if (!p) throw new ResnetError(`${this.label}: no parameter named ${formatValue(name)}`);
    return p;
  }

  /** The buffer registered directly on this module under `name`. */
  getBuffer(name: string): Variable {
    const b = this._buffers.get(name);
    if (!b) throw new ResnetError(`${this.label}: no buffer named ${formatValue(name)}`);
    return b;
  }

  /** Overwrites a buffer's value in place (same shape; cast to the buffer's dtype). */
  setBuffer(name: string, value: Tensor): void {
    const b = this.getBuffer(name);
    if (!sameShape(b.shape, value.shape)) {
      throw new ResnetError(
        `${this.label}: buffer ${formatValue(name)} has shape ${formatValue(b.shape)}, got ${formatValue(value.shape)}`,
      );
    }
    if (value.dtype === b.dtype) b.assign(value);
    else tidy(() => b.assign(cast(value, b.dtype)));
  }

  /** Child modules registered directly on this module, with their names. */
  namedChildren(): Array<[string, Module]> {
    return [...this._modules];
  }

  /** Child modules registered directly on this module. */
  children(): Module[] {
    return [...this._modules.values()];
  }

  /** This module and every descendant, with dotted names ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [n, c] of m._modules) visit(c, name ? `${name}.${n}` : n);
    };
    visit(this, prefix);
    return out;
  }

  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private collect(
    pick: (m: Module) => Iterable<[string, Variable]>,
    prefix: string,
  ): Array<[string, Variable]> {
    const out: Array<[string, Variable]> = [];
    const seen = new Set<Variable>();
    for (const [modName, m] of this.namedModules(prefix)) {
      for (const [n, v] of pick(m)) {
        if (seen.has(v)) continue;
        seen.add(v);
        out.push([modName ? `${modName}.${n}` : n, v]);
      }
    }
    return out;
  }

  /** Every parameter with its dotted name (`layer1.0.conv1.weight`), each once. */
  namedParameters(prefix = ''): Array<[string, Parameter]> {
    return this.collect((m) => m._parameters, prefix);
  }

  /** Every parameter, each once, in registration order. */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer with its dotted name (`bn1.running_mean`). */
  namedBuffers(prefix = ''): Array<[string, Variable]> {
    return this.collect((m) => m._buffers, prefix);
  }

  /** Every buffer. */
  buffers(): Variable[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /**
   * Sets training mode on this module and, through their own `train`, every descendant;
   * returns this. As in PyTorch, a module that overrides `train` decides for its subtree
   * (fine-tuning keeps frozen BatchNorm layers in eval mode this way).
   */
  train(mode = true): this {
    this.training = mode;
    for (const child of this._modules.values()) child.train(mode);
    return this;
  }

  /** Sets evaluation mode (`train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Marks every parameter trainable or frozen, as `requires_grad_`; returns this. */
  requiresGrad(flag = true): this {
    for (const p of this.parameters()) p.trainable = flag;
    return this;
  }

  /** Calls `fn` on every module, children first as PyTorch's `apply`; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this._modules.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /** The computation; subclasses implement it. */
  forward(..._inputs: unknown[]): unknown {
    throw new ResnetError(`${this.typeName} does not implement forward()`);
  }

  /** Number of parameter elements (only trainable ones when `trainableOnly`). */
  numParameters({ trainableOnly = false } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.trainable) n += p.size;
    return n;
  }

  /** The part inside the parentheses of this module's line in `toString()`. */
  extraRepr(): string {
    return '';
  }

  /** A tree like PyTorch's module repr, each line ending with its parameter count. */
  toString(): string {
    const count = (n: number) => `# ${n.toLocaleString('en-US')} params`;
    if (this._modules.size === 0) {
      return `${this.typeName}(${this.extraRepr()})  ${count(this.numParameters())}`;
    }
    // As in PyTorch, a module with children shows its own settings on the first inner line.
    const lines = [`${this.typeName}(  ${count(this.numParameters())}`];
    const extra = this.extraRepr();
    if (extra) lines.push(`  ${extra}`);
    for (const [name, child] of this._modules) {
      const body = child.toString().split('\n').join('\n  ');
      lines.push(`  (${name}): ${body}`);
    }
    lines.push(')');
    return lines.join('\n');
  }

  /**
   * Parameters and persistent buffers by dotted name, as `state_dict()`. The tensors are
   * the module's own variables, not copies: read them, do not dispose them.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [modName, m] of this.namedModules()) {
      const prefix = modName ? `${modName}.` : '';
      for (const [n, p] of m._parameters) out[prefix + n] ??= p;
      for (const [n, b] of m._buffers) if (!m._nonPersistent.has(n)) out[prefix + n] ??= b;
    }
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers, as PyTorch's
   * `load_state_dict`. Shape mismatches always throw; with `strict` (the default) missing
   * and unexpected keys throw too, all listed in one {@link StateDictError}. Nothing is
   * changed when it throws. Values are cast to the destination dtype (int64 buffers saved
   * by PyTorch arrive as int32). With a `transform`, entries may be in another layout or of
   * another type (see {@link StateDictTransform}); tensors passed in are never disposed.
   */
  loadStateDict(dict: StateDict, options?: { strict?: boolean }): LoadResult;
  loadStateDict<V extends Shaped>(
    dict: Readonly<Record<string, V>>,
    options: LoadStateDictOptions<V> & { transform: StateDictTransform<V> },
  ): LoadResult;
  loadStateDict<V extends Shaped>(
    dict: Readonly<Record<string, V>>,
    { strict = true, transform }: LoadStateDictOptions<V> = {},
  ): LoadResult {
    if (typeof dict !== 'object' || dict === null) {
      throw new ValueError(
        `${this.typeName}.loadStateDict: expected a record of tensors, got ${formatValue(dict)}`,
      );
    }
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !Object.hasOwn(own, k));
    const shapeMismatches: ShapeMismatch[] = [];
    for (const [k, t] of Object.entries(own)) {
      if (!Object.hasOwn(dict, k)) continue;
      const src = dict[k];
      if (transform ? !Array.isArray(src?.shape) : !isTensor(src)) {
        throw new ValueError(
          `${this.typeName}.loadStateDict: entry ${formatValue(k)} must be ${transform ? 'a value with a shape' : 'a tfjs Tensor'}, got ${formatValue(src)}`,
        );
      }
      const expected = transform?.sourceShape ? transform.sourceShape(k, t.shape) : [...t.shape];
      if (!sameShape(expected, src.shape)) {
        shapeMismatches.push({ key: k, expected, found: [...src.shape] });
      }
    }
    if (shapeMismatches.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(
        strict ? missingKeys : [],
        strict ? unexpectedKeys : [],
        shapeMismatches,
        this.typeName,
      );
    }
    const keys = Object.keys(own).filter((k) => Object.hasOwn(dict, k));
    const converted: Record<string, Tensor> = transform
      ? tidy(() => Object.fromEntries(keys.map((k) => [k, transform.toTensor(k, dict[k], own[k])])))
      : Object.fromEntries(keys.map((k) => [k, dict[k] as unknown as Tensor]));
    try {
      for (const k of keys) {
        if (!sameShape(converted[k].shape, own[k].shape)) {
          throw new ValueError(
            `${this.typeName}.loadStateDict: the transform made ${formatValue(k)} of shape ${formatValue(converted[k].shape)}; expected ${formatValue(own[k].shape)}`,
          );
        }
      }
      tidy(() => {
        for (const k of keys) {
          const t = own[k] as Variable;
          const src = converted[k];
          t.assign(src.dtype === t.dtype ? src : cast(src, t.dtype));
        }
      });
    } finally {
      if (transform) {
        dispose(keys.map((k) => converted[k]).filter((t, i) => t !== (dict[keys[i]] as unknown)));
      }
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      dispose([...m._parameters.values(), ...m._buffers.values()]);
      m._parameters.clear();
      m._buffers.clear();
    }
  }
}

import { formatValue, type Module, ValueError } from '@resnet-ts/core';
import * as tf from '@tensorflow/tfjs-core';

/** One module's line in a {@link ModelSummary}, in the order the forward pass reached it. */
export interface SummaryRow {
  /** Dotted path from the model (`layer1.0.conv1`); '' for the model itself. */
  path: string;
  /** The module's class name. */
  type: string;
  /** Nesting depth: 0 for the model, 1 for its children, … */
  depth: number;
  /** Shape of the module's output (of the first output when it returns several). */
  outputShape: number[];
  /** Parameters of the module and its descendants. */
  numParameters: number;
  /** Trainable parameters of the module and its descendants. */
  numTrainable: number;
}

/** What {@link summary} measured: the rows and the totals, printable with `toString()`. */
export interface ModelSummary {
  /** Input shape the forward pass ran with. */
  inputShape: number[];
  /** Modules reached by the forward pass, outermost first within each call. */
  rows: SummaryRow[];
  /** Every parameter element of the model. */
  totalParameters: number;
  /** Trainable parameter elements. */
  trainableParameters: number;
  /** Frozen parameter elements. */
  nonTrainableParameters: number;
  /** Persistent-or-not buffer elements (BatchNorm running statistics and counters). */
  bufferElements: number;
  /** Megabytes of parameters and buffers at 4 bytes per element. */
  stateSizeMB: number;
  /** The torchinfo-style table. */
  toString(): string;
}

function firstShape(out: unknown): number[] {
  if (out instanceof tf.Tensor) return [...out.shape];
  if (Array.isArray(out) && out[0] instanceof tf.Tensor) return [...out[0].shape];
  return [];
}

/**
 * A table of the modules a forward pass goes through, with their output shapes and
 * parameter counts, like torchinfo's `summary(model, input_size)`. `inputShape` is the full
 * NHWC input shape including the batch, e.g. `[1, 32, 32, 3]`.
 *
 * It runs one forward pass on zeros in eval mode, so BatchNorm running statistics are left
 * alone, and restores every module's mode afterwards; no tensor outlives the call.
 */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  if (!inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ValueError(
      `summary: inputShape must be positive integers such as [1, 32, 32, 3], got ${formatValue(inputShape)}`,
    );
  }
  const named = model.namedModules();
  const rows: SummaryRow[] = [];
  const modes = named.map(([, m]) => m.training);
  const originals: Array<[Module, unknown]> = [];
  // Wrapping each module's own `forward` captures outputs without hooks in Module; a row is
  // reserved before the call so parents precede their children, as torchinfo lists them.
  for (const [path, m] of named) {
    const own = Object.hasOwn(m, 'forward') ? (m as { forward: unknown }).forward : undefined;
    originals.push([m, own]);
    const inner = m.forward;
    m.forward = (...args: unknown[]) => {
      const row: SummaryRow = {
        path,
        type: m.typeName,
        depth: path === '' ? 0 : path.split('.').length,
        outputShape: [],
        numParameters: m.numParameters(),
        numTrainable: m.numParameters({ trainableOnly: true }),
      };
      rows.push(row);
      const out = inner.apply(m, args);
      row.outputShape = firstShape(out);
      return out;
    };
  }
  try {
    model.eval();
    tf.tidy(() => {
      model.forward(tf.zeros([...inputShape]));
    });
  } finally {
    for (const [m, own] of originals) {
      if (own === undefined) delete (m as { forward?: unknown }).forward;
      else (m as { forward: unknown }).forward = own;
    }
    named.forEach(([, m], i) => {
      m.training = modes[i];
    });
  }
  const totalParameters = model.numParameters();
  const trainableParameters = model.numParameters({ trainableOnly: true });
  const bufferElements = model.buffers().reduce((n, b) => n + b.size, 0);
  const result: ModelSummary = {
    inputShape: [...inputShape],
    rows,
    totalParameters,
    trainableParameters,
    nonTrainableParameters: totalParameters - trainableParameters,
    bufferElements,
    stateSizeMB: ((totalParameters + bufferElements) * 4) / 1e6,
    toString: () => formatSummary(result),
  };
  return result;
}

const fmt = (n: number) => n.toLocaleString('en-US');

function formatSummary(s: ModelSummary): string {
  const header = ['Layer (type)', 'Output Shape', 'Param #'];
  const body = s.rows.map((r) => [
    r.path === '' ? r.type : `${'  '.repeat(r.depth)}${r.path.split('.').pop()} (${r.type})`,
    formatValue(r.outputShape),
    fmt(r.numParameters),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('   ')
      .trimEnd();
  const rule = (ch: string) =>
    ch.repeat(widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1));
  return [
    rule('='),
    line(header),
    rule('='),
    ...body.map(line),
    rule('='),
    `Input shape: ${formatValue(s.inputShape)}`,
    `Total params: ${fmt(s.totalParameters)}`,
    `Trainable params: ${fmt(s.trainableParameters)}`,
    `Non-trainable params: ${fmt(s.nonTrainableParameters)}`,
    `Buffer elements: ${fmt(s.bufferElements)}`,
    `Params + buffers size (MB): ${s.stateSizeMB.toFixed(2)}`,
    rule('='),
  ].join('\n');
}

/** The base class of every error resnet-ts throws on purpose. */
export class ResnetError extends Error {
  override name = 'ResnetError';
}

/** Thrown when a value passed to the library is not what it expected. */
export class ValueError extends ResnetError {
  override name = 'ValueError';
}

/** The longest message {@link capMessage} lets through: a hostile file cannot flood a log. */
export const MAX_MESSAGE_LENGTH = 300;

/**
 * Thrown when a file's content does not have the expected format. The message starts with
 * the file and the field path (`run.json: dataset.mean[2]: expected ...`) and is capped.
 */
export class FileFormatError extends ValueError {
  override name = 'FileFormatError';
  /** The file that was read, when known. */
  readonly file?: string;
  /** The dotted path of the offending field (`dataset.classes[3]`), when known. */
  readonly field?: string;

  constructor(message: string, { file, field }: { file?: string; field?: string } = {}) {
    const where = [file, field].filter((s) => s !== undefined && s !== '').join(': ');
    super(capMessage(where ? `${where}: ${message}` : message));
    this.file = file;
    this.field = field;
  }
}

/** `text` on one line of at most `max` characters, the cut marked with an ellipsis. */
export function capMessage(text: string, max = MAX_MESSAGE_LENGTH): string {
  const line = text.length > 4 * max ? text.slice(0, 4 * max) : text;
  const safe = sanitizeForTerminal(line.replace(/\r?\n/g, ' '));
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

/**
 * `text` with every C0 and C1 control character and DEL written as `\x1b`-style text, so
 * that names and labels read from a file cannot move the cursor, clear the screen or set a
 * window title when printed.
 */
export function sanitizeForTerminal(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** How long {@link formatValue}'s rendering of a value may get. */
const MAX_VALUE_LENGTH = 200;

/** A container whose rendering has begun: the next element or entry to write. */
type Pending =
  | { list: ArrayLike<unknown>; at: number }
  | { entries: Iterator<[string, unknown]>; first: boolean };

function* ownEntries(object: object): Generator<[string, unknown]> {
  for (const key in object) {
    if (Object.hasOwn(object, key)) yield [key, (object as Record<string, unknown>)[key]];
  }
}

function isList(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function leaf(value: unknown, budget: number): string {
  if (typeof value === 'string') {
    const head = value.length > budget ? value.slice(0, budget) : value;
    const quoted = JSON.stringify(head);
    return value.length > budget ? `${quoted.slice(0, -1)}…"` : quoted;
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  return String(value);
}

/**
 * Renders a value for an error message: shapes as `[8,16,16,32]`, strings quoted, objects
 * as JSON-like text. The result is at most ~200 characters (the cut marked with `…`),
 * control characters are escaped, and the walk is iterative and stops at the budget, so a
 * deeply nested or huge value from a hostile file costs neither stack nor memory.
 */
export function formatValue(
  value: unknown,
  { maxLength = MAX_VALUE_LENGTH }: { maxLength?: number } = {},
): string {
  let out = '';
  const seen = new Set<object>();
  const stack: Pending[] = [];
  let next: unknown = value;
  let hasNext = true;
  while (out.length <= maxLength) {
    if (hasNext) {
      hasNext = false;
      const v = next;
      if (isList(v)) {
        if (seen.has(v as object)) out += '[Circular]';
        else {
          seen.add(v as object);
          out += '[';
          stack.push({ list: v, at: 0 });
        }
      } else if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) out += '[Circular]';
        else {
          seen.add(v);
          out += '{';
          stack.push({ entries: ownEntries(v), first: true });
        }
      } else out += leaf(v, maxLength - out.length + 1);
      continue;
    }
    const top = stack.at(-1);
    if (!top) break;
    if ('list' in top) {
      if (top.at >= top.list.length) {
        stack.pop();
        out += ']';
      } else {
        if (top.at > 0) out += ',';
        next = top.list[top.at++];
        hasNext = true;
      }
    } else {
      const step = top.entries.next();
      if (step.done) {
        stack.pop();
        out += '}';
      } else {
        if (!top.first) out += ',';
        top.first = false;
        out += `${leaf(step.value[0], maxLength)}:`;
        next = step.value[1];
        hasNext = true;
      }
    }
  }
  const complete = !hasNext && stack.length === 0 && out.length <= maxLength;
  const text = complete ? out : `${out.slice(0, maxLength - 1)}…`;
  return sanitizeForTerminal(text);
}

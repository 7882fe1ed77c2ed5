import { type BaseIssue, type GenericSchema, safeParse } from 'valibot';
import { FileFormatError, formatValue } from './errors.js';
import { checkJsonLimits, DEFAULT_JSON_LIMITS, type JsonLimits } from './json-limits.js';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The issue's place in the value as `dataset.classes[3]` ('' for the value itself). */
function fieldPath(issue: BaseIssue<unknown>): string {
  let out = '';
  for (const item of issue.path ?? []) {
    const key = item.key;
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out ? `.${key}` : key;
    else out += `[${formatValue(key, { maxLength: 60 })}]`;
  }
  return out;
}

/** What was expected at the issue: valibot's `expected` (`"number"`, `>=0`) or its message. */
function expectation(issue: BaseIssue<unknown>): string {
  // A union's own issue says only "expected (A | B)"; its first branch's issue says where.
  if (issue.expected !== null) return `expected ${issue.expected}`;
  return issue.message;
}

/**
 * `value` checked against a valibot schema and returned as the schema's output. A mismatch
 * throws a {@link FileFormatError} "FILE: FIELD.PATH: expected ..., got ..." naming the
 * first offending field, in at most a few hundred characters.
 */
export function validate<T>(schema: GenericSchema<unknown, T>, value: unknown, file: string): T {
  const result = safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const field = fieldPath(issue);
  // valibot reports a missing key as the key expected where `undefined` was found.
  const missing = issue.input === undefined && issue.kind === 'schema' && issue.type === 'object';
  const message = missing ? 'missing' : `${expectation(issue)}, got ${formatValue(issue.input)}`;
  throw new FileFormatError(message, { file, field });
}

/**
 * Parses JSON text read from `file` and validates it with `schema` (see {@link validate}).
 * Nesting depth (128), member count, array and string lengths and repeated keys are checked
 * by a linear scan before `JSON.parse` runs, so hostile text fails with a
 * {@link FileFormatError} rather than exhausting the stack or the heap.
 */
export function parseJson<T>(
  schema: GenericSchema<unknown, T>,
  text: string,
  file: string,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
): T {
  if (typeof text !== 'string') {
    throw new FileFormatError(`expected JSON text, got ${formatValue(text)}`, { file });
  }
  checkJsonLimits(
    new TextEncoder().encode(text),
    (problem) => {
      throw new FileFormatError(`refused: ${problem}`, { file });
    },
    limits,
  );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(`not valid JSON (${(e as Error).message})`, { file });
  }
  return validate(schema, value, file);
}

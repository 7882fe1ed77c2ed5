import { formatValue } from './errors.js';

/** Bounds that {@link checkJsonLimits} holds a JSON text to before anything parses it. */
export interface JsonLimits {
  /** Deepest nesting of objects and arrays; the safetensors reference implementation uses 128. */
  maxDepth: number;
  /** Most object members in the whole text. */
  maxMembers: number;
  /** Most elements in one array. */
  maxArrayLength: number;
  /** Longest object key, in UTF-8 bytes as written (escapes included). */
  maxKeyBytes: number;
  /** Longest string value, in UTF-8 bytes as written (escapes included). */
  maxStringBytes: number;
}

/** Limits generous for any configuration or metadata file this project reads. */
export const DEFAULT_JSON_LIMITS: JsonLimits = {
  maxDepth: 128,
  maxMembers: 200_000,
  maxArrayLength: 1_000_000,
  maxKeyBytes: 4096,
  maxStringBytes: 16 * 1024 * 1024,
};

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function decodeKey(bytes: Uint8Array, begin: number, end: number): string {
  const raw = new TextDecoder().decode(bytes.subarray(begin, end));
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/**
 * Walks a JSON text once, in linear time and constant stack, and calls `fail` with a short
 * description at the first place that exceeds `limits` or repeats a key within one object
 * (`JSON.parse` would silently keep the last). Syntax is left to `JSON.parse`, which runs
 * after this and is then safe: its recursion and allocations are bounded by the limits.
 */
export function checkJsonLimits(
  bytes: Uint8Array,
  fail: (problem: string) => never,
  limits: JsonLimits = DEFAULT_JSON_LIMITS,
): void {
  const { maxDepth, maxMembers, maxArrayLength, maxKeyBytes, maxStringBytes } = limits;
  // Per open container: whether it is an object, its keys so far, its element count.
  const isObject = new Uint8Array(maxDepth + 2);
  const keys: Array<Set<string> | undefined> = new Array(maxDepth + 2);
  const elements = new Float64Array(maxDepth + 2);
  let depth = 0;
  let members = 0;
  let keyNext = false;
  let emptyArray = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) {
      const isKey = keyNext;
      keyNext = false;
      const begin = i + 1;
      let j = begin;
      while (j < bytes.length && bytes[j] !== QUOTE) j += bytes[j] === BACKSLASH ? 2 : 1;
      const length = j - begin;
      if (isKey) {
        if (length > maxKeyBytes) {
          fail(
            `an object key at byte ${begin} is ${length} bytes long; the limit is ${maxKeyBytes}`,
          );
        }
        if (++members > maxMembers) {
          fail(`more than ${maxMembers} object members; the limit is ${maxMembers}`);
        }
        const key = decodeKey(bytes, begin, Math.min(j, bytes.length));
        const seen = keys[depth];
        if (seen?.has(key)) fail(`key ${formatValue(key)} appears twice in one object`);
        seen?.add(key);
      } else if (length > maxStringBytes) {
        fail(`a string at byte ${begin} is ${length} bytes long; the limit is ${maxStringBytes}`);
      }
      if (emptyArray) emptyArray = false;
      i = j;
      continue;
    }
    if (SPACE.has(b)) continue;
    if (emptyArray && b !== CLOSE_ARRAY) {
      emptyArray = false;
    }
    if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      depth++;
      if (depth > maxDepth) fail(`JSON nesting is deeper than ${maxDepth} levels`);
      const object = b === OPEN_OBJECT;
      isObject[depth] = object ? 1 : 0;
      keys[depth] = object ? new Set() : undefined;
      elements[depth] = 0;
      keyNext = object;
      emptyArray = !object;
      continue;
    }
    if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (depth > 0) {
        if (!isObject[depth] && !emptyArray) countElement(depth);
        keys[depth] = undefined;
        depth--;
      }
      emptyArray = false;
      keyNext = false;
      continue;
    }
    if (b === COMMA && depth > 0) {
      if (isObject[depth]) keyNext = true;
      else countElement(depth);
    }
  }

  function countElement(at: number): void {
    elements[at]++;
    if (elements[at] > maxArrayLength) {
      fail(`an array has more than ${maxArrayLength} elements; the limit is ${maxArrayLength}`);
    }
  }
}

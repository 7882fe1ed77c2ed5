import { describe, expect, it } from 'vitest';
import {
  capMessage,
  FileFormatError,
  formatValue,
  sanitizeForTerminal,
  ValueError,
} from './index.js';

describe('formatValue', () => {
  it('renders shapes, strings and objects as error messages show them', () => {
    expect(formatValue([8, 16, 16, 32])).toBe('[8,16,16,32]');
    expect(formatValue('conv1.weight')).toBe('"conv1.weight"');
    expect(formatValue({ a: 1, b: [2, 'x'], c: null })).toBe('{"a":1,"b":[2,"x"],"c":null}');
    expect(formatValue(null)).toBe('null');
    expect(formatValue(undefined)).toBe('undefined');
    expect(formatValue(3n)).toBe('3n');
    expect(formatValue(new Int32Array([1, -2]))).toBe('[1,-2]');
    expect(formatValue([])).toBe('[]');
    expect(formatValue({})).toBe('{}');
  });

  it('can be passed straight to map', () => {
    // map passes the index as a second argument; it must not become a length limit.
    expect([[1, 2, 3]].map(formatValue as (v: unknown) => string)).toEqual(['[1,2,3]']);
  });

  it('cuts a huge value at 200 characters without walking all of it', () => {
    const huge = new Array(5_000_000).fill(1);
    const text = formatValue(huge);
    expect(text).toHaveLength(200);
    expect(text.startsWith('[1,1,1')).toBe(true);
    expect(text.endsWith('…')).toBe(true);
    const long = formatValue('x'.repeat(10_000_000));
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long.startsWith('"xxx')).toBe(true);
    expect(formatValue([1, 2, 3], { maxLength: 4 })).toBe('[1,…');
  });

  it('renders a value nested 100,000 deep without recursion', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const text = formatValue(deep);
    expect(text.length).toBeLessThanOrEqual(200);
    expect(text.startsWith('[[[[')).toBe(true);
    let object: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) object = { a: object };
    expect(formatValue(object).startsWith('{"a":{"a":')).toBe(true);
  });

  it('marks cycles instead of looping', () => {
    const a: unknown[] = [1];
    a.push(a);
    expect(formatValue(a)).toBe('[1,[Circular]]');
  });

  it('escapes control characters a file could use to drive a terminal', () => {
    expect(formatValue('\u001b[2Jcat\u009b')).toBe('"\\u001b[2Jcat\\x9b"');
  });
});

describe('sanitizeForTerminal', () => {
  it('writes C0, DEL and C1 characters as \\x escapes and keeps the rest', () => {
    expect(sanitizeForTerminal('\u001b]0;owned\u0007cat')).toBe('\\x1b]0;owned\\x07cat');
    expect(sanitizeForTerminal('a\nb\tc\u007fd\u0085e')).toBe('a\\x0ab\\x09c\\x7fd\\x85e');
    expect(sanitizeForTerminal('chat ñ 猫 🐈')).toBe('chat ñ 猫 🐈');
  });
});

describe('FileFormatError', () => {
  it('names the file and the field, and caps the message at one short line', () => {
    const e = new FileFormatError(`expected number, got ${'9'.repeat(10_000)}\nsecond line`, {
      file: 'run.json',
      field: 'dataset.mean[2]',
    });
    expect(e).toBeInstanceOf(ValueError);
    expect(e.name).toBe('FileFormatError');
    expect(e.file).toBe('run.json');
    expect(e.field).toBe('dataset.mean[2]');
    expect(e.message.startsWith('run.json: dataset.mean[2]: expected number, got 999')).toBe(true);
    expect(e.message.length).toBeLessThanOrEqual(300);
    expect(e.message).not.toContain('\n');
  });

  it('capMessage leaves short text alone', () => {
    expect(capMessage('short')).toBe('short');
    expect(capMessage('a\nb')).toBe('a b');
  });
});

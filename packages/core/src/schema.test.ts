import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JSON_LIMITS, FileFormatError, parseJson, validate } from './index.js';

const Run = v.object({
  latest: v.string(),
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
  dataset: v.object({ name: v.string(), mean: v.array(v.number()) }),
});

function thrown(fn: () => unknown): FileFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FileFormatError);
    return e as FileFormatError;
  }
  throw new Error('expected a FileFormatError');
}

const good = {
  latest: 'checkpoints/epoch-1',
  epoch: 1,
  dataset: { name: 'mnist', mean: [0.1307] },
};

describe('validate and parseJson', () => {
  it('return the value when it matches the schema', () => {
    expect(validate(Run, good, 'run.json')).toEqual(good);
    expect(parseJson(Run, JSON.stringify(good), 'run.json')).toEqual(good);
  });

  it('name the file, the field path, what was expected and what was found', () => {
    const bad = { ...good, dataset: { name: 'mnist', mean: [0.1, 'x'] } };
    const e = thrown(() => validate(Run, bad, 'runs/a/run.json'));
    expect(e.message).toBe('runs/a/run.json: dataset.mean[1]: expected number, got "x"');
    expect(e.file).toBe('runs/a/run.json');
    expect(e.field).toBe('dataset.mean[1]');
    expect(thrown(() => validate(Run, { ...good, epoch: -1 }, 'f')).message).toBe(
      'f: epoch: expected >=0, got -1',
    );
    expect(thrown(() => validate(Run, null, 'checkpoint.json')).message).toBe(
      'checkpoint.json: expected Object, got null',
    );
    expect(thrown(() => validate(Run, {}, 'run.json')).message).toMatch(
      /^run\.json: latest: missing$/,
    );
  });

  it('cap the message when the offending value is huge', () => {
    const e = thrown(() => validate(Run, { ...good, latest: new Array(1e6).fill(7) }, 'run.json'));
    expect(e.message.startsWith('run.json: latest: expected string, got [7,7,7,')).toBe(true);
    expect(e.message.length).toBeLessThanOrEqual(300);
  });

  it('refuse text that is not JSON, too deep, or with a repeated key, before parsing', () => {
    expect(thrown(() => parseJson(Run, '{"latest":', 'a.json')).message).toMatch(
      /^a\.json: not valid JSON/,
    );
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(thrown(() => parseJson(Run, deep, 'a.json')).message).toBe(
      'a.json: refused: JSON nesting is deeper than 128 levels',
    );
    const nested = `${'['.repeat(128)}${']'.repeat(128)}`;
    expect(thrown(() => parseJson(Run, nested, 'a.json')).message).toBe('a.json: latest: missing');
    expect(thrown(() => parseJson(Run, '{"epoch":1,"epoch":2}', 'a.json')).message).toBe(
      'a.json: refused: key "epoch" appears twice in one object',
    );
    const wide = `[${'0,'.repeat(20)}0]`;
    expect(
      thrown(() => parseJson(Run, wide, 'a.json', { ...DEFAULT_JSON_LIMITS, maxArrayLength: 20 }))
        .message,
    ).toBe('a.json: refused: an array has more than 20 elements; the limit is 20');
  });
});

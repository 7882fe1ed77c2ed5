import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('.', import.meta.url));

/** Source files reachable from the main entry: everything outside node/ and the tests. */
function mainEntryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return ['node', 'testing', '__fixtures__'].includes(e.name) ? [] : mainEntryFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('@resnet-ts/data main entry', () => {
  it('imports no Node built-ins and nothing from node/, so browsers can bundle it', () => {
    const files = mainEntryFiles(src);
    expect(files.length).toBeGreaterThan(10);
    const nodeOnly = /['"](node:[\w/]+|fs|path|zlib|crypto|tar|(\.\.?\/)+node\/[\w.-]+)['"]/;
    const offenders = files.filter((f) => nodeOnly.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(src, f))).toEqual([]);
  });

  it('does not import @resnet-ts/layers', () => {
    const all = [...mainEntryFiles(src), ...mainEntryFiles(join(src, 'node'))];
    expect(all.filter((f) => readFileSync(f, 'utf8').includes('@resnet-ts/layers'))).toEqual([]);
  });
});

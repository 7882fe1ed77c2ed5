import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES } from './safetensors.js';

// Each hostile file is read by a separate node process, so that a case that recursed, hung
// or allocated without bound would show as a crash, a kill or a large peak RSS, rather than
// taking the test runner down with it.

const PEAK_RSS_LIMIT_KB = 512 * 1024;
/**
 * Linux keeps a process's peak RSS across exec, so a node forked straight from this test
 * worker would report the worker's own size. A shell in between (which forks again rather
 * than exec, thanks to the `exit`) gives the reader a fresh count.
 */
const SHELL_THEN_NODE = '"$0" "$@"; exit $?';
/** A case still running after this is killed and fails: a FIFO must not make us wait. */
const CHILD_TIMEOUT_MS = 60_000;

let dir: string;
let reader: string;
const measured: Array<{ name: string; maxRssKb: number; ms: number }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-hostile-'));
  // Bundled next to node_modules so the child resolves tfjs and valibot as the package does.
  reader = fileURLToPath(
    new URL('../node_modules/.cache/hostile-input/reader.mjs', import.meta.url),
  );
  await build({
    entryPoints: [fileURLToPath(new URL('./testing/hostile-reader.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: reader,
    logLevel: 'silent',
  });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  const worst = (key: 'maxRssKb' | 'ms') => measured.reduce((a, b) => (b[key] > a[key] ? b : a));
  if (measured.length) {
    const rss = worst('maxRssKb');
    const time = worst('ms');
    for (const m of measured)
      console.log(`${m.name}: ${(m.maxRssKb / 1024).toFixed(0)} MB, ${m.ms.toFixed(0)} ms`);
    console.log(
      `hostile input: ${measured.length} cases; worst peak RSS ${(rss.maxRssKb / 1024).toFixed(0)} MB (${rss.name}), worst time ${time.ms.toFixed(0)} ms (${time.name})`,
    );
  }
});

/** A safetensors file from raw header text and data, with a matching size field. */
function safetensorsBytes(header: string | Uint8Array, data: Uint8Array = new Uint8Array()) {
  const text = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** `count` copies of `unit` as one byte array, without building a JS string that long. */
function repeat(unit: string, count: number): Uint8Array {
  const bytes = new TextEncoder().encode(unit);
  const out = new Uint8Array(bytes.length * count);
  for (let i = 0; i < count; i++) out.set(bytes, i * bytes.length);
  return out;
}

function concat(...parts: Array<string | Uint8Array>): Uint8Array {
  const arrays = parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function write(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Runs the reader on `path` and checks the outcome every hostile case must have: a
 * non-zero exit, one line on stderr naming a project error type, a capped message, peak
 * RSS below 512 MB, and no kill by the timeout. Returns the message.
 */
function expectRefused(
  name: string,
  kind: 'safetensors' | 'json',
  path: string,
  errorName: 'SafetensorsError' | 'FileFormatError',
  maxBytes?: number,
): string {
  const started = performance.now();
  const child = spawnSync(
    '/bin/sh',
    [
      '-c',
      SHELL_THEN_NODE,
      process.execPath,
      reader,
      kind,
      path,
      ...(maxBytes === undefined ? [] : [String(maxBytes)]),
    ],
    { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, maxBuffer: 1024 * 1024 },
  );
  const ms = performance.now() - started;
  expect(child.signal, `${name} was killed`).toBeNull();
  expect(child.status).toBe(1);
  const lines = child.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  const [line] = lines;
  expect(line.startsWith(`${errorName}: `), line.slice(0, 400)).toBe(true);
  expect(line.length).toBeLessThanOrEqual(errorName.length + 2 + 300);
  const { maxRSS } = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { maxRSS: number };
  expect(maxRSS).toBeLessThan(PEAK_RSS_LIMIT_KB);
  measured.push({ name, maxRssKb: maxRSS, ms });
  return line;
}

const entry = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
const fourBytes = new Uint8Array(4);

// FIFOs, /dev/zero and /bin/sh are POSIX; the readers' Windows behaviour is not covered here.
const posix = describe.skipIf(process.platform === 'win32');

posix('hostile safetensors files, each read in a child process', () => {
  it('reads a valid file in the child (the harness itself works)', () => {
    const path = write('ok.safetensors', safetensorsBytes(`{"a":${entry}}`, fourBytes));
    const child = spawnSync(
      '/bin/sh',
      ['-c', SHELL_THEN_NODE, process.execPath, reader, 'safetensors', path],
      {
        encoding: 'utf8',
      },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.split('\n')[0]).toBe('ok');
  });

  it('40 KB of nested arrays: refused before JSON.parse, no stack overflow', () => {
    const header = concat('{"a":', repeat('[', 20_000), repeat(']', 20_000), '}');
    const line = expectRefused(
      'nesting 40 KB',
      'safetensors',
      write('deep.st', safetensorsBytes(header)),
      'SafetensorsError',
    );
    expect(line).toMatch(/nesting is deeper than 128 levels/);
  });

  it('nesting that fills the 100 MB header limit', () => {
    const half = (MAX_HEADER_BYTES - 8) / 2;
    const header = concat('{"a":', repeat('[', half - 3), repeat(']', half - 3), '}');
    expect(header.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    const line = expectRefused(
      'nesting near the header limit',
      'safetensors',
      write('deeper.st', safetensorsBytes(header)),
      'SafetensorsError',
    );
    expect(line).toMatch(/nesting is deeper than 128 levels/);
  });

  it('millions of metadata keys (the 7 M-key attack, scaled to 1 M)', () => {
    const keys = new Uint8Array(1_000_000 * 14);
    const encoder = new TextEncoder();
    let at = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const item = encoder.encode(`${i ? ',' : ''}"k${i}":""`);
      keys.set(item, at);
      at += item.length;
    }
    const header = concat('{"__metadata__":{', keys.subarray(0, at), '}}');
    const line = expectRefused(
      '1 M metadata keys',
      'safetensors',
      write('keys.st', safetensorsBytes(header)),
      'SafetensorsError',
    );
    expect(line).toMatch(/more than 200000 object members/);
  });

  it('a 10 MB shape array: refused, and the message stays short', () => {
    const header = concat(
      '{"a":{"dtype":"F32","shape":[',
      repeat('1,', 5_000_000),
      '1],"data_offsets":[0,4]}}',
    );
    const line = expectRefused(
      '10 MB shape',
      'safetensors',
      write('shape.st', safetensorsBytes(header, fourBytes)),
      'SafetensorsError',
    );
    expect(line).toMatch(/more than 1024 elements/);
  });

  it('a shape of huge numbers within the array limit: the message is capped', () => {
    const shape = Array.from({ length: 1000 }, () => '1e300').join(',');
    const header = `{"a":{"dtype":"F32","shape":[${shape}],"data_offsets":[0,4]}}`;
    const line = expectRefused(
      '1000 huge dimensions',
      'safetensors',
      write('huge.st', safetensorsBytes(header, fourBytes)),
      'SafetensorsError',
    );
    expect(line).toMatch(/tensor "a": shape must be an array of non-negative integers/);
    expect(line).toMatch(/…/);
  });

  it('a 10 MB tensor name', () => {
    const header = concat('{"', repeat('x', 10_000_000), `":${entry}}`);
    const line = expectRefused(
      '10 MB name',
      'safetensors',
      write('name.st', safetensorsBytes(header, fourBytes)),
      'SafetensorsError',
    );
    expect(line).toMatch(/object key .* is 10000000 bytes long; the limit is 4096/);
  });

  it('a duplicate tensor name (JSON.parse would keep the last silently)', () => {
    const header = `{"a":${entry},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":${entry}}`;
    const line = expectRefused(
      'duplicate tensor',
      'safetensors',
      write('dup.st', safetensorsBytes(header, new Uint8Array(8))),
      'SafetensorsError',
    );
    expect(line).toMatch(/key "a" appears twice/);
  });

  it('a duplicate name written with an escape', () => {
    const header = `{"ab":${entry},"a\\u0062":${entry}}`;
    const line = expectRefused(
      'escaped duplicate',
      'safetensors',
      write('dup2.st', safetensorsBytes(header, fourBytes)),
      'SafetensorsError',
    );
    expect(line).toMatch(/key "ab" appears twice/);
  });

  it('an F64 value beyond float32, named with its tensor', () => {
    const data = new Uint8Array(new Float64Array([1, 1e300]).buffer);
    const header = '{"big":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}';
    const line = expectRefused(
      'F64 out of range',
      'safetensors',
      write('f64.st', safetensorsBytes(header, data)),
      'SafetensorsError',
    );
    expect(line).toMatch(/tensor "big": F64 value 1e\+300 at index 1 is beyond float32's range/);
  });

  it('a truncated file: the header promises more data than the file holds', () => {
    const header = '{"w":{"dtype":"F32","shape":[1000000],"data_offsets":[0,4000000]}}';
    const line = expectRefused(
      'truncated',
      'safetensors',
      write('cut.st', safetensorsBytes(header, new Uint8Array(10))),
      'SafetensorsError',
    );
    expect(line).toMatch(
      /tensor "w": data_offsets \[0,4000000\] out of range; expected begin <= end <= 10/,
    );
  });

  it('a size field far beyond the file', () => {
    const bytes = safetensorsBytes('{}');
    new DataView(bytes.buffer).setUint32(4, 1, true);
    const line = expectRefused(
      'size field 2^32',
      'safetensors',
      write('size.st', bytes),
      'SafetensorsError',
    );
    expect(line).toMatch(/exceeds the limit of 100000000 bytes/);
  });

  it('a file bigger than the caller allows', () => {
    const path = write('big.st', safetensorsBytes(`{"a":${entry}}`, fourBytes));
    const line = expectRefused('over maxBytes', 'safetensors', path, 'SafetensorsError', 16);
    expect(line).toMatch(/big\.st is 66 bytes, more than the 16-byte limit for a safetensors file/);
  });

  it('a FIFO: refused without opening it (opening one blocks)', () => {
    const path = join(dir, 'pipe.safetensors');
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    const line = expectRefused('FIFO', 'safetensors', path, 'SafetensorsError');
    expect(line).toMatch(/is a FIFO \(named pipe\); expected a regular safetensors file/);
  });

  it('a symlink to /dev/zero: refused, not read forever', () => {
    const path = join(dir, 'zero.safetensors');
    symlinkSync('/dev/zero', path);
    const line = expectRefused('symlink to /dev/zero', 'safetensors', path, 'SafetensorsError');
    expect(line).toMatch(/is a character device \(through a symbolic link\)/);
  });

  it('a directory', () => {
    const path = join(dir, 'folder.safetensors');
    mkdirSync(path);
    const line = expectRefused('directory', 'safetensors', path, 'SafetensorsError');
    expect(line).toMatch(/is a directory; expected a regular safetensors file/);
  });
});

posix('hostile JSON files, each read in a child process', () => {
  it('40 KB of nesting in a JSON file', () => {
    const path = write('deep.json', concat(repeat('[', 20_000), repeat(']', 20_000)));
    const line = expectRefused('JSON nesting 40 KB', 'json', path, 'FileFormatError');
    expect(line).toMatch(/deep\.json: refused: JSON nesting is deeper than 128 levels/);
  });

  it('a duplicate key', () => {
    const path = write('dup.json', '{"latest":"checkpoints/epoch-1","epoch":1,"latest":"../../x"}');
    const line = expectRefused('JSON duplicate key', 'json', path, 'FileFormatError');
    expect(line).toMatch(/key "latest" appears twice/);
  });

  it('null where an object is expected: the file and what was expected', () => {
    const line = expectRefused('JSON null', 'json', write('null.json', 'null'), 'FileFormatError');
    expect(line).toMatch(/null\.json: expected Object, got null/);
  });

  it('a field of the wrong type: the field path', () => {
    const path = write('epoch.json', `{"latest":"a","epoch":"${'9'.repeat(100_000)}"}`);
    const line = expectRefused('JSON wrong field', 'json', path, 'FileFormatError');
    expect(line).toMatch(/epoch\.json: epoch: expected number, got "9999/);
  });

  it('a /dev/zero symlink given as a JSON file', () => {
    const path = join(dir, 'zero.json');
    symlinkSync('/dev/zero', path);
    const line = expectRefused('JSON /dev/zero', 'json', path, 'FileFormatError');
    expect(line).toMatch(/character device/);
  });
});

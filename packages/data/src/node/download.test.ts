import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cifarBatch, idx } from '../testing/formats.js';
import { loadCifar10 } from './cifar10.js';
import { DownloadError, type DownloadProgress, download } from './download.js';
import { loadMnist } from './mnist.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Files served by path; `cut` paths promise more bytes than they send, then hang up. */
const files = new Map<string, Uint8Array>();
const cut = new Set<string>();
let server: Server;
let base: string;
const requests: string[] = [];

const mnistFiles: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': gzipSync(idx([4, 28, 28], new Uint8Array(4 * 784).fill(7))),
  'train-labels-idx1-ubyte.gz': gzipSync(idx([4], Uint8Array.from([0, 1, 2, 3]))),
  't10k-images-idx3-ubyte.gz': gzipSync(idx([2, 28, 28], new Uint8Array(2 * 784).fill(9))),
  't10k-labels-idx1-ubyte.gz': gzipSync(idx([2], Uint8Array.from([8, 9]))),
};
const mnistMd5 = Object.fromEntries(Object.entries(mnistFiles).map(([k, v]) => [k, md5(v)]));
let cifarArchive: Uint8Array;

beforeAll(async () => {
  const src = mkdtempSync(join(tmpdir(), 'resnet-ts-cifar-src-'));
  const folder = join(src, 'cifar-10-batches-bin');
  mkdirSync(folder);
  for (let i = 1; i <= 5; i++)
    writeFileSync(join(folder, `data_batch_${i}.bin`), cifarBatch([i], i).bytes);
  writeFileSync(join(folder, 'test_batch.bin'), cifarBatch([6, 7], 9).bytes);
  writeFileSync(
    join(folder, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n',
  );
  writeFileSync(join(folder, 'readme.html'), '<p>extra member</p>');
  await createTar({ gzip: true, file: join(src, 'c.tgz'), cwd: src }, ['cifar-10-batches-bin']);
  cifarArchive = new Uint8Array(
    await import('node:fs').then((fs) => fs.readFileSync(join(src, 'c.tgz'))),
  );

  for (const [name, bytes] of Object.entries(mnistFiles)) files.set(`/mnist/${name}`, bytes);
  files.set('/cifar/cifar-10-binary.tar.gz', cifarArchive);
  files.set('/cut/train-images-idx3-ubyte.gz', mnistFiles['train-images-idx3-ubyte.gz']);
  cut.add('/cut/train-images-idx3-ubyte.gz');
  files.set('/badtar/cifar-10-binary.tar.gz', gzipSync(new Uint8Array(2000).fill(65)));

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    if (cut.has(req.url ?? '')) {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-ts-dl-'));
  requests.length = 0;
});

describe('download', () => {
  it('fetches MNIST, verifies checksums, reports progress, and the loader reads it', async () => {
    const progress: DownloadProgress[] = [];
    const out = await download('mnist', dir, {
      baseUrl: `${base}/mnist/`,
      md5: mnistMd5,
      onProgress: (p) => progress.push(p),
    });
    expect(out).toBe(dir);
    expect(readdirSync(dir).sort()).toEqual(Object.keys(mnistFiles).sort());
    const last = progress.filter((p) => p.file === 't10k-labels-idx1-ubyte.gz').at(-1);
    expect(last?.received).toBe(mnistFiles['t10k-labels-idx1-ubyte.gz'].length);
    expect(last?.total).toBe(last?.received);
    const test = await loadMnist(dir, { train: false });
    expect(Array.from(test.labels)).toEqual([8, 9]);

    // A second call finds the intact files and fetches nothing.
    requests.length = 0;
    await download('mnist', dir, { baseUrl: `${base}/mnist/`, md5: mnistMd5 });
    expect(requests).toEqual([]);
  });

  it('rejects a checksum mismatch and leaves nothing behind', async () => {
    const wrong = { ...mnistMd5, 'train-images-idx3-ubyte.gz': '0'.repeat(32) };
    const attempt = download('mnist', dir, { baseUrl: `${base}/mnist/`, md5: wrong });
    await expect(attempt).rejects.toThrow(DownloadError);
    await expect(download('mnist', dir, { baseUrl: `${base}/mnist/`, md5: wrong })).rejects.toThrow(
      /train-images-idx3-ubyte\.gz: MD5 checksum [0-9a-f]{32} does not match the expected 0{32}/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('checks against the published MD5 values by default', async () => {
    await expect(download('mnist', dir, { baseUrl: `${base}/mnist/` })).rejects.toThrow(
      /does not match the expected f68b3c2dcbeaaa9fbdd348bbdeb94873/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a truncated transfer and leaves nothing half-written', async () => {
    await expect(
      download('mnist', dir, { baseUrl: `${base}/cut/`, md5: mnistMd5 }),
    ).rejects.toThrow(/\/cut\/train-images-idx3-ubyte\.gz: transfer cut off after \d+/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports HTTP errors with the address', async () => {
    await expect(download('mnist', dir, { baseUrl: `${base}/nothing/` })).rejects.toThrow(
      /\/nothing\/train-images-idx3-ubyte\.gz: HTTP 404/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fetches and extracts CIFAR-10, keeping only the expected members', async () => {
    await download('cifar10', dir, {
      baseUrl: `${base}/cifar`,
      md5: { 'cifar-10-binary.tar.gz': md5(cifarArchive) },
    });
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    expect(existsSync(join(dir, 'cifar-10-batches-bin', 'readme.html'))).toBe(false);
    const test = await loadCifar10(dir, { train: false });
    expect(Array.from(test.labels)).toEqual([6, 7]);
    expect((await loadCifar10(dir)).length).toBe(5);
    requests.length = 0;
    await download('cifar10', dir, { baseUrl: `${base}/cifar` });
    expect(requests).toEqual([]);
  });

  it('verifies extracted CIFAR-10 files and fetches again when one is damaged', async () => {
    const options = {
      baseUrl: `${base}/cifar`,
      md5: { 'cifar-10-binary.tar.gz': md5(cifarArchive) },
    };
    await download('cifar10', dir, options);
    const batch = join(dir, 'cifar-10-batches-bin', 'data_batch_3.bin');
    const intact = readFileSync(batch);
    writeFileSync(batch, intact.subarray(0, 100));
    requests.length = 0;
    await download('cifar10', dir, options);
    expect(requests).toEqual(['/cifar/cifar-10-binary.tar.gz']);
    expect(Buffer.compare(readFileSync(batch), intact)).toBe(0);
    // Files put there by hand (no record of their checksums) must at least have the official
    // sizes; these small test batches do not, so they are fetched again.
    rmSync(join(dir, 'cifar-10-batches-bin', '.resnet-ts-md5.json'));
    requests.length = 0;
    await download('cifar10', dir, options);
    expect(requests).toEqual(['/cifar/cifar-10-binary.tar.gz']);
  });

  it('a bad archive leaves no extracted folder', async () => {
    const bad = files.get('/badtar/cifar-10-binary.tar.gz')!;
    await expect(
      download('cifar10', dir, {
        baseUrl: `${base}/badtar`,
        md5: { 'cifar-10-binary.tar.gz': md5(bad) },
      }),
    ).rejects.toThrow(/cifar-10-binary\.tar\.gz: (could not extract|archive lacks)/);
    expect(readdirSync(dir).filter((f) => f !== 'cifar-10-binary.tar.gz')).toEqual([]);
  });

  it('names the datasets it knows', async () => {
    await expect(download('imagenet' as 'mnist', dir)).rejects.toThrow(
      /unknown dataset "imagenet", expected 'mnist' or 'cifar10'/,
    );
  });
});

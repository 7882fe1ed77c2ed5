import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatValue, ResnetError, ValueError } from '@resnet-ts/core';
import { x as extractTar } from 'tar';
import { CIFAR10_FOLDER } from './cifar10.js';

/** Datasets {@link download} knows. */
export type DownloadableDataset = 'mnist' | 'cifar10';

/** Progress of one file of a {@link download}. */
export interface DownloadProgress {
  file: string;
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total: number | undefined;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** Called as bytes arrive. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Fetch the files from this address instead of the official ones (a mirror). */
  baseUrl?: string;
  /** Expected MD5 per file name, replacing the published values (for a mirror's own files). */
  md5?: Record<string, string>;
}

/** Thrown when a download fails: HTTP error, cut-off transfer, checksum mismatch, bad archive. */
export class DownloadError extends ResnetError {
  override name = 'DownloadError';
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(`${url}: ${message}`);
  }
}

interface Resource {
  file: string;
  md5: string;
}

const RESOURCES: Record<DownloadableDataset, { mirrors: string[]; files: Resource[] }> = {
  mnist: {
    // yann.lecun.com often refuses downloads; torchvision tries its S3 copy first too.
    mirrors: [
      'https://ossci-datasets.s3.amazonaws.com/mnist/',
      'http://yann.lecun.com/exdb/mnist/',
    ],
    files: [
      { file: 'train-images-idx3-ubyte.gz', md5: 'f68b3c2dcbeaaa9fbdd348bbdeb94873' },
      { file: 'train-labels-idx1-ubyte.gz', md5: 'd53e105ee54ea40749a09fcbcd1e9432' },
      { file: 't10k-images-idx3-ubyte.gz', md5: '9fb629c4189551a2d022fa330f9573f3' },
      { file: 't10k-labels-idx1-ubyte.gz', md5: 'ec29112dd5afa0611ce80d1b7f02629c' },
    ],
  },
  cifar10: {
    mirrors: ['https://www.cs.toronto.edu/~kriz/'],
    files: [{ file: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' }],
  },
};

const CIFAR10_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
  'test_batch.bin',
  'batches.meta.txt',
];

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const tempName = (dir: string, name: string) =>
  join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.part`);

/** Streams `url` to `dest` through a temporary file, renamed into place once its MD5 matches. */
async function fetchVerified(
  url: string,
  dest: string,
  resource: Resource,
  onProgress: DownloadOptions['onProgress'],
): Promise<void> {
  const tmp = tempName(join(dest, '..'), resource.file);
  try {
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new DownloadError(
        url,
        `request failed (${(error as Error).cause ?? (error as Error).message})`,
      );
    }
    if (!response.ok || !response.body) {
      throw new DownloadError(url, `HTTP ${response.status} ${response.statusText}`);
    }
    const length = response.headers.get('content-length');
    const total = length === null ? undefined : Number(length);
    const hash = createHash('md5');
    let received = 0;
    const out = await open(tmp, 'w');
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        await out.write(chunk);
        received += chunk.length;
        onProgress?.({ file: resource.file, received, total });
      }
    } catch (error) {
      throw new DownloadError(
        url,
        `transfer cut off after ${received}${total === undefined ? '' : ` of ${total}`} bytes (${(error as Error).message})`,
      );
    } finally {
      await out.close();
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(url, `transfer cut off after ${received} of ${total} bytes`);
    }
    const md5 = hash.digest('hex');
    if (md5 !== resource.md5.toLowerCase()) {
      throw new DownloadError(
        url,
        `MD5 checksum ${md5} does not match the expected ${resource.md5}; the file was discarded`,
      );
    }
    await rename(tmp, dest);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Tries each mirror in turn; the error of the last one wins. */
async function fetchFromMirrors(
  mirrors: string[],
  dest: string,
  resource: Resource,
  onProgress: DownloadOptions['onProgress'],
): Promise<void> {
  let last: unknown;
  for (const base of mirrors) {
    const url = new URL(resource.file, base.endsWith('/') ? base : `${base}/`).href;
    try {
      await fetchVerified(url, dest, resource, onProgress);
      return;
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/**
 * Written beside the extracted CIFAR-10 files: their MD5s, taken right after they came out
 * of an archive whose MD5 matched, so a later download can tell intact files from damaged
 * ones without the archive (which is deleted to save 160 MB).
 */
const CIFAR10_MANIFEST = '.resnet-ts-md5.json';

/** Bytes of each official CIFAR-10 batch: 10,000 records of 3,073 bytes. */
const CIFAR10_BATCH_BYTES = 10_000 * 3073;

async function writeCifar10Manifest(folder: string): Promise<void> {
  const sums: Record<string, string> = {};
  for (const f of CIFAR10_FILES) sums[f] = await md5File(join(folder, f));
  await writeFile(join(folder, CIFAR10_MANIFEST), `${JSON.stringify(sums, null, 2)}\n`);
}

/**
 * True when the extracted CIFAR-10 files in `folder` are intact: they match the manifest
 * written when they were extracted or, for files put there by hand, each batch has the
 * official size. A file that is missing, truncated or changed means a fresh download.
 */
async function cifar10Intact(folder: string): Promise<boolean> {
  if (!CIFAR10_FILES.every((f) => existsSync(join(folder, f)))) return false;
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(folder, CIFAR10_MANIFEST), 'utf8'));
  } catch {
    manifest = undefined;
  }
  if (manifest !== null && typeof manifest === 'object') {
    const sums = manifest as Record<string, unknown>;
    for (const f of CIFAR10_FILES) {
      const expected = Object.hasOwn(sums, f) ? sums[f] : undefined;
      if (typeof expected !== 'string' || (await md5File(join(folder, f))) !== expected) {
        return false;
      }
    }
    return true;
  }
  for (const f of CIFAR10_FILES.filter((name) => name.endsWith('.bin'))) {
    const info = await stat(join(folder, f));
    if (!info.isFile() || info.size !== CIFAR10_BATCH_BYTES) return false;
  }
  return true;
}

/** Extracts the CIFAR-10 archive into a temporary folder, checks it, then renames it into place. */
async function extractCifar10(archive: string, dir: string): Promise<void> {
  const staging = tempName(dir, 'cifar10-extract');
  await mkdir(staging);
  try {
    try {
      await extractTar({
        file: archive,
        cwd: staging,
        strict: true,
        // Only the expected regular files: an archive cannot write elsewhere or add links.
        filter: (path, entry) =>
          ('type' in entry ? entry.type === 'File' || entry.type === 'Directory' : true) &&
          (path.replace(/\/$/, '') === CIFAR10_FOLDER ||
            CIFAR10_FILES.some((f) => path === `${CIFAR10_FOLDER}/${f}`)),
      });
    } catch (error) {
      throw new DownloadError(
        archive,
        `could not extract the archive (${(error as Error).message})`,
      );
    }
    const missing = CIFAR10_FILES.filter((f) => !existsSync(join(staging, CIFAR10_FOLDER, f)));
    if (missing.length > 0) {
      throw new DownloadError(archive, `archive lacks ${CIFAR10_FOLDER}/${missing.join(', ')}`);
    }
    await writeCifar10Manifest(join(staging, CIFAR10_FOLDER));
    await rm(join(dir, CIFAR10_FOLDER), { recursive: true, force: true });
    await rename(join(staging, CIFAR10_FOLDER), join(dir, CIFAR10_FOLDER));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Downloads MNIST (the four IDX .gz files) or CIFAR-10 (the binary version, extracted to
 * `dir/cifar-10-batches-bin`) from the official addresses into `dir`, and returns `dir`
 * for `loadMnist`/`loadCifar10`. Each file goes to a temporary name and is renamed into
 * place only once complete and matching its published MD5; on any failure nothing
 * half-written is left behind. Files already present and intact (MNIST: their MD5;
 * CIFAR-10: the MD5s recorded at extraction) are not fetched again; damaged ones are.
 */
export async function download(
  name: DownloadableDataset,
  dir: string,
  options: DownloadOptions = {},
): Promise<string> {
  const spec = RESOURCES[name];
  if (!spec) {
    throw new ValueError(
      `download: unknown dataset ${formatValue(name)}, expected 'mnist' or 'cifar10'`,
    );
  }
  const mirrors = options.baseUrl ? [options.baseUrl] : spec.mirrors;
  await mkdir(dir, { recursive: true });
  if (name === 'cifar10' && (await cifar10Intact(join(dir, CIFAR10_FOLDER)))) return dir;
  for (const base of spec.files) {
    const resource = { file: base.file, md5: options.md5?.[base.file] ?? base.md5 };
    const dest = join(dir, resource.file);
    if (existsSync(dest) && (await md5File(dest)) === resource.md5.toLowerCase()) continue;
    await fetchFromMirrors(mirrors, dest, resource, options.onProgress);
  }
  if (name === 'cifar10') {
    const archive = join(dir, spec.files[0].file);
    await extractCifar10(archive, dir);
    await rm(archive, { force: true });
  }
  return dir;
}

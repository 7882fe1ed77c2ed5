import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { readRegularFile, readRegularFileSync } from '@resnet-ts/core/node';
import sharp from 'sharp';
import { DatasetFileError } from '../errors.js';
import {
  checkNoEmptyClass,
  compareCodePoints,
  findClasses,
  hasImageExtension,
  ImageFolder,
  type ImageFolderOptions,
  type SkippedFile,
} from '../image-folder.js';
import { checkPixelLimit, DEFAULT_MAX_PIXELS } from '../image-header.js';
import type { HWCImage } from '../sample.js';
import { isSimpleFormat } from '../simple-formats.js';
import { decodeImage, MAX_IMAGE_FILE_BYTES } from './read-image.js';

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory(); // follows links, as Python's entry.is_dir()
  } catch {
    return false;
  }
}

/**
 * The picture files under `dir`, in torchvision's order: `sorted(os.walk(dir, followlinks=True))`
 * (folders by path) and the file names sorted in each. A linked folder already visited is not
 * walked again, so a link cycle cannot loop forever.
 */
async function walkPictures(dir: string, visited: Set<string>): Promise<string[]> {
  const folders: { path: string; files: string[] }[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const folder = pending.pop()!;
    const real = await realpath(folder);
    if (visited.has(real)) continue;
    visited.add(real);
    const files: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() || (entry.isSymbolicLink() && (await isDirectory(path)))) {
        pending.push(path);
      } else if (hasImageExtension(entry.name)) {
        files.push(entry.name);
      }
    }
    folders.push({ path: folder, files: files.sort(compareCodePoints) });
  }
  folders.sort((a, b) => compareCodePoints(a.path, b.path));
  return folders.flatMap((f) => f.files.map((name) => join(f.path, name)));
}

/** Decodes a picture file of a folder to uint8 RGB (HWC), upright by its EXIF orientation. */
async function loadPicture(path: string, maxPixels: number): Promise<HWCImage> {
  const options = { maxBytes: MAX_IMAGE_FILE_BYTES, what: 'picture' };
  // A worker of a pool has nothing else to do while it reads, and a synchronous read spares
  // it the four round trips (stat, open, read, close) through libuv's shared thread pool.
  const bytes = isMainThread
    ? await readRegularFile(path, options)
    : readRegularFileSync(path, options);
  const { data, width, height } = await decodeImage(bytes, path, { maxPixels });
  return { image: data, shape: [height, width, 3] };
}

/** Why the picture at `path` cannot be used, from its header alone, or undefined. */
async function probe(path: string, maxPixels: number): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return 'not a regular file';
    const head = new Uint8Array(2);
    const handle = await open(path, 'r');
    await handle.read(head, 0, 2, 0).finally(() => handle.close());
    if (isSimpleFormat(head)) {
      await loadPicture(path, maxPixels);
      return undefined;
    }
    const meta = await sharp(path).metadata();
    checkPixelLimit(meta.width ?? 0, meta.height ?? 0, maxPixels, path);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Opens a folder of pictures with one subfolder per class, like torchvision's
 * `ImageFolder(root)`: the same classes, class indices and sample order (verified against
 * torchvision on the same folder), the same extensions. Pictures decode when read, upright
 * by their EXIF orientation, as RGB: with sharp (libvips), or in a worker pool's threads
 * with the WebAssembly JPEG decoder, which gives the same pixels. A folder without class subfolders,
 * or a class without pictures, is an error naming it.
 */
export async function loadImageFolder(
  root: string,
  options: ImageFolderOptions = {},
): Promise<ImageFolder<string>> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw new DatasetFileError(root, `cannot read the image folder (${(error as Error).message})`);
  }
  const names: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(join(root, e.name))))) {
      names.push(e.name);
    }
  }
  const { classes, classToIdx } = findClasses(names, root);
  const samples: [string, number][] = [];
  const skipped: SkippedFile[] = [];
  for (const name of classes) {
    for (const path of await walkPictures(join(root, name), new Set())) {
      const reason = options.onBadFile === 'skip' ? await probe(path, maxPixels) : undefined;
      if (reason) skipped.push({ path, reason });
      else samples.push([path, classToIdx[name]]);
    }
  }
  checkNoEmptyClass(
    classes,
    samples.map(([, label]) => label),
    root,
  );
  return new ImageFolder(classes, samples, (path) => loadPicture(path, maxPixels), {
    transform: options.transform,
    skipped,
  });
}

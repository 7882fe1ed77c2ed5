import { checkIndex, type Dataset } from './dataset.js';
import { DatasetFileError, ImageFileError } from './errors.js';
import { checkPixelLimit, DEFAULT_MAX_PIXELS, readImageHeader } from './image-header.js';
import type { HWCImage, ImageSample } from './sample.js';
import { decodeSimpleFormat, isSimpleFormat } from './simple-formats.js';
import type { Transform } from './transforms/transform.js';

/** The file extensions torchvision's ImageFolder accepts (compared lower-cased). */
export const IMG_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.png',
  '.ppm',
  '.bmp',
  '.pgm',
  '.tif',
  '.tiff',
  '.webp',
] as const;

/** True when `name` ends in one of {@link IMG_EXTENSIONS}, ignoring case, as torchvision checks. */
export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMG_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/**
 * Compares strings by Unicode code point, as Python's `sorted` does; JavaScript's default
 * compares UTF-16 code units, which orders characters beyond U+FFFF differently.
 */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** A file of an {@link ImageFolder} that was left out, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

/** Options of {@link ImageFolder}. */
export interface ImageFolderOptions {
  /** Applied to each decoded image (uint8 RGB, HWC), as torchvision's `transform`. */
  transform?: Transform;
  /** Refuse pictures with more pixels than this, judged from the header (default 50 MP). */
  maxPixels?: number;
  /**
   * What to do with a file that has an image extension but is not a decodable picture:
   * `'error'` (default) names it in an error when it is read; `'skip'` checks every file's
   * header when the folder is opened, leaves the bad ones out and lists them in `skipped`.
   */
  onBadFile?: 'error' | 'skip';
}

/** Decodes one file of a folder to uint8 RGB (HWC), however the platform does it. */
export type ImageLoader<F> = (file: F) => Promise<HWCImage>;

/**
 * The classes of a folder, sorted and numbered as torchvision's `find_classes` does, from the
 * names of its subfolders; `where` names the folder in the error when there are none.
 */
export function findClasses(
  names: Iterable<string>,
  where: string,
): { classes: string[]; classToIdx: Record<string, number> } {
  const classes = [...new Set(names)].sort(compareCodePoints);
  if (classes.length === 0) {
    throw new DatasetFileError(
      where,
      "found no class folder: an image folder holds one subfolder of pictures per class, like torchvision's ImageFolder",
    );
  }
  const classToIdx: Record<string, number> = Object.create(null);
  classes.forEach((name, i) => {
    classToIdx[name] = i;
  });
  return { classes, classToIdx };
}

/** Throws unless every class has at least one picture, naming those that have none. */
export function checkNoEmptyClass(
  classes: readonly string[],
  labels: Iterable<number>,
  where: string,
): void {
  const seen = new Set(labels);
  const empty = classes.filter((_, i) => !seen.has(i));
  if (empty.length > 0) {
    throw new DatasetFileError(
      where,
      `found no picture for the class${empty.length > 1 ? 'es' : ''} ${empty.join(', ')}; supported extensions are ${IMG_EXTENSIONS.join(', ')}`,
    );
  }
}

/**
 * Pictures sorted into one subfolder per class, like torchvision's `ImageFolder`: `classes`
 * (sorted folder names), `classToIdx`, and `samples` (`[file, class index]`, in torchvision's
 * order). `get(i)` returns a promise of the decoded, transformed picture, which a
 * {@link DataLoader} awaits; pictures decode in parallel while transforms run in the order
 * the samples were asked for, so a seeded random transform gives the same result every run.
 *
 * Open a folder with `loadImageFolder(root)` from `@resnet-ts/data/node`, or in a browser
 * with {@link ImageFolder.fromFiles} (a directory picked with `<input webkitdirectory>`).
 */
export class ImageFolder<F = string> implements Dataset<Promise<ImageSample>> {
  /** Class names, index = label. */
  readonly classes: readonly string[];
  /** Class name → label. */
  readonly classToIdx: Readonly<Record<string, number>>;
  /** Every picture and its label, in torchvision's order. */
  readonly samples: ReadonlyArray<readonly [F, number]>;
  /** Files left out with `onBadFile: 'skip'`, and why. */
  readonly skipped: readonly SkippedFile[];
  transform: Transform | undefined;
  private readonly load: ImageLoader<F>;
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    classes: readonly string[],
    samples: ReadonlyArray<readonly [F, number]>,
    load: ImageLoader<F>,
    options: { transform?: Transform; skipped?: readonly SkippedFile[] } = {},
  ) {
    this.classes = classes;
    this.classToIdx = Object.fromEntries(classes.map((c, i) => [c, i]));
    this.samples = samples;
    this.load = load;
    this.transform = options.transform;
    this.skipped = options.skipped ?? [];
  }

  /** The same pictures and classes read through another transform (a validation twin). */
  withTransform(transform: Transform | undefined): ImageFolder<F> {
    return new ImageFolder(this.classes, this.samples, this.load, {
      transform,
      skipped: this.skipped,
    });
  }

  /** The labels of all samples, torchvision's `targets`. */
  get targets(): number[] {
    return this.samples.map(([, label]) => label);
  }

  get length(): number {
    return this.samples.length;
  }

  get(index: number): Promise<ImageSample> {
    return this.getWith(index, undefined);
  }

  /**
   * `get(index)`, running `beforeTransform` right before this sample's transform (in request
   * order, like the transforms): how a worker pool re-seeds the transforms' generator per
   * sample while decoding several pictures at once. `out` is passed to the transform (see
   * {@link Transform.apply}).
   */
  getWith(
    index: number,
    beforeTransform: (() => void) | undefined,
    out?: Float32Array,
  ): Promise<ImageSample> {
    checkIndex(index, this.samples.length, 'ImageFolder');
    const [file, label] = this.samples[index];
    const decoded = this.load(file);
    // Decoding overlaps; the transform waits for the previous sample's, so random draws are
    // made in request order whatever order the decoders finish in.
    const sample = Promise.all([decoded, this.previous]).then(([image]) => {
      beforeTransform?.();
      const t = this.transform ? this.transform.apply(image, out) : image;
      return { image: t.image, shape: t.shape, label };
    });
    this.previous = sample.catch(() => undefined);
    return sample;
  }

  /**
   * An image folder from files a browser hands over: a directory picked with
   * `<input type="file" webkitdirectory>` or dropped. Each file's `webkitRelativePath`
   * (`root/class/.../name.jpg`) gives its class, the folder right under the picked one;
   * files directly in it, or without an image extension, are ignored as torchvision does.
   * Decodes with `createImageBitmap` and `OffscreenCanvas`, which also work in a Web Worker.
   */
  static async fromFiles(
    files: Iterable<File> | ArrayLike<File>,
    options: ImageFolderOptions = {},
  ): Promise<ImageFolder<File>> {
    const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
    const entries: { file: File; parts: string[] }[] = [];
    for (const file of Array.from(files as ArrayLike<File>)) {
      const parts = (file.webkitRelativePath || file.name).split('/').filter((p) => p !== '');
      if (parts.length >= 3) entries.push({ file, parts });
    }
    const root = entries[0]?.parts[0] ?? '(the picked folder)';
    const { classes, classToIdx } = findClasses(
      entries.map((e) => e.parts[1]),
      root,
    );
    const pictures = entries
      .filter((e) => hasImageExtension(e.parts[e.parts.length - 1]))
      .map((e) => ({ ...e, path: e.parts.join('/') }))
      .sort((a, b) => compareFolderPaths(a.parts, b.parts));
    const load = (file: File) => decodeInBrowser(file, maxPixels);
    const skipped: SkippedFile[] = [];
    const samples: [File, number][] = [];
    for (const p of pictures) {
      if (options.onBadFile === 'skip') {
        const reason = await browserProbe(p.file, maxPixels);
        if (reason) {
          skipped.push({ path: p.path, reason });
          continue;
        }
      }
      samples.push([p.file, classToIdx[p.parts[1]]]);
    }
    checkNoEmptyClass(
      classes,
      samples.map(([, l]) => l),
      root,
    );
    return new ImageFolder(classes, samples, load, { transform: options.transform, skipped });
  }
}

/**
 * torchvision's file order: by class, then `sorted(os.walk(...))` (folders by path), then the
 * file names sorted within each folder.
 */
export function compareFolderPaths(a: readonly string[], b: readonly string[]): number {
  const byClass = compareCodePoints(a[1], b[1]);
  if (byClass !== 0) return byClass;
  const dirA = a.slice(0, -1).join('/');
  const dirB = b.slice(0, -1).join('/');
  if (dirA !== dirB) return compareCodePoints(dirA, dirB);
  return compareCodePoints(a[a.length - 1], b[b.length - 1]);
}

/** Why `file` cannot be decoded, from its header, or undefined when it looks fine. */
async function browserProbe(file: File, maxPixels: number): Promise<string | undefined> {
  try {
    if (isSimpleFormat(new Uint8Array(await file.slice(0, 2).arrayBuffer()))) {
      decodeSimpleFormat(new Uint8Array(await file.arrayBuffer()), file.name, maxPixels);
      return undefined;
    }
    const bitmap = await createImageBitmap(file);
    const { width, height } = bitmap;
    bitmap.close();
    checkPixelLimit(width, height, maxPixels, file.name);
    return undefined;
  } catch (error) {
    return (error as Error).message || 'not a decodable picture';
  }
}

async function decodeInBrowser(file: File, maxPixels: number): Promise<HWCImage> {
  const path = file.webkitRelativePath || file.name;
  const head = new Uint8Array(await file.slice(0, 65536).arrayBuffer());
  if (isSimpleFormat(head)) {
    return decodeSimpleFormat(new Uint8Array(await file.arrayBuffer()), path, maxPixels);
  }
  const header = readImageHeader(head, path);
  if (header) checkPixelLimit(header.width, header.height, maxPixels, path);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch (error) {
    throw new ImageFileError(path, `cannot decode the picture (${(error as Error).message})`);
  }
  const { width, height } = bitmap;
  checkPixelLimit(width, height, maxPixels, path);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  if (!context) throw new ImageFileError(path, 'no 2D canvas to decode the picture on');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = rgba[j];
    rgb[i + 1] = rgba[j + 1];
    rgb[i + 2] = rgba[j + 2];
  }
  return { image: rgb, shape: [height, width, 3] };
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fixture from './__fixtures__/image-folder.json' with { type: 'json' };
import { compareCodePoints, hasImageExtension, ImageFolder } from './image-folder.js';

const root = fileURLToPath(new URL('./__fixtures__/image-folder', import.meta.url));

/** The fixture folder as a browser hands over a picked directory: Files with relative paths. */
function pickedFiles(): File[] {
  const files: File[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        const file = new File([readFileSync(path)], name);
        const rel = `image-folder/${relative(root, path)}`;
        Object.defineProperty(file, 'webkitRelativePath', { value: rel });
        files.push(file);
      }
    }
  };
  walk(root);
  // Browsers list files in no promised order.
  return files.reverse();
}

describe('ImageFolder.fromFiles', () => {
  it("gives a picked directory torchvision's classes, indices and sample order", async () => {
    const folder = await ImageFolder.fromFiles(pickedFiles());
    expect(folder.classes).toEqual(fixture.classes);
    expect({ ...folder.classToIdx }).toEqual(fixture.class_to_idx);
    expect(
      folder.samples.map(([file, label]) => [file.webkitRelativePath.slice(13), label]),
    ).toEqual(fixture.samples.map((s) => [s.path, s.label]));
  });

  it('names a picked folder without class subfolders', async () => {
    const loose = new File([new Uint8Array(4)], 'a.png');
    Object.defineProperty(loose, 'webkitRelativePath', { value: 'pics/a.png' });
    await expect(ImageFolder.fromFiles([loose])).rejects.toThrow(/found no class folder/);
  });
});

describe('ImageFolder.fromFiles decoding (browser APIs stubbed)', () => {
  const picked = (path: string, bytes: Uint8Array<ArrayBuffer>) => {
    const file = new File([bytes], path.split('/').at(-1)!);
    Object.defineProperty(file, 'webkitRelativePath', { value: path });
    return file;
  };
  /** A PNG signature and IHDR declaring `w`×`h`; enough for the header check. */
  const pngHeader = (w: number, h: number) => {
    const b = new Uint8Array(33);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, w);
    new DataView(b.buffer).setUint32(20, h);
    return b;
  };

  it('asks for EXIF orientation, drops alpha, and refuses a huge picture from its header', async () => {
    const calls: unknown[] = [];
    const g = globalThis as Record<string, unknown>;
    g.createImageBitmap = async (_file: File, options?: unknown) => {
      calls.push(options);
      return { width: 2, height: 1, close() {} };
    };
    g.OffscreenCanvas = class {
      getContext() {
        return {
          drawImage() {},
          getImageData: () => ({ data: Uint8ClampedArray.of(1, 2, 3, 0, 4, 5, 6, 255) }),
        };
      }
    };
    try {
      const folder = await ImageFolder.fromFiles([
        picked('r/a/x.png', pngHeader(2, 1)),
        picked('r/b/y.png', pngHeader(20_000, 20_000)),
      ]);
      expect(await folder.get(0)).toEqual({
        image: Uint8Array.of(1, 2, 3, 4, 5, 6),
        shape: [1, 2, 3],
        label: 0,
      });
      expect(calls).toEqual([{ imageOrientation: 'from-image' }]);
      await expect(folder.get(1)).rejects.toThrow(/r\/b\/y\.png: 20000×20000 pixels/);
      expect(calls).toHaveLength(1);
      // PGM, which browsers do not decode, is read in JavaScript.
      const pgm = picked(
        'r/a/z.pgm',
        Uint8Array.of(...new TextEncoder().encode('P5 1 1 255\n'), 9),
      );
      const gray = await ImageFolder.fromFiles([pgm, picked('r/b/y.png', pngHeader(1, 1))]);
      expect((await gray.get(0)).image).toEqual(Uint8Array.of(9, 9, 9));
    } finally {
      delete g.createImageBitmap;
      delete g.OffscreenCanvas;
    }
  });
});

describe('image folder rules', () => {
  it("accepts torchvision's extensions in any case", () => {
    expect(['a.JPG', 'b.jpeg', 'c.Png', 'd.webp', 'e.tiff', 'f.pgm'].every(hasImageExtension)).toBe(
      true,
    );
    expect(['a.gif', 'b.txt', 'png', 'c.jpg.txt'].some(hasImageExtension)).toBe(false);
  });

  it('sorts by code point as Python does, not by UTF-16 unit', () => {
    // U+FF5E (fullwidth tilde) is below U+1F600 (emoji) by code point, above it by UTF-16 unit.
    const names = ['\u{1F600}', '\uFF5E', 'B', 'a'];
    expect([...names].sort(compareCodePoints)).toEqual(['B', 'a', '\uFF5E', '\u{1F600}']);
    expect([...names].sort()).not.toEqual([...names].sort(compareCodePoints));
  });
});

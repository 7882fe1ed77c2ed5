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

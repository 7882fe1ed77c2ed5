import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { test } from 'vitest';
import { makeShapesFolder, PRETRAIN_CLASSES, shapeSamples, TARGET_CLASSES } from './shapes.mjs';

async function digest(dir) {
  const hash = createHash('sha256');
  for (const split of (await readdir(dir)).sort()) {
    for (const c of (await readdir(join(dir, split))).sort()) {
      for (const f of (await readdir(join(dir, split, c))).sort()) {
        hash.update(`${split}/${c}/${f}`);
        hash.update(await readFile(join(dir, split, c, f)));
      }
    }
  }
  return hash.digest('hex');
}

function decode(path, bytes) {
  return path.endsWith('.png') ? PNG.sync.read(bytes) : jpeg.decode(bytes, { useTArray: true });
}

test('the same seed writes the same bytes; another seed other ones', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shapes-'));
  try {
    const opts = { train: 3, val: 1, minSize: 24, maxSize: 40 };
    await makeShapesFolder(join(root, 'a'), { ...opts, seed: 5 });
    await makeShapesFolder(join(root, 'b'), { ...opts, seed: 5 });
    await makeShapesFolder(join(root, 'c'), { ...opts, seed: 6 });
    assert.equal(await digest(join(root, 'a')), await digest(join(root, 'b')));
    assert.notEqual(await digest(join(root, 'a')), await digest(join(root, 'c')));
    await assert.rejects(makeShapesFolder(join(root, 'a'), opts), /is not empty/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('class folders, mixed formats and sizes, one corrupt file that does not decode', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shapes-'));
  try {
    const result = await makeShapesFolder(root, { seed: 1, train: 6, val: 2 });
    assert.deepEqual(await readdir(join(root, 'train')), [...TARGET_CLASSES]);
    assert.equal(result.files.train.length, 24);
    assert.equal(result.files.val.length, 8);
    /** @type {Set<string>} */
    const exts = new Set();
    /** @type {Set<string>} */
    const sizes = new Set();
    for (const path of [...result.files.train, ...result.files.val]) {
      const image = decode(path, await readFile(path));
      assert.ok(
        image.width >= 48 && image.width <= 112 && image.height >= 48 && image.height <= 112,
      );
      exts.add(path.slice(-3));
      sizes.add(`${image.width}x${image.height}`);
    }
    assert.deepEqual([...exts].sort(), ['jpg', 'png']);
    assert.ok(sizes.size > 20, `sizes vary: ${sizes.size} distinct`);
    assert.equal(result.corrupt, join(root, 'train', 'circle', 'corrupt.jpg'));
    const bytes = await readFile(result.corrupt);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
    assert.throws(() => jpeg.decode(bytes));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a drawn shape stands out from its background', () => {
  const { images, labels, shape, classes } = shapeSamples({ seed: 2, count: 2, size: 32 });
  assert.deepEqual(classes, [...PRETRAIN_CLASSES]);
  assert.equal(labels.length, 16);
  assert.deepEqual([...labels.slice(0, 8)], [0, 1, 2, 3, 4, 5, 6, 7]);
  const [h, w] = shape;
  for (let n = 0; n < labels.length; n++) {
    // The corner is background; some pixel differs from it by far more than the noise.
    const base = n * h * w * 3;
    let far = 0;
    for (let p = 0; p < h * w; p++) {
      let d = 0;
      for (let k = 0; k < 3; k++) d += Math.abs(images[base + p * 3 + k] - images[base + k]);
      if (d > 60) far++;
    }
    assert.ok(far > 0.05 * h * w, `image ${n} (${classes[labels[n]]}) shows its shape`);
  }
});

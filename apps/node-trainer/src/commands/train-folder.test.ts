import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors } from '@resnet-ts/core';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from '../testing/run-cli.js';

const tmp = tempDir('folder');

/**
 * A folder of class subfolders: stripes of one orientation per class in random colours and
 * sizes (PNG), and one file that is not a picture in the first class.
 */
function writeStripes(root: string, kinds: string[], perClass: number, seed: number): void {
  let state = seed;
  const random = () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
  for (const kind of kinds) {
    mkdirSync(join(root, kind), { recursive: true });
    for (let n = 0; n < perClass; n++) {
      const [width, height] = [16 + Math.floor(random() * 16), 16 + Math.floor(random() * 16)];
      const png = new PNG({ width, height });
      const fg = [random() * 255, random() * 255, random() * 255];
      const period = 3 + Math.floor(random() * 3);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const along = { horizontal: y, vertical: x, diagonal: x + y }[kind] ?? 0;
          const on = Math.floor(along / period) % 2 === 0;
          for (let k = 0; k < 3; k++) png.data[(y * width + x) * 4 + k] = on ? fg[k] : 255 - fg[k];
          png.data[(y * width + x) * 4 + 3] = 255;
        }
      }
      writeFileSync(join(root, kind, `${n}.png`), PNG.sync.write(png));
    }
  }
  writeFileSync(join(root, kinds[0], 'broken.png'), 'not a picture');
}

const SMALL = ['--model', 'resnet18', '--image-size', '16', '--batch-size', '8'];
const COMMON = ['--backend', 'wasm', '--json', '--skip-bad-files'];

const tensorsOf = (file: string) => decodeSafetensors(new Uint8Array(readFileSync(file)));

/** One epoch on the folder `dir` through the CLI; the run directory it wrote. */
async function trainOn(dir: string, ...extra: string[]): Promise<string> {
  const r = await runCli([
    'train',
    '--dataset',
    'folder',
    '--data-dir',
    dir,
    ...SMALL,
    '--epochs',
    '1',
    ...extra,
    '--out',
    join(tmp, 'runs'),
    ...COMMON,
  ]);
  expect(r.stderr).not.toMatch(/^error:/m);
  expect(r.code).toBe(0);
  return jsonEvents(r.stdout).find((e) => e.event === 'done')!.runDir;
}

describe('train --dataset folder', () => {
  const shapes = join(tmp, 'shapes');
  const more = join(tmp, 'more-shapes');
  let pretrained: string;

  beforeAll(async () => {
    writeStripes(shapes, ['horizontal', 'vertical'], 10, 1);
    writeStripes(more, ['horizontal', 'vertical', 'diagonal'], 8, 2);
    pretrained = await trainOn(shapes);
  });

  it('trains on the folder at the image size asked for, recording how the data was read', () => {
    const run = JSON.parse(readFileSync(join(pretrained, 'run.json'), 'utf8'));
    expect(run.data).toEqual({
      name: 'folder',
      dataDir: shapes,
      imageSize: 16,
      skipBadFiles: true,
    });
    expect(run.model).toMatchObject({ name: 'resnet18', inChannels: 3, inputSize: 16 });
    expect(run.recipe).toMatchObject({ optimizer: 'sgd', scheduler: 'cosine', valSplit: 0.2 });
    const { metadata } = tensorsOf(join(pretrained, 'checkpoints/epoch-1/model.safetensors'));
    const meta = JSON.parse(metadata['resnet-ts']);
    expect(meta.dataset.name).toBe('folder');
    expect(meta.dataset.classes).toEqual(['horizontal', 'vertical']);
    expect(meta.dataset.input).toMatchObject({
      size: 16,
      channels: 3,
      mean: [0.485, 0.456, 0.406],
    });
  });

  it('fine-tunes from exported .pth weights with the backbone frozen, then evaluates and predicts', async () => {
    const exported = await runCli(['export', pretrained, '--format', 'pth', '--json']);
    expect(exported.code).toBe(0);
    const pth = jsonEvents(exported.stdout).find((e) => e.event === 'export')!.file;
    const runDir = await trainOn(more, '--weights', pth, '--freeze', 'backbone');
    const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ weights: pth, freeze: 'backbone' });
    // The backbone is the pretrained one, untouched; the head is new, for three classes
    // (resnet-ts keeps Linear weights as [in, out]).
    const before = tensorsOf(join(pretrained, 'checkpoints/epoch-1/model.safetensors')).tensors;
    const after = tensorsOf(join(runDir, 'checkpoints/epoch-1/model.safetensors')).tensors;
    for (const key of ['conv1.weight', 'layer4.1.conv2.weight', 'layer2.0.bn1.weight']) {
      expect(Buffer.from(after[key].data).equals(Buffer.from(before[key].data)), key).toBe(true);
    }
    expect(after['fc.weight'].shape).toEqual([512, 3]);

    // Decoded in worker threads, which the bundled CLI starts from its own dist/.
    const ev = await runCli(['eval', runDir, '--data-dir', more, '--workers', '2', ...COMMON]);
    expect(ev.code).toBe(0);
    const result = jsonEvents(ev.stdout).find((e) => e.event === 'eval')!;
    expect(result.classes).toEqual(['diagonal', 'horizontal', 'vertical']);
    expect(result.total).toBe(24);

    const picture = join(more, 'diagonal', '0.png');
    const p = await runCli([
      'predict',
      runDir,
      picture,
      '--top',
      '3',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(p.code).toBe(0);
    const top = jsonEvents(p.stdout).find((e) => e.event === 'prediction')!.top;
    expect(top.map((t: { label: string }) => t.label).sort()).toEqual(result.classes);
    expect(top.reduce((s: number, t: { probability: number }) => s + t.probability, 0)).toBeCloseTo(
      1,
      5,
    );
  });

  it('says what is wrong with a folder run it cannot start', async () => {
    const noDir = await runCli(['train', '--dataset', 'folder', '--backend', 'wasm']);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('--dataset folder needs --data-dir DIR');
    const broken = await runCli([
      'train',
      '--dataset',
      'folder',
      '--data-dir',
      shapes,
      ...SMALL,
      '--out',
      join(tmp, 'runs'),
      '--backend',
      'wasm',
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/horizontal\/broken\.png: not a picture/);
    const frozen = await runCli([
      'train',
      '--limit-train',
      '16',
      '--freeze',
      'backbone',
      '--out',
      join(tmp, 'runs'),
      '--backend',
      'wasm',
    ]);
    expect(frozen.code).toBe(2);
    expect(frozen.stderr).toContain('--freeze backbone needs a model with a classifier head fc');
  });
});

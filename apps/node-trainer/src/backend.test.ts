import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonEvents, runCli, tempDir } from './testing/run-cli.js';

// SwiftShader's Vulkan driver ships with Debian's chromium; .ci/run installs it. Without it
// the test is skipped with the reason, unless CI=true requires it.
const ICD = process.env.SWIFTSHADER_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
const noSwiftShader =
  !existsSync(ICD) && process.env.CI !== 'true'
    ? `no SwiftShader Vulkan driver at ${ICD}: apt-get install chromium (as .ci/run does) to run it`
    : null;
if (noSwiftShader) console.warn(`skipped: ${noSwiftShader}`);

const tmp = tempDir('webgpu');

describe('--backend webgpu in Node (Dawn on SwiftShader)', () => {
  it('trains, checkpoints and evaluates on a software GPU', { timeout: 400_000 }, async (ctx) => {
    if (noSwiftShader) {
      (ctx.task.meta as Record<string, unknown>).skipReason = noSwiftShader;
      ctx.skip(noSwiftShader);
    }
    if (!existsSync(ICD)) {
      throw new Error(
        `no Vulkan driver at ${ICD}: install Debian's chromium (SwiftShader), as .ci/run does`,
      );
    }
    // One batch each way: SwiftShader compiles every shader on the CPU, which dominates the time.
    const r = await runCli(
      [
        'train',
        '--backend',
        'webgpu',
        '--epochs',
        '1',
        '--limit-train',
        '16',
        '--limit-test',
        '16',
        '--val-split',
        '0',
        '--batch-size',
        '16',
        '--json',
        '--out',
        join(tmp, 'runs'),
      ],
      { VK_ICD_FILENAMES: ICD, XDG_RUNTIME_DIR: '/tmp' },
    );
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.code).toBe(0);
    const events = jsonEvents(r.stdout);
    const backend = events.find((e) => e.event === 'backend')!;
    expect(backend.name).toBe('webgpu');
    expect(backend.tried[0].reason).toMatch(/swiftshader/i);
    const epoch = events.find((e) => e.event === 'epoch')!;
    expect(Number.isFinite(epoch.trainLoss)).toBe(true);
    const done = events.find((e) => e.event === 'done')!;
    expect(done).toMatchObject({ backend: 'webgpu', total: 16 });
    expect(existsSync(join(done.checkpoint, 'model.safetensors'))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { DataLoader, ResumableBatchSampler } from './index.js';

/** Every batch of `passes` passes, as arrays of indices. */
function batches(sampler: ResumableBatchSampler, passes: number): number[][][] {
  return Array.from({ length: passes }, () => [...sampler]);
}

const options = { batchSize: 3, seed: 9 };

describe('ResumableBatchSampler', () => {
  it('shuffles as DataLoader({ shuffle: true, seed }) does', async () => {
    const dataset = { length: 10, get: (i: number) => i };
    const sampler = new ResumableBatchSampler(dataset, { batchSize: 4, seed: 3 });
    const loader = new DataLoader(dataset, {
      batchSize: 4,
      shuffle: true,
      seed: 3,
      collate: (xs: number[]) => xs,
    });
    for (let pass = 0; pass < 3; pass++) {
      const fromLoader: number[][] = [];
      for await (const b of loader) fromLoader.push(b);
      expect([...sampler]).toEqual(fromLoader);
    }
    expect(sampler.length).toBe(3);
  });

  it('continues mid-pass, and in later passes, exactly where a saved position was', () => {
    const reference = batches(new ResumableBatchSampler({ length: 13 }, options), 3);
    const first = new ResumableBatchSampler({ length: 13 }, options);
    batches(first, 1);
    expect([...first]).toEqual(reference[1]);
    // Saved after 2 batches of the second pass; a new sampler (a restarted process) restores it.
    const position = JSON.parse(JSON.stringify(first.position(2)));
    const resumed = new ResumableBatchSampler({ length: 13 }, options);
    resumed.restore(position);
    expect([...resumed]).toEqual(reference[1].slice(2));
    expect([...resumed]).toEqual(reference[2]);
    // Saved at a pass's end: the next pass is the one after.
    const atEnd = new ResumableBatchSampler({ length: 13 }, options);
    atEnd.restore(first.nextPass());
    expect([...atEnd]).toEqual(reference[2]);
  });

  it('feeds a DataLoader that resumes mid-pass', async () => {
    const dataset = { length: 7, get: (i: number) => i };
    const sampler = new ResumableBatchSampler(dataset, { batchSize: 2, seed: 1 });
    const loader = new DataLoader(dataset, {
      batchSampler: sampler,
      generator: sampler.generator,
      collate: (xs: number[]) => xs,
    });
    const all: number[][] = [];
    for await (const b of loader) all.push(b);
    const again = new ResumableBatchSampler(dataset, { batchSize: 2, seed: 1 });
    again.restore({
      passStart: new ResumableBatchSampler(dataset, { batchSize: 2, seed: 1 }).position(0)
        .passStart,
      batchesDone: 3,
    });
    const rest: number[][] = [];
    for await (const b of new DataLoader(dataset, {
      batchSampler: again,
      collate: (xs: number[]) => xs,
    }))
      rest.push(b);
    expect(rest).toEqual(all.slice(3));
  });

  it('refuses a position it cannot be at, naming the value', () => {
    const sampler = new ResumableBatchSampler({ length: 13 }, options);
    const { passStart } = sampler.position(0);
    expect(() => sampler.restore({ passStart, batchesDone: 6 })).toThrow(
      'batchesDone must be an integer from 0 to 5, got 6',
    );
    expect(() => sampler.restore({ passStart, batchesDone: -1 })).toThrow(/got -1/);
    expect(() =>
      sampler.restore({
        passStart: { algorithm: 'xoshiro128**', state: [0, 0, 0, 0] },
        batchesDone: 0,
      }),
    ).toThrow(RangeError);
  });
});

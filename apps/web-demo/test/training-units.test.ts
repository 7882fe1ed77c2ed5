/** The training flow's pure parts, without a browser: run sizing, the ETA line, a saved run's fields. */
import { describe, expect, it } from 'vitest';
import { sizeRun } from '../src/run-size.js';
import { parseSavedExtra } from '../src/saved-run.js';
import { formatDuration, ProgressClock } from '../src/training-progress.js';

describe('sizeRun', () => {
  it('trains on every digit for more epochs on a fast backend, and on fewer digits on a slow one', () => {
    // A 440 img/s probe (wasm on a desktop): all 8,000 digits fit 7 times in two minutes.
    expect(sizeRun(440)).toMatchObject({ epochs: 7, trainSize: 8000 });
    expect(sizeRun(5000)).toMatchObject({ epochs: 10, trainSize: 8000 });
    // 171 img/s (this 2-core machine under load): 3 epochs of 7,000.
    expect(sizeRun(171)).toMatchObject({ epochs: 3, trainSize: 7000 });
    // A software renderer's 10 img/s: one epoch of 1,000.
    expect(sizeRun(10)).toMatchObject({ epochs: 1, trainSize: 1000 });
    expect(sizeRun(0.5)).toMatchObject({ epochs: 1, trainSize: 500 });
  });

  it('expects at most two minutes, and over one from 20 img/s up to what all digits need', () => {
    for (const speed of [10, 20, 40, 100, 181, 230, 440, 1000]) {
      const { seconds } = sizeRun(speed);
      expect(seconds).toBeLessThanOrEqual(120);
      if (speed >= 20 && speed <= 440) expect(seconds).toBeGreaterThan(60);
    }
  });

  it('sizes only the digits when the epochs are chosen', () => {
    expect(sizeRun(171, { epochs: 1 })).toMatchObject({ epochs: 1, trainSize: 8000 });
    expect(sizeRun(171, { epochs: 6 })).toMatchObject({ epochs: 6, trainSize: 3500 });
  });

  it('keeps to the digits there are', () => {
    expect(sizeRun(440, { maxDigits: 2000 })).toMatchObject({ epochs: 10, trainSize: 2000 });
  });
});

describe('ProgressClock', () => {
  it('says what happens before the first step, then counts steps and estimates the rest', () => {
    expect(new ProgressClock(true).startText()).toMatch(/^compiling shaders…/);
    const clock = new ProgressClock(false);
    expect(clock.startText()).toBe('starting…');
    // The first step carries start-up time: it starts the clock, with no estimate yet.
    expect(clock.update(1, 100, 5000)).toBe('step 1/100');
    // 200 ms per step since then: 90 steps left take 18 s.
    expect(clock.update(11, 100, 7000)).toBe('step 11/100 · ETA 0:18');
  });

  it('leaves a pause out of the estimate', () => {
    const clock = new ProgressClock(false);
    clock.update(1, 100, 0);
    clock.update(11, 100, 2000);
    clock.restart();
    // Resumed after a minute's pause: the next step starts the clock again.
    expect(clock.update(12, 100, 62_200)).toBe('step 12/100');
    expect(clock.update(22, 100, 64_200)).toBe('step 22/100 · ETA 0:16');
  });

  it('starts from where a continued run is', () => {
    const clock = new ProgressClock(false);
    expect(clock.update(41, 50, 0)).toBe('step 41/50');
    expect(clock.update(45, 50, 4000)).toBe('step 45/50 · ETA 0:05');
  });

  it('formats durations as m:ss, and h:mm:ss from an hour', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(59_400)).toBe('0:59');
    expect(formatDuration(61_000)).toBe('1:01');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

describe('parseSavedExtra', () => {
  const counts = { trainCount: 8000, testCount: 2000 };
  const valid = {
    config: {
      epochs: 2,
      batchSize: 16,
      lr: 0.003,
      optimizer: 'adam',
      scheduler: 'onecycle',
      trainSize: 256,
      valSize: 32,
      seed: 0,
    },
    step: 21,
    batchesDone: 5,
    backend: 'wasm',
    epochsBefore: 0,
    history: { losses: [2.3, Number.NaN], accuracies: [0.1, 0.2], lrs: [0.001, 0.002] },
  };

  it('takes back what a save wrote', () => {
    expect(parseSavedExtra(structuredClone(valid), counts)).toEqual(valid);
  });

  it('refuses a field that is missing, of the wrong kind or out of range, naming it', () => {
    const broken = (patch: (x: any) => void) => {
      const x = structuredClone(valid) as any;
      patch(x);
      return () => parseSavedExtra(x, counts);
    };
    expect(broken((x) => (x.config.optimizer = 'lbfgs'))).toThrow(
      'its optimizer is missing or out of range',
    );
    expect(broken((x) => (x.config.trainSize = 9000))).toThrow('its training digits');
    expect(broken((x) => (x.config.lr = -1))).toThrow('its learning rate');
    expect(broken((x) => (x.step = 1.5))).toThrow('its step');
    expect(broken((x) => (x.backend = 'tpu'))).toThrow('its backend');
    expect(broken((x) => (x.history.losses = ['2.3']))).toThrow('its losses');
    expect(() => parseSavedExtra(null, counts)).toThrow('its epochs');
  });
});

/**
 * The default run's size, chosen from Automatic's measured speed so that a first run takes
 * about two minutes on the device at hand: a fast one trains on every digit for more epochs,
 * a slow one (a software renderer, an old phone) on fewer digits.
 */

/** How long the default run should take. */
export const TARGET_SECONDS = 120;

/** Training digits come in steps of this many, so the suggestion reads as a round number. */
const DIGIT_STEP = 500;
/** Fewer digits than this per epoch teach little: the run gets fewer epochs instead. */
const MIN_DIGITS_PER_EPOCH = 1000;
const MAX_EPOCHS = 10;
const DEFAULT_EPOCHS = 3;
/** A validation image costs about this fraction of a training image (a forward pass only). */
const EVAL_COST = 1 / 3;
/** A step's report to the page and the periodic saves for a reload. */
const OVERHEAD = 1.1;
/**
 * The probe times batches of 16; a run's batches of 32 train faster per image. Measured in
 * headless Chromium on wasm (2 threads, a busy 2-core machine): see the README.
 */
const RUN_SPEED_PER_PROBE_SPEED = 1.2;

/** A run's size and how long it should take. */
export interface RunSize {
  epochs: number;
  trainSize: number;
  /** Expected wall time at the measured speed. */
  seconds: number;
}

/**
 * Epochs and training digits for a run of about `seconds` after a probe measured
 * `imagesPerSec` on the picked backend: all `maxDigits` for 3 to 10 epochs when they fit,
 * otherwise 3 epochs (2 or 1 when slower) of as many digits as fit, in steps of 500. With
 * `epochs` given (the user chose them), only the digits are sized.
 */
export function sizeRun(
  imagesPerSec: number,
  {
    maxDigits = 8000,
    valSize = 500,
    seconds = TARGET_SECONDS,
    epochs: fixedEpochs,
  }: { maxDigits?: number; valSize?: number; seconds?: number; epochs?: number } = {},
): RunSize {
  const speed = Math.max(imagesPerSec, 1e-3) * RUN_SPEED_PER_PROBE_SPEED;
  const budget = (speed * seconds) / OVERHEAD;
  const perEpoch = (digits: number) => digits + valSize * EVAL_COST;
  const size = (epochs: number, trainSize: number): RunSize => ({
    epochs,
    trainSize,
    seconds: (epochs * perEpoch(trainSize) * OVERHEAD) / speed,
  });
  const digitsFor = (epochs: number) => {
    const digits = Math.floor((budget / epochs - valSize * EVAL_COST) / DIGIT_STEP) * DIGIT_STEP;
    return Math.min(maxDigits, Math.max(DIGIT_STEP, digits));
  };
  if (fixedEpochs !== undefined) return size(fixedEpochs, digitsFor(fixedEpochs));
  const fullEpochs = Math.floor(budget / perEpoch(maxDigits));
  if (fullEpochs >= DEFAULT_EPOCHS) return size(Math.min(fullEpochs, MAX_EPOCHS), maxDigits);
  let epochs = DEFAULT_EPOCHS;
  while (epochs > 1 && digitsFor(epochs) < MIN_DIGITS_PER_EPOCH) epochs--;
  return size(epochs, digitsFor(epochs));
}

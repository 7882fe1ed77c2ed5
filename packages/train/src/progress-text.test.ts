import { describe, expect, it } from 'vitest';
import type { BatchProgress } from './index.js';
import { type EpochMetrics, formatDuration, formatTable, ProgressPrinter } from './node.js';

const batch: BatchProgress = {
  epoch: 1,
  epochs: 3,
  batch: 2,
  batches: 4,
  loss: 0.51234,
  accuracy: 0.875,
  lr: 0.001,
  imagesPerSec: 1234.4,
  etaSeconds: 75,
};
const row: EpochMetrics = {
  epoch: 1,
  trainLoss: 0.5,
  trainAccuracy: 0.8,
  valLoss: null,
  valAccuracy: null,
  lr: 0.01,
  imagesPerSec: 5.25,
  seconds: 3725,
};

function printer(terminal: boolean, logEvery?: number) {
  let text = '';
  return {
    p: new ProgressPrinter({ write: (s: string) => (text += s) }, { terminal, logEvery }),
    text: () => text,
  };
}

describe('ProgressPrinter', () => {
  it('redraws one bar on a terminal and clears it before the next line', () => {
    const { p, text } = printer(true);
    p.batch(batch);
    p.line('done');
    expect(text()).toBe(
      `\repoch 1/3 ${'█'.repeat(12)}${'░'.repeat(12)} 2/4 loss 0.5123 acc 87.50% lr 1.00e-3 1234 img/s ETA 1:15\x1b[K\r\x1b[Kdone\n`,
    );
  });

  it('prints a line every logEvery batches in a log, and nothing without logEvery', () => {
    const every = printer(false, 2);
    every.p.batch(batch);
    every.p.batch({ ...batch, batch: 3 });
    expect(every.text()).toBe(
      'epoch 1/3 batch 2/4 loss 0.5123 acc 87.50% lr 1.00e-3 1234 img/s ETA 1:15\n',
    );
    const silent = printer(false);
    silent.p.batch(batch);
    expect(silent.text()).toBe('');
  });

  it('prints the epoch line and the table of epochs', () => {
    const { p, text } = printer(false);
    p.epoch(row, 3);
    p.epochTable([]);
    p.epochTable([row]);
    expect(text()).toBe(
      'epoch 1/3  train loss 0.5000 acc 80.00%  lr 1.00e-2  5.3 img/s  3725.0 s\n' +
        '\nepoch  train loss  train acc  val loss  val acc       lr  img/s     time\n' +
        '-----  ----------  ---------  --------  -------  -------  -----  -------\n' +
        '    1      0.5000     80.00%         -        -  1.00e-2    5.3  1:02:05\n\n',
    );
  });
});

describe('the formatters', () => {
  it('format durations and align tables', () => {
    expect(formatDuration(59.6)).toBe('1:00');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    expect(
      formatTable(
        ['name', 'n'],
        [
          ['a', '10'],
          ['bb', '2'],
        ],
      ),
    ).toBe('name   n\n----  --\na     10\nbb     2');
  });
});

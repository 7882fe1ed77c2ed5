import type { EpochMetrics } from './run-directory.js';
import type { BatchProgress } from './training-progress.js';

/** Formats seconds as m:ss (or h:mm:ss), the way progress bars show an ETA. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Formats a fraction in [0, 1] as a percentage with two decimals. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(2)}%` : 'n/a';
}

/** A learning rate, compactly: rates span many orders of magnitude. */
const rate = (lr: number) => lr.toExponential(2);

const loss = (value: number) => (Number.isFinite(value) ? value.toFixed(4) : String(value));

/** Whole numbers, one decimal below 10 (a software GPU manages 0.3 img/s). */
const throughput = (perSec: number) =>
  perSec < 10 ? perSec.toFixed(1) : String(Math.round(perSec));

/** Renders rows as an aligned text table with a header rule; numbers align right. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const isNumeric = header.map((_, i) => rows.every((r) => /^[-+\d.e%:]*$/i.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (isNumeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A bar of `width` cells filled to `fraction`. */
function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** Something text is written to: a Node stream, or a collector in a test. */
export interface TextSink {
  write(text: string): unknown;
}

/** Options of {@link ProgressPrinter}. */
export interface ProgressPrinterOptions {
  /** Redraw one bar in place (a terminal); otherwise print plain lines (a log file, a pipe). */
  terminal: boolean;
  /** Without a terminal, also print a line every this many batches (default 0: none). */
  logEvery?: number;
}

/**
 * Prints training progress as text, as Keras's ProgbarLogger does: a bar redrawn in place on
 * a terminal or a line every `logEvery` batches in a log, a line per epoch and the table of
 * all epochs at the end. Other output goes through {@link ProgressPrinter.line} (or calls
 * {@link ProgressPrinter.clear} first), so a half-drawn bar never runs into it.
 */
export class ProgressPrinter {
  private barShown = false;

  constructor(
    private readonly out: TextSink,
    private readonly options: ProgressPrinterOptions,
  ) {}

  /** Progress inside an epoch (e.g. `TrainingProgress`'s `onBatch`). */
  batch(p: BatchProgress): void {
    const figures =
      ` loss ${loss(p.loss)} acc ${formatPercent(p.accuracy)} lr ${rate(p.lr)}` +
      ` ${throughput(p.imagesPerSec)} img/s ETA ${formatDuration(p.etaSeconds)}`;
    if (this.options.terminal) {
      const progress = `${bar(p.batch / p.batches, 24)} ${p.batch}/${p.batches}`;
      this.out.write(`\repoch ${p.epoch}/${p.epochs} ${progress}${figures}\x1b[K`);
      this.barShown = true;
    } else if (this.options.logEvery && p.batch % this.options.logEvery === 0) {
      this.out.write(`epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}${figures}\n`);
    }
  }

  /** The summary line of a finished epoch. */
  epoch(m: EpochMetrics, epochs: number): void {
    const val =
      m.valLoss === null
        ? ''
        : `  val loss ${loss(m.valLoss)} acc ${formatPercent(m.valAccuracy ?? Number.NaN)}`;
    this.line(
      `epoch ${m.epoch}/${epochs}  train loss ${loss(m.trainLoss)} acc ${formatPercent(m.trainAccuracy)}${val}` +
        `  lr ${rate(m.lr)}  ${throughput(m.imagesPerSec)} img/s  ${m.seconds.toFixed(1)} s`,
    );
  }

  /** The per-epoch table printed at the end of a run (nothing when no epoch ran). */
  epochTable(rows: EpochMetrics[]): void {
    if (rows.length === 0) return;
    const header = [
      'epoch',
      'train loss',
      'train acc',
      'val loss',
      'val acc',
      'lr',
      'img/s',
      'time',
    ];
    const cells = rows.map((m) => [
      String(m.epoch),
      loss(m.trainLoss),
      formatPercent(m.trainAccuracy),
      m.valLoss === null ? '-' : loss(m.valLoss),
      m.valAccuracy === null ? '-' : formatPercent(m.valAccuracy),
      rate(m.lr),
      throughput(m.imagesPerSec),
      formatDuration(m.seconds),
    ]);
    this.line(`\n${formatTable(header, cells)}\n`);
  }

  /** A line of other output, below the bar. */
  line(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  /** Removes a half-drawn bar so the next line starts clean. */
  clear(): void {
    if (this.barShown) {
      this.out.write('\r\x1b[K');
      this.barShown = false;
    }
  }
}

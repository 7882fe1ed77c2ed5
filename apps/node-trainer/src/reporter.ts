import type { BackendSelection } from '@resnet-ts/core';
import type { EpochMetrics } from '@resnet-ts/train/node';
import { bar, duration, loss, percent, rate, sanitizeLines, table, throughput } from './format.js';

export type { EpochMetrics };

/** Per-batch progress inside an epoch. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  lr: number;
  imagesPerSec: number;
  etaSeconds: number;
}

/** How the CLI talks: a live bar on a terminal, plain lines in a pipe, JSON lines, or nearly silent. */
export type OutputMode = 'tty' | 'plain' | 'json' | 'quiet';

/** Picks the output mode from the flags and whether stdout is a terminal. */
export function outputMode(opts: { json?: boolean; quiet?: boolean }, isTTY: boolean): OutputMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  return isTTY ? 'tty' : 'plain';
}

/**
 * Every piece of output goes through one reporter, so the four modes stay consistent: a machine
 * reading `--json` sees the same events a person sees as lines and bars.
 */
export class Reporter {
  private barShown = false;

  constructor(
    readonly mode: OutputMode,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly logEvery = 0,
  ) {}

  /** Writes one JSON event line (json mode only). */
  event(name: string, data: Record<string, unknown> = {}): void {
    if (this.mode === 'json') this.out.write(`${JSON.stringify({ event: name, ...data })}\n`);
  }

  /** A line for people (tty and plain modes). */
  info(text: string): void {
    if (this.mode === 'tty' || this.mode === 'plain') {
      this.clearBar();
      this.out.write(`${sanitizeLines(text)}\n`);
    }
  }

  /** A line that even --quiet shows: the final result. */
  result(text: string, data: Record<string, unknown> = {}, eventName = 'result'): void {
    if (this.mode === 'json') this.event(eventName, data);
    else {
      this.clearBar();
      this.out.write(`${sanitizeLines(text)}\n`);
    }
  }

  /** A warning, on stderr for people and as an event for machines. */
  warn(text: string): void {
    if (this.mode === 'json') this.event('warning', { message: text });
    else {
      this.clearBar();
      this.err.write(`warning: ${sanitizeLines(text)}\n`);
    }
  }

  /** An error that ends the run: always on stderr, also as an event in json mode. */
  error(message: string, exitCode: number): void {
    this.clearBar();
    if (this.mode === 'json') this.event('error', { message, exitCode });
    this.err.write(`error: ${sanitizeLines(message)}\n`);
  }

  /** The backend report: which backend was picked and why each one before it was skipped. */
  backends(selection: BackendSelection, text: string): void {
    if (this.mode === 'json')
      this.event('backend', { name: selection.name, tried: selection.tried });
    else this.info(text);
  }

  /** Progress inside an epoch: redraws the bar on a terminal, a line every `logEvery` batches otherwise. */
  batch(p: BatchProgress): void {
    if (this.mode === 'tty') {
      const text =
        `epoch ${p.epoch}/${p.epochs} ${bar(p.batch / p.batches, 24)} ${p.batch}/${p.batches}` +
        ` loss ${loss(p.loss)} acc ${percent(p.accuracy)} lr ${rate(p.lr)}` +
        ` ${throughput(p.imagesPerSec)} img/s ETA ${duration(p.etaSeconds)}`;
      this.out.write(`\r${text}\x1b[K`);
      this.barShown = true;
    } else if (this.logEvery > 0 && p.batch % this.logEvery === 0) {
      if (this.mode === 'plain') {
        this.out.write(
          `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches} loss ${loss(p.loss)}` +
            ` acc ${percent(p.accuracy)} lr ${rate(p.lr)} ${throughput(p.imagesPerSec)} img/s` +
            ` ETA ${duration(p.etaSeconds)}\n`,
        );
      } else this.event('batch', { ...p });
    }
  }

  /** The summary of a finished epoch: one line for people, one event for machines. */
  epoch(m: EpochMetrics, epochs: number): void {
    if (this.mode === 'json') {
      this.event('epoch', { ...m, epochs });
      return;
    }
    const val =
      m.valLoss === null
        ? ''
        : `  val loss ${loss(m.valLoss)} acc ${percent(m.valAccuracy ?? Number.NaN)}`;
    this.info(
      `epoch ${m.epoch}/${epochs}  train loss ${loss(m.trainLoss)} acc ${percent(m.trainAccuracy)}${val}` +
        `  lr ${rate(m.lr)}  ${throughput(m.imagesPerSec)} img/s  ${m.seconds.toFixed(1)} s`,
    );
  }

  /** The per-epoch table printed at the end of a run. */
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
      percent(m.trainAccuracy),
      m.valLoss === null ? '-' : loss(m.valLoss),
      m.valAccuracy === null ? '-' : percent(m.valAccuracy),
      rate(m.lr),
      throughput(m.imagesPerSec),
      duration(m.seconds),
    ]);
    this.info(`\n${table(header, cells)}\n`);
  }

  /** Removes a half-drawn progress bar so the next line starts clean. */
  clearBar(): void {
    if (this.barShown) {
      this.out.write('\r\x1b[K');
      this.barShown = false;
    }
  }
}

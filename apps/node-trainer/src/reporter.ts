import type { BackendSelection } from '@resnet-ts/core';
import type { BatchProgress } from '@resnet-ts/train';
import { type EpochMetrics, ProgressPrinter } from '@resnet-ts/train/node';
import { sanitizeLines } from './format.js';

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
  /** Draws the bar, the epoch lines and the table for people. */
  private readonly printer: ProgressPrinter;

  constructor(
    readonly mode: OutputMode,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly logEvery = 0,
  ) {
    this.printer = new ProgressPrinter(out, { terminal: mode === 'tty', logEvery });
  }

  /** Writes one JSON event line (json mode only). */
  event(name: string, data: Record<string, unknown> = {}): void {
    if (this.mode === 'json') this.out.write(`${JSON.stringify({ event: name, ...data })}\n`);
  }

  /** A line for people (tty and plain modes). */
  info(text: string): void {
    if (this.mode === 'tty' || this.mode === 'plain') this.printer.line(sanitizeLines(text));
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

  /** The backend report: which backend was picked and why each one before it was skipped. */
  backends(selection: BackendSelection, text: string): void {
    if (this.mode === 'json')
      this.event('backend', { name: selection.name, tried: selection.tried });
    else this.info(text);
  }

  /** Progress inside an epoch: redraws the bar on a terminal, a line every `logEvery` batches otherwise. */
  batch(p: BatchProgress): void {
    if (this.mode === 'tty' || this.mode === 'plain') this.printer.batch(p);
    else if (this.mode === 'json' && this.logEvery > 0 && p.batch % this.logEvery === 0) {
      this.event('batch', { ...p });
    }
  }

  /** The summary of a finished epoch: one line for people, one event for machines. */
  epoch(m: EpochMetrics, epochs: number): void {
    if (this.mode === 'json') this.event('epoch', { ...m, epochs });
    else if (this.mode !== 'quiet') this.printer.epoch(m, epochs);
  }

  /** The per-epoch table printed at the end of a run. */
  epochTable(rows: EpochMetrics[]): void {
    if (this.mode === 'tty' || this.mode === 'plain') this.printer.epochTable(rows);
  }

  /** Removes a half-drawn progress bar so the next line starts clean. */
  clearBar(): void {
    this.printer.clear();
  }
}

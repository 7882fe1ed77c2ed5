import { sanitizeForTerminal } from '@resnet-ts/core';

/** Formats seconds as m:ss (or h:mm:ss), the way progress bars show an ETA. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Formats a fraction in [0, 1] as a percentage with two decimals. */
export function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(2)}%` : 'n/a';
}

/** Formats a learning rate compactly; rates span many orders of magnitude. */
export function rate(lr: number): string {
  return lr.toExponential(2);
}

/** Formats a loss with four decimals. */
export function loss(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value);
}

/** Renders rows as an aligned text table with a header rule; numbers align right. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const isNumeric = header.map((_, i) => rows.every((r) => /^[-+\d.e%:]*$/i.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (isNumeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Renders a bar of `width` cells filled to `fraction`. */
export function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** Formats a throughput: whole numbers, one decimal below 10 (a software GPU manages 0.3 img/s). */
export function throughput(perSec: number): string {
  return perSec < 10 ? perSec.toFixed(1) : String(Math.round(perSec));
}

/** {@link sanitizeForTerminal} for text of several lines: the line breaks stay. */
export function sanitizeLines(text: string): string {
  return text.split('\n').map(sanitizeForTerminal).join('\n');
}

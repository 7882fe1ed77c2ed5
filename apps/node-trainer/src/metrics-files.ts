import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EpochMetrics } from './reporter.js';

const COLUMNS: Array<keyof EpochMetrics> = [
  'epoch',
  'trainLoss',
  'trainAccuracy',
  'valLoss',
  'valAccuracy',
  'lr',
  'imagesPerSec',
  'seconds',
];

/** The per-epoch history as CSV, one row per epoch, empty cells where there was no validation. */
export function metricsCsv(rows: EpochMetrics[]): string {
  const header = COLUMNS.map((c) => c.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`)).join(',');
  const lines = rows.map((r) => COLUMNS.map((c) => (r[c] === null ? '' : String(r[c]))).join(','));
  return `${[header, ...lines].join('\n')}\n`;
}

/** Everything a run measured, as written to metrics.json. */
export interface RunMetrics {
  epochs: EpochMetrics[];
  test?: { accuracy: number; loss: number; correct: number; total: number };
  status: 'running' | 'completed' | 'interrupted' | 'failed';
}

/** Writes metrics.csv and metrics.json into `dir`; called after every epoch so an interrupted run keeps its history. */
export async function writeMetrics(dir: string, metrics: RunMetrics): Promise<void> {
  await writeFile(join(dir, 'metrics.csv'), metricsCsv(metrics.epochs));
  await writeFile(join(dir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
}

import { activateBackend, type BackendOptions } from '../backend.js';
import type { Reporter } from '../reporter.js';

/** `resnet-ts backends`: the backend report alone (with --quiet, just the picked name). */
export async function runBackends(opts: BackendOptions, report: Reporter): Promise<void> {
  const selection = await activateBackend(opts, report);
  if (report.mode === 'quiet') report.result(selection.name);
}

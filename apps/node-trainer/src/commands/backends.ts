import { activateBackend } from '../backend.js';
import type { BackendChoice } from '../choices.js';
import type { Reporter } from '../reporter.js';

/** `resnet-ts backends`: the backend report alone (with --quiet, just the picked name). */
export async function runBackends(
  opts: { backend: BackendChoice },
  report: Reporter,
): Promise<void> {
  const selection = await activateBackend(opts.backend, report);
  if (report.mode === 'quiet') report.result(selection.name);
}

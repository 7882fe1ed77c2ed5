import {
  type BackendName,
  type BackendSelection,
  formatBackendReport,
  selectBackend,
} from '@resnet-ts/core';
import { CliError } from './errors.js';
import type { Reporter } from './reporter.js';

/** `--backend` and `--threads`, as every command that computes takes them. */
export interface BackendOptions {
  /** `auto`, or a backend of `defaultBackendOrder()` (those Node can run). */
  backend: 'auto' | BackendName;
  /** Threads of the wasm backend; every core when not given. */
  threads?: number;
}

/**
 * Activates the requested backend (or the best one, for `auto`). A backend asked for by name
 * that cannot start is an error rather than a silent fallback, so a user who asked for the GPU
 * knows they did not get it. The report (picked, and why each other one was skipped) goes to
 * `report`.
 */
export async function activateBackend(
  { backend: choice, threads }: BackendOptions,
  report: Reporter,
): Promise<BackendSelection> {
  let selection: BackendSelection;
  try {
    selection = await selectBackend({
      ...(choice === 'auto' ? {} : { prefer: [choice] }),
      threads: threads ?? 'all',
    });
  } catch (e) {
    const hint =
      choice === 'tensorflow'
        ? '\nSee apps/node-trainer/README.md ("GPU backends") for how to install @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node.'
        : '';
    throw new CliError(`backend '${choice}' is not usable: ${(e as Error).message}${hint}`);
  }
  report.backends(selection, formatBackendReport(selection));
  return selection;
}

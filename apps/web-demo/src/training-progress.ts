/**
 * The line under the progress bar: "step 12/750 · ETA 1:23" while training, and what the
 * run is doing before its first step reports (a GPU backend compiles its shaders then, for
 * seconds on a software renderer).
 */

/** m:ss, or h:mm:ss from an hour on. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Estimates the time left from the steps reported since the first one of this run. */
export class ProgressClock {
  private first: { step: number; time: number } | null = null;

  /** `gpu`: the backend compiles shaders on its first step (webgl, webgpu). */
  constructor(private readonly gpu: boolean) {}

  /** What shows before the first step has reported. */
  startText(): string {
    return this.gpu
      ? 'compiling shaders… (the first step on the GPU builds its programs)'
      : 'starting…';
  }

  /** Starts the estimate afresh from the next step (after a pause, whose time says nothing). */
  restart(): void {
    this.first = null;
  }

  /**
   * The line for step `step` of `total`, reported at `now` (ms). The first report starts the
   * clock: it carries the compile time and a continued run's earlier steps, neither of which
   * says how fast the rest will go.
   */
  update(step: number, total: number, now: number): string {
    const head = `step ${step}/${total}`;
    if (!this.first) {
      this.first = { step, time: now };
      return head;
    }
    const done = step - this.first.step;
    if (done <= 0) return head;
    const perStep = (now - this.first.time) / done;
    return `${head} · ETA ${formatDuration((total - step) * perStep)}`;
  }
}

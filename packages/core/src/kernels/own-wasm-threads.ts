/**
 * Worker threads for resnet-ts's own wasm kernels. Each worker instantiates the same module
 * over the backend's shared memory and sleeps on a small shared control block; the calling
 * thread hands every worker a part of the work (a range of rows or images), does the first
 * part itself, then runs any part no worker has taken yet (a worker the system has not
 * scheduled, on a busy machine) and waits with `Atomics.wait` only for parts a worker is
 * running. A caller that may not block (a browser's main thread) gets no pool, and a pool
 * whose workers have not finished starting runs every part on the calling thread, so
 * nothing ever waits for a worker to start.
 */

/** Int32 slots per worker in the control block (one 64-byte line each, so workers do not share one). */
const SLOTS = 16;
/**
 * 2 * call number when a part is posted, + 1 once the worker or the caller has taken it (one
 * compare-and-swap decides), -1 to stop.
 */
const STATE = 0;
const DONE = 1;
const OP = 2;
const ARGC = 3;
const READY = 4;
const FAILED = 5;
/**
 * Milliseconds a worker spins for its next part, and the caller for a worker's part, before
 * sleeping in Atomics.wait: a wake-up costs tens to hundreds of microseconds on a virtual
 * machine, as long as a whole small part. Spinning longer costs the other thread more than it
 * saves (VanResNet's 2-thread step, alternated: 0.1 ms 25.0-26.3 ms, 0.2 ms 25.6-27.1, 0.5 ms
 * 26.5-27.4, 1 ms 26.8-29.1).
 */
const SPIN_MS = 0.1;
/** Float64 arguments per worker, after the int32 slots. */
const MAX_ARGS = 24;

/**
 * The worker's program, as a string so that it needs no file of its own (Node evaluates it,
 * a browser worker loads it from a Blob URL). It sleeps on its `STATE` slot; when a part is
 * posted it takes it unless the caller already has, runs the export named by `OP` with the
 * arguments written for it, then publishes the call number in `DONE`.
 */
const WORKER_SOURCE = `
const start = ({ module, memory, control, index, argBase, names }) => {
  const e = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((n) => e[n]);
  const ctl = new Int32Array(control);
  const f64 = new Float64Array(control);
  const base = index * ${SLOTS};
  Atomics.store(ctl, base + ${READY}, 1);
  let seen = 0;
  for (;;) {
    // Spin a little before sleeping: a kernel's calls come back to back, and a wake-up from
    // Atomics.wait takes longer than a small part, which the caller then runs itself.
    const until = performance.now() + ${SPIN_MS};
    for (let i = 1; Atomics.load(ctl, base + ${STATE}) === seen; i++) {
      if ((i & 255) === 0 && performance.now() > until) {
        Atomics.wait(ctl, base + ${STATE}, seen);
        break;
      }
    }
    const state = Atomics.load(ctl, base + ${STATE});
    if (state < 0) return;
    seen = state;
    if (state & 1 || Atomics.compareExchange(ctl, base + ${STATE}, state, state + 1) !== state) {
      continue;
    }
    const args = [];
    for (let i = 0; i < ctl[base + ${ARGC}]; i++) args.push(f64[argBase + i]);
    try {
      fns[ctl[base + ${OP}]](...args);
    } catch {
      Atomics.store(ctl, base + ${FAILED}, 1);
    }
    Atomics.store(ctl, base + ${DONE}, state >> 1);
    Atomics.notify(ctl, base + ${DONE});
  }
};
if (typeof require === 'function') require('node:worker_threads').parentPort.once('message', start);
else self.onmessage = (m) => start(m.data);
`;

interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
  unref?: () => void;
}

let workerParts = 0;

/** How many parts of kernel calls the pools' workers have run so far in this process. */
export function partsRunOnWorkers(): number {
  return workerParts;
}

/** A function the pool can run: a wasm export, called with numbers. */
type Export = (...args: number[]) => void;

/** Runs the parts of one kernel call on the calling thread and the pool's workers. */
export interface PartRunner {
  /** How many parts a call may be split into (1 + the workers). */
  readonly threads: number;
  /** Runs export `op` once per argument list, the first on this thread; returns when all are done. */
  run(op: number, parts: number[][]): void;
  /** Stops the workers; later calls run every part on the calling thread. */
  release(): void;
}

/** Whether this thread may block in `Atomics.wait` (not a browser's main thread). */
function mayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a worker running `source`, under Node or in a browser worker; null where neither works. */
function spawn(source: string): AnyWorker | null {
  const proc = (globalThis as { process?: any }).process;
  if (typeof proc?.getBuiltinModule === 'function' && typeof proc.versions?.node === 'string') {
    const { Worker } = proc.getBuiltinModule('worker_threads');
    const worker = new Worker(source, { eval: true });
    // A pool of idle kernel threads must not keep a finished program running.
    worker.unref();
    return worker;
  }
  const W = (globalThis as { Worker?: new (url: string) => AnyWorker }).Worker;
  if (typeof W !== 'function' || typeof Blob !== 'function') return null;
  // The URL stays valid: a worker may fetch its script after its constructor returns.
  return new W(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
}

/** Runs every part on the calling thread. */
function sequential(fns: Export[]): PartRunner {
  return {
    threads: 1,
    run(op, parts) {
      for (const args of parts) fns[op](...args);
    },
    release() {},
  };
}

/**
 * A runner over `threads - 1` workers, each with its own instance of `module` over `memory`;
 * a plain sequential runner where the memory is not shared, `threads` is 1, this thread may
 * not block or no worker can be started.
 */
export function partRunner(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  names: readonly string[],
  fns: Export[],
  threads: number,
): PartRunner {
  const shared =
    typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
  if (!shared || threads < 2 || !mayBlock()) return sequential(fns);
  const count = threads - 1;
  const control = new SharedArrayBuffer(SLOTS * 4 * count + MAX_ARGS * 8 * count);
  const ctl = new Int32Array(control);
  const f64 = new Float64Array(control);
  const argBase = (w: number) => (SLOTS * 4 * count + w * MAX_ARGS * 8) / 8;
  const workers: AnyWorker[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const worker = spawn(WORKER_SOURCE);
      if (worker == null) break;
      worker.postMessage({ module, memory, control, index: i, argBase: argBase(i), names });
      workers.push(worker);
    }
  } catch {
    // A worker that cannot start leaves the pool smaller; none leaves it sequential.
  }
  if (workers.length === 0) return sequential(fns);
  let seq = 0;
  let released = false;
  let ready = false;
  const allReady = () => {
    if (!ready) ready = workers.every((_, i) => Atomics.load(ctl, i * SLOTS + READY) === 1);
    return ready;
  };
  return {
    threads: workers.length + 1,
    run(op, parts) {
      if (released || parts.length < 2 || !allReady()) {
        for (const args of parts) fns[op](...args);
        return;
      }
      // Call numbers wrap well inside the int32 slot (2 * seq + 1 < 2^31).
      seq = (seq % 0x3fffffff) + 1;
      const posted = 2 * seq;
      const handed = Math.min(parts.length - 1, workers.length);
      for (let w = 0; w < handed; w++) {
        const args = parts[w + 1];
        if (args.length > MAX_ARGS) throw new Error(`own wasm pool: ${args.length} arguments`);
        const base = w * SLOTS;
        const at = argBase(w);
        for (let i = 0; i < args.length; i++) f64[at + i] = args[i];
        ctl[base + OP] = op;
        ctl[base + ARGC] = args.length;
        Atomics.store(ctl, base + STATE, posted);
        Atomics.notify(ctl, base + STATE);
      }
      fns[op](...parts[0]);
      // Parts beyond the pool's size run here too.
      for (let p = handed + 1; p < parts.length; p++) fns[op](...parts[p]);
      let failed = false;
      for (let w = 0; w < handed; w++) {
        const base = w * SLOTS;
        if (Atomics.compareExchange(ctl, base + STATE, posted, posted + 1) === posted) {
          fns[op](...parts[w + 1]);
          continue;
        }
        workerParts++;
        // The worker is on its part: spin briefly for it (parts are short), then sleep.
        const until = performance.now() + SPIN_MS;
        for (let i = 1, d = Atomics.load(ctl, base + DONE); d !== seq; i++) {
          if ((i & 255) === 0 && performance.now() > until) Atomics.wait(ctl, base + DONE, d);
          d = Atomics.load(ctl, base + DONE);
        }
        if (Atomics.exchange(ctl, base + FAILED, 0) === 1) failed = true;
      }
      if (failed) throw new Error(`own wasm kernel '${names[op]}' failed on a worker thread`);
    },
    release() {
      if (released) return;
      released = true;
      for (let w = 0; w < workers.length; w++) {
        Atomics.store(ctl, w * SLOTS + STATE, -1);
        Atomics.notify(ctl, w * SLOTS + STATE);
        workers[w].terminate();
      }
    },
  };
}

// How long the benchmark scripts warm a training step up before timing it.

/**
 * Seconds of training steps before each training measurement (run.mjs, ours and PyTorch's
 * alike; step-tails.mjs), per model, so that the rows measure the steady state a training run
 * spends its minutes in. A Node process's first seconds of steps run slower while V8 compiles
 * the hot functions on a background thread, and with as many threads as cores that thread
 * takes a core from the step: VanResNet on 2 threads, blocks of 50 steps, 22.7 20.4 19.4 18.7
 * ms a step over the first 4 s, as the compiler's CPU time fell from 3.0 to 1.5 ms a step.
 * Functions called a few times a step reach the optimising compiler only after hundreds of
 * steps, so it stays busy for long after: per 2 s of VanResNet's 2-thread steps, 175, 113,
 * 101, 72, 61 ms of compiling from the 2nd to the 12th second and 5-45 ms from the 18th on,
 * the step 17.1-17.3 ms from the 4th to the 8th second and 16.0-16.6 from the 10th on; on one
 * thread, whose spare core takes the compiler, 29.5-30.8 ms from the 4th second on. One
 * process per measurement, 5 s timed: after 5 s of warm-up 1 thread 31.7 and 32.2 ms, 2
 * threads 18.9 and 17.3 (the second thread 1.68x and 1.86x); after 15 s 30.9 and 31.1 ms, 2
 * threads 16.0 and 16.0 (1.93x and 1.94x). ResNet-18 and ResNet-50, whose steps take 0.4-1 s,
 * spend a far smaller part of theirs compiling.
 * @type {Record<string, number>}
 */
export const warmupSeconds = { vanresnet: 15, resnet18: 5, resnet50: 5 };

/**
 * Memory measurements for tests that prove memory is bounded by the batch and the pipeline
 * depth, not by the dataset's size.
 *
 * What is measured is resident memory after this thread's garbage is collected, sampled
 * while the work runs: the memory the process keeps alive. Raw RSS also holds garbage that
 * each thread's collector has not reached yet, and with several threads (codecs and hashing
 * run on workers) that slack alone varies by a hundred MiB from run to run, so a bound on
 * raw RSS either fails at random or is too loose to catch a leak. The shared worker pool's
 * threads are collected too.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sharedWorkerPool } from '../workers/worker-pool.ts';

/**
 * A full garbage collection of this thread. Vitest's workers run without `--expose-gc`; the
 * flag can still be set at run time and `gc` fetched from a fresh context.
 */
export function collectGarbage(): void {
  if (!globalThis.gc) setFlagsFromString('--expose-gc');
  (globalThis.gc ?? (runInNewContext('gc') as () => void))();
}

/** Resident memory after a full collection in this thread and in the shared pool's workers. */
export async function settledRss(): Promise<number> {
  collectGarbage();
  await sharedWorkerPool().collectGarbage();
  return process.memoryUsage().rss;
}

/**
 * Runs `run`, sampling {@link settledRss} every `everyMs` (and once at the end); returns its
 * value and the peak growth over the settled baseline before it started.
 */
export async function settledMemoryGrowth<T>(
  run: () => Promise<T>,
  everyMs = 100,
): Promise<{ value: T; growth: number }> {
  const baseline = await settledRss();
  let peak = baseline;
  let sampling: Promise<void> | undefined;
  const timer = setInterval(() => {
    sampling ??= settledRss()
      .then((rss) => {
        peak = Math.max(peak, rss);
      })
      .catch(() => undefined)
      .finally(() => {
        sampling = undefined;
      });
  }, everyMs);
  try {
    const value = await run();
    clearInterval(timer);
    await sampling;
    peak = Math.max(peak, await settledRss());
    return { value, growth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

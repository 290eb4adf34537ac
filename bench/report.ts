/** Helpers for bench modules: timing, peak RSS, and the one-JSON-line-per-result protocol. */
import type { ScenarioResult } from './run.ts';

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Tracks RSS while `run` executes (sampling), returning seconds and the peak in MB. */
export async function measure<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number; peakRssMb: number }> {
  globalThis.gc?.();
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  try {
    const value = await run();
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, seconds, peakRssMb: peak / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

export function emit(result: ScenarioResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function benchRows(fallback: number): number {
  return Number(process.env.BENCH_ROWS ?? fallback);
}

/** A row count for a scenario name: `10M`, or `250,000`. */
export function rowsLabel(rows: number): string {
  return rows >= 1_000_000 && rows % 1_000_000 === 0 ? `${rows / 1_000_000}M` : rows.toLocaleString('en-US');
}

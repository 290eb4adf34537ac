/**
 * Retry backoff: how long a task that failed transiently waits before its next attempt.
 *
 * The base delay grows exponentially, `initialMs · factor^(attempt-1)`, capped at `maxMs`.
 * Jitter spreads retries of many tasks that failed together (a database restart fails a
 * whole fleet at once) so they do not return in lockstep:
 * - `full` (default, the spec's `jitter: true`): a random delay between 0 and the base
 *   delay. Spreads retries best; an individual retry may come early.
 * - `equal`: half the base delay plus a random share of the other half, so a retry never
 *   comes sooner than half the base delay (a struggling system always gets a breather).
 * - `none` (the spec's `jitter: false`): exactly the base delay.
 */

export type BackoffJitter = 'equal' | 'full' | 'none';

export interface BackoffPolicy {
  /** Delay before the second attempt, in ms. */
  initialMs: number;
  /** Growth per further attempt. */
  factor: number;
  /** Upper bound of the base delay, in ms. */
  maxMs: number;
  /** `true` means `full`, `false` means `none` (the spec file's boolean form). */
  jitter: BackoffJitter | boolean;
}

/** Matches the spec file's documented defaults (`retry.backoff`). */
export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialMs: 1000,
  factor: 2,
  maxMs: 60_000,
  jitter: 'full',
});

/**
 * The delay in ms before retrying after failed attempt number `attempt` (1-based).
 * `random` returns a number in [0, 1); injectable for tests.
 */
export function computeBackoff(
  attempt: number,
  policy: Partial<BackoffPolicy> = {},
  random: () => number = Math.random,
): number {
  const { initialMs, factor, maxMs, jitter } = { ...DEFAULT_BACKOFF, ...policy };
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(maxMs, initialMs * factor ** exponent);
  const capped = Number.isFinite(base) ? Math.max(0, base) : maxMs;
  const mode = jitter === true ? 'full' : jitter === false ? 'none' : jitter;
  switch (mode) {
    case 'none':
      return Math.round(capped);
    case 'equal':
      return Math.round(capped / 2 + random() * (capped / 2));
    default:
      return Math.round(random() * capped);
  }
}

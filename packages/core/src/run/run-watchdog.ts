/**
 * Every phase of a run makes progress or times out.
 *
 * The watchdog counts as progress every connector call that starts or ends (a batch read, a
 * batch written, a schema read, a publish returning: the guards report them) and every
 * phase change. When none happened for `idleTimeoutMs`, or the whole run took longer than
 * `timeoutMs`, it aborts the run's controller with a {@link TimedOutError} naming the phase,
 * how long it was idle and the connector calls still outstanding. The abort reaches the
 * connectors through the AbortSignal they were given; runTask stops waiting for them at
 * once (see {@link untilAborted}) and removes the staging.
 *
 * One timer per run, re-armed only when it fires: progress costs a clock read, not a timer.
 */
import type { ActivityTracker } from '../connector/guard.ts';
import { abortError, TimedOutError } from '../errors/honk-error.ts';
import type { RunPhase } from './task-report.ts';

/** Default `idleTimeout`: ten minutes without any progress end an attempt. */
export const DEFAULT_IDLE_TIMEOUT_MS = 600_000;

/** `1h 5m`, `2m 30s`, `4.2s`, `250ms`: durations for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) parts.push(`${amount}${unit}`);
  }
  return parts.slice(0, 2).join(' ');
}

/** A usable limit: a positive, finite number of ms; anything else means "no limit". */
function limitOf(ms: number | undefined): number | undefined {
  return ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export interface RunWatchdogOptions {
  taskId: string;
  /** No progress for this long aborts the run. 0, Infinity or undefined: no idle limit. */
  idleTimeoutMs?: number | undefined;
  /** The run may take this long in total. 0, Infinity or undefined: no limit. */
  timeoutMs?: number | undefined;
  /** Aborted with the TimedOutError. */
  controller: AbortController;
  /** The phase the run is in now. */
  phase: () => RunPhase;
}

/** See the module documentation. */
export class RunWatchdog implements ActivityTracker {
  readonly idleTimeoutMs: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly #options: RunWatchdogOptions;
  readonly #pending = new Map<number, { what: string; since: number }>();
  #nextId = 0;
  #started = 0;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RunWatchdogOptions) {
    this.#options = options;
    this.idleTimeoutMs = limitOf(options.idleTimeoutMs);
    this.timeoutMs = limitOf(options.timeoutMs);
  }

  /** Starts the clocks. Does nothing without limits. */
  start(): void {
    this.#started = performance.now();
    this.#last = this.#started;
    this.#arm();
  }

  /** Stops the timer; the run has ended or is cleaning up. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Progress happened (a phase change, a batch). */
  touch(): void {
    this.#last = performance.now();
  }

  begin(what: string): () => void {
    const id = this.#nextId++;
    const now = performance.now();
    this.#last = now;
    this.#pending.set(id, { what, since: now });
    return () => {
      this.#pending.delete(id);
      this.#last = performance.now();
    };
  }

  #arm(): void {
    const now = performance.now();
    const waits: number[] = [];
    if (this.idleTimeoutMs !== undefined) waits.push(this.#last + this.idleTimeoutMs - now);
    if (this.timeoutMs !== undefined) waits.push(this.#started + this.timeoutMs - now);
    if (waits.length === 0) return;
    // Not unref'd on purpose: when everything else hangs on a connector with no open handle,
    // this timer is what ends the run.
    this.#timer = setTimeout(() => this.#check(), Math.max(1, Math.ceil(Math.min(...waits))));
  }

  #check(): void {
    this.#timer = undefined;
    const { controller, taskId } = this.#options;
    if (controller.signal.aborted) return;
    const now = performance.now();
    const phase = this.#options.phase();
    const waitingFor = [...this.#pending.values()].map(
      (call) => `${call.what} (for ${formatDuration(now - call.since)})`,
    );
    const waiting = waitingFor.length > 0 ? ` Still waiting for ${waitingFor.join(', ')}.` : '';
    const outcome =
      phase === 'publish'
        ? ' The attempt was stopped; whether the publish took effect is unknown, so the task is retried (publishing is idempotent).'
        : ' The attempt was stopped: nothing was published and its staging is removed; the task is retried.';
    const elapsed = now - this.#started;
    if (this.timeoutMs !== undefined && elapsed >= this.timeoutMs) {
      controller.abort(
        new TimedOutError(
          `Task "${taskId}" ran longer than its timeout (${formatDuration(this.timeoutMs)}); it was in phase "${phase}".${waiting}${outcome} Raise the task's timeout if it legitimately needs longer.`,
          { phase, limit: 'total', limitMs: this.timeoutMs, elapsedMs: Math.round(elapsed), waitingFor },
        ),
      );
      return;
    }
    const idle = now - this.#last;
    if (this.idleTimeoutMs !== undefined && idle >= this.idleTimeoutMs) {
      controller.abort(
        new TimedOutError(
          `Task "${taskId}" made no progress for ${formatDuration(idle)} in phase "${phase}" (idleTimeout ${formatDuration(this.idleTimeoutMs)}).${waiting}${outcome} If this phase legitimately runs longer without progress (a snapshot or publish of a very large target reports none), raise the task's idleTimeout.`,
          { phase, limit: 'idle', limitMs: this.idleTimeoutMs, elapsedMs: Math.round(idle), waitingFor },
        ),
      );
      return;
    }
    this.#arm();
  }
}

/**
 * Resolves or rejects with `promise`, or rejects with the signal's reason as soon as it
 * fires, without waiting for `promise`: a connector that ignores its AbortSignal cannot hold
 * the run. A result that arrives after the abort is handed to `lateResult` (close what it
 * opened); a late failure is dropped.
 */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  lateResult?: (value: T) => unknown,
): Promise<T> {
  const late = (value: T) => {
    if (!lateResult) return;
    void Promise.resolve()
      .then(() => lateResult(value))
      .catch(() => {});
  };
  if (signal.aborted) {
    promise.then(late, () => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let abandoned = false;
    const onAbort = () => {
      abandoned = true;
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (abandoned) late(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!abandoned) reject(error);
      },
    );
  });
}

/**
 * Waits for `promise` at most `ms` (no bound when undefined). Resolves true when it settled
 * (either way) in time, false when the wait was given up. Never rejects.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number | undefined): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  if (ms === undefined) return settled;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A per-connection circuit breaker for credential failures.
 *
 * Bad credentials are not retryable, so every task of a connection with a wrong password
 * would otherwise be claimed and dead-lettered in turn. After `failures` consecutive
 * breaker-worthy failures (default: `AUTH_FAILED`) the connection is *open*: the agent
 * claims none of its tasks for `coolDownMs`. Then it is *half-open*: tasks are claimed
 * again, and one more failure opens it at once, while a success closes it.
 *
 * Blame: an error whose `details.connection` names one of the task's connections counts
 * against that connection only. Otherwise it counts against every connection of the task,
 * and a success on any task resets the counters of its connections, so a healthy
 * connection shared with a broken one is cleared by its other tasks.
 */

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failures?: number;
  /** How long an open circuit stays open, in ms. Default 60,000. */
  coolDownMs?: number;
  /** Error codes that count. Default `['AUTH_FAILED']`. */
  codes?: readonly string[];
}

interface ConnectionState {
  failures: number;
  /** Epoch ms until which the connection is paused; 0 when closed. */
  pausedUntil: number;
  /** Half-open: the next failure re-opens at once. */
  halfOpen: boolean;
}

/** What {@link CircuitBreaker.recordFailure} changed. */
export interface BreakerTrip {
  connection: string;
  failures: number;
  until: Date;
}

export class CircuitBreaker {
  readonly threshold: number;
  readonly coolDownMs: number;
  readonly codes: ReadonlySet<string>;
  readonly #connections = new Map<string, ConnectionState>();

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = Math.max(1, options.failures ?? 3);
    this.coolDownMs = Math.max(0, options.coolDownMs ?? 60_000);
    this.codes = new Set(options.codes ?? ['AUTH_FAILED']);
  }

  /** Whether an error code is one the breaker counts. */
  counts(code: string): boolean {
    return this.codes.has(code);
  }

  /** Connections blamed for an error on a task using `connections`. */
  blame(connections: readonly string[], details: Record<string, unknown> | undefined): string[] {
    const named = details?.connection;
    if (typeof named === 'string' && connections.includes(named)) return [named];
    return [...connections];
  }

  /** Counts a failure; returns the connections this failure opened. */
  recordFailure(connections: readonly string[], now: number): BreakerTrip[] {
    const trips: BreakerTrip[] = [];
    for (const connection of connections) {
      const state = this.#state(connection);
      if (state.pausedUntil > now) continue;
      state.failures += 1;
      if (state.failures >= this.threshold || state.halfOpen) {
        state.pausedUntil = now + this.coolDownMs;
        state.halfOpen = false;
        trips.push({ connection, failures: state.failures, until: new Date(state.pausedUntil) });
      }
    }
    return trips;
  }

  /** A task using these connections succeeded: they work. */
  recordSuccess(connections: readonly string[], now: number): void {
    for (const connection of connections) {
      // A paused connection stays paused: the success began before the breaker opened.
      if (!this.isPaused(connection, now)) this.#connections.delete(connection);
    }
  }

  /** Whether the connection is paused now. */
  isPaused(connection: string, now: number): boolean {
    return (this.#connections.get(connection)?.pausedUntil ?? 0) > now;
  }

  /** Connections paused now. */
  paused(now: number): string[] {
    return [...this.#connections].filter(([, state]) => state.pausedUntil > now).map(([name]) => name);
  }

  /**
   * Moves connections whose cool-down has ended to half-open and returns them (the agent
   * announces them as resumed).
   */
  resumeDue(now: number): string[] {
    const resumed: string[] = [];
    for (const [connection, state] of this.#connections) {
      if (state.pausedUntil !== 0 && state.pausedUntil <= now) {
        state.pausedUntil = 0;
        state.failures = 0;
        state.halfOpen = true;
        resumed.push(connection);
      }
    }
    return resumed;
  }

  /** Epoch ms of the next cool-down end, if any connection is paused. */
  nextResumeAt(): number | undefined {
    let next: number | undefined;
    for (const state of this.#connections.values()) {
      if (state.pausedUntil !== 0 && (next === undefined || state.pausedUntil < next)) next = state.pausedUntil;
    }
    return next;
  }

  #state(connection: string): ConnectionState {
    let state = this.#connections.get(connection);
    if (!state) {
      state = { failures: 0, pausedUntil: 0, halfOpen: false };
      this.#connections.set(connection, state);
    }
    return state;
  }
}

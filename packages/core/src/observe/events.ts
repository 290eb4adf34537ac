/**
 * Typed events of the control plane.
 *
 * Agents and schedulers report what they do through a {@link HonkEvents} emitter; logging,
 * metrics, the CLI's progress bars and catalog adapters (Backstage) subscribe to it. Event
 * names are noun-then-verb (`task-claimed`, `connection-paused`) and every payload is a
 * small, JSON-safe object without secrets: no lease tokens, no connection options.
 *
 * Per claim the agent emits `task-claimed` first and then exactly one closing event:
 * `task-succeeded`, `task-retrying`, `task-dead`, `task-released` or `task-lease-lost`.
 * Metrics (in-flight gauge) and progress displays rely on that pairing.
 */
import type { SnapshotRef } from '../connector/connector.ts';
import type { SerializedHonkError } from '../errors/honk-error.ts';
import type { RunPhase, TaskReport, TransferStats } from '../run/task-report.ts';

/** Fields shared by every event an agent emits. */
export interface AgentEventBase {
  /** The emitting agent's id. */
  agentId: string;
  /** ISO time the event was emitted. */
  at: string;
}

/** Fields shared by every task event. */
export interface TaskEventBase extends AgentEventBase {
  taskId: string;
  /** 1 for the first attempt; counts claims, including ones whose lease was lost. */
  attempt: number;
}

/**
 * Why an agent handed a claimed task back to the queue without running it to the end.
 * `chunked`: the attempt planned a chunked task and handed its chunks to the queue.
 */
export type ReleaseReason = 'drain-timeout' | 'stopped' | 'connection-paused' | 'chunked';

/** Every event and its payload. Adapters can rely on these shapes within a major version. */
export interface HonkEventMap {
  /** The agent began claiming. */
  'agent-started': AgentEventBase & { concurrency: number; leaseMs: number };
  /** `stop()` was called or a signal arrived: the agent claims nothing more. */
  'agent-stopping': AgentEventBase & { drain: boolean; inFlight: number; reason: string };
  /** The agent stopped; `released` tasks went back to the queue unfinished. */
  'agent-stopped': AgentEventBase & { released: number };
  /** A task was claimed and is about to run. `chunkOf`: it is a chunk of that chunked task. */
  'task-claimed': TaskEventBase & {
    maxAttempts: number;
    connections: string[];
    chunkOf?: { task: string; index: number };
  };
  /** A run entered a phase (preflight, snapshot, transfer, validate, publish, rollback, done). */
  'task-phase': TaskEventBase & { phase: RunPhase };
  /** Throttled transfer progress of a running task (cumulative for this attempt). */
  'task-progress': TaskEventBase & TransferStats;
  /** The task was published and validated; the store marked it succeeded. */
  'task-succeeded': TaskEventBase & { durationMs: number; stats: TransferStats; report: TaskReport };
  /** A transient failure; the task will run again at `retryAt`. */
  'task-retrying': TaskEventBase & {
    durationMs: number;
    stats: TransferStats;
    error: SerializedHonkError;
    maxAttempts: number;
    delayMs: number;
    retryAt: string;
  };
  /** The task is in the dead-letter state: non-retryable error or attempts used up. */
  'task-dead': TaskEventBase & {
    durationMs: number;
    stats: TransferStats;
    error: SerializedHonkError;
    maxAttempts: number;
    /** `non-retryable` when the error cannot be fixed by retrying, else `attempts-exhausted`. */
    reason: 'non-retryable' | 'attempts-exhausted';
  };
  /**
   * The agent gave a claimed task back (its lease released) before it finished; `chunked`:
   * it handed its `chunks` to the queue.
   */
  'task-released': TaskEventBase & { reason: ReleaseReason; chunks?: number };
  /**
   * A heartbeat found the lease gone (expired and claimed elsewhere, or cancelled). The run
   * was aborted before publish; the store record now belongs to someone else.
   */
  'task-lease-lost': TaskEventBase & { phase: RunPhase | 'unknown' };
  /**
   * Circuit breaker: after repeated auth failures on one connection, this agent claims none
   * of that connection's tasks until `until`.
   */
  'connection-paused': AgentEventBase & { connection: string; failures: number; code: string; until: string };
  /** The cool-down ended; the connection's tasks are claimed again. */
  'connection-resumed': AgentEventBase & { connection: string };
  /** The scheduler enqueued a run of a scheduled task for one cron tick. */
  'schedule-enqueued': AgentEventBase & { taskId: string; runId: string; tick: string; created: boolean };
  /**
   * A target snapshot was discarded: `expired` (the sweep: older than its task's `keepFor`)
   * or `superseded` (a newer snapshot of the same task replaced it on the task record).
   */
  'snapshot-discarded': AgentEventBase & {
    taskId: string;
    takenAt: string;
    ref: SnapshotRef;
    reason?: 'expired' | 'superseded';
  };
}

/** Names of all events. */
export type HonkEventName = keyof HonkEventMap;

/** A listener for one event. */
export type HonkListener<Name extends HonkEventName> = (payload: HonkEventMap[Name]) => void;

/** A listener for every event (adapters forwarding everything, tests). */
export type HonkAnyListener = <Name extends HonkEventName>(name: Name, payload: HonkEventMap[Name]) => void;

/**
 * A tiny typed emitter. Listeners run synchronously in subscription order; a listener that
 * throws is reported to `onListenerError` (default: ignored) and never reaches the emitter,
 * so a broken log sink or metrics adapter cannot stop an agent.
 */
export class HonkEvents {
  readonly #listeners = new Map<HonkEventName, Set<(payload: never) => void>>();
  readonly #any = new Set<HonkAnyListener>();
  readonly #onListenerError: (error: unknown, name: HonkEventName) => void;

  constructor(options: { onListenerError?: (error: unknown, name: HonkEventName) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /** Subscribe; returns a function that unsubscribes. */
  on<Name extends HonkEventName>(name: Name, listener: HonkListener<Name>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    const stored = listener as (payload: never) => void;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  /** Unsubscribe a listener passed to {@link on}. */
  off<Name extends HonkEventName>(name: Name, listener: HonkListener<Name>): void {
    this.#listeners.get(name)?.delete(listener as (payload: never) => void);
  }

  /** Subscribe for the next occurrence only; returns a function that unsubscribes. */
  once<Name extends HonkEventName>(name: Name, listener: HonkListener<Name>): () => void {
    const off = this.on(name, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Subscribe to every event; returns a function that unsubscribes. */
  onAny(listener: HonkAnyListener): () => void {
    this.#any.add(listener);
    return () => {
      this.#any.delete(listener);
    };
  }

  /** Deliver an event to its listeners, then to `onAny` listeners. Never throws. */
  emit<Name extends HonkEventName>(name: Name, payload: HonkEventMap[Name]): void {
    const set = this.#listeners.get(name);
    if (set) {
      for (const listener of [...set]) {
        try {
          (listener as HonkListener<Name>)(payload);
        } catch (error) {
          this.#report(error, name);
        }
      }
    }
    for (const listener of [...this.#any]) {
      try {
        listener(name, payload);
      } catch (error) {
        this.#report(error, name);
      }
    }
  }

  /** Number of listeners for one event (both specific and `onAny`). */
  listenerCount(name: HonkEventName): number {
    return (this.#listeners.get(name)?.size ?? 0) + this.#any.size;
  }

  #report(error: unknown, name: HonkEventName): void {
    try {
      this.#onListenerError(error, name);
    } catch {
      // The error reporter itself failed; there is nowhere left to report to.
    }
  }
}

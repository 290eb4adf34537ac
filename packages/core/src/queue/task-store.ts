/**
 * The TaskStore contract, version 1: the queue that tasks travel through.
 *
 * A store holds one {@link TaskRecord} per task id and hands tasks to agents under a
 * *lease*. Every claim mints a fresh lease token; every mutation an agent makes on a task
 * it is running (`heartbeat`, `complete`, `fail`, `release`, `setSnapshotRef`, `split`) carries that
 * token, and the store refuses it with a {@link LeaseLostError} once the token no longer
 * holds — the lease expired, the task was cancelled or redefined, or another agent claimed
 * it since. That is the fencing that keeps an agent which stalled (GC pause, network
 * partition, SIGSTOP) from publishing or reporting over the agent that replaced it: an
 * agent heartbeats right before it publishes and aborts on `LEASE_LOST`.
 *
 * Claim order is priority (higher first), then `runAt` (earlier first), then enqueue time
 * (earlier first). A task is claimable when it is `pending` or `retrying`, its `runAt` has
 * come, its `window` (if any) contains the current time, and every connection it uses is
 * below its `maxConcurrency` (set with {@link TaskStore.setConnectionLimits}) counting the
 * running tasks of *all* agents of the store. An agent that claims with a class
 * ({@link ClaimOptions.labels}, {@link ClaimOptions.connections}) only gets tasks whose
 * {@link TaskRecord.agentLabels} its labels include and whose connections its list covers.
 * A running task whose lease expired is taken
 * back at the next claim: its attempt counts, its history records `lease-expired`, and it
 * retries (or dies when it has no attempts left).
 *
 * All timestamps in records are ISO-8601 UTC strings so a record is plain JSON in every
 * backend. Operations that depend on the time take an optional `now`: stores use the wall
 * clock by default; tests pass `now` to move time without sleeping.
 *
 * Compatibility: `specificationVersion` pins the contract. Additive, optional members may
 * appear within v1; anything else is a new version. Every store runs the same conformance
 * suite (`testTaskStore` in `@honk/core/testing`).
 */
import type { Json } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import type { TaskWindow } from '../spec/task-window.ts';

/**
 * The `runAt` of a chunked task waiting for its chunks (the latest instant every store can
 * hold): never due, so never claimed, until a chunk's end sets it to now.
 */
export const CHUNKS_WAITING_RUN_AT = '9999-12-31T23:59:59.999Z';

/**
 * Where a task is in its life.
 * - `pending`: waiting to run for the first time (also when `runAt` is in the future: scheduled).
 * - `running`: leased by an agent.
 * - `succeeded`: completed; re-enqueueing the same definition does not run it again.
 * - `retrying`: an attempt failed or its lease expired; it runs again at `runAt`.
 * - `dead`: dead-lettered — a non-retryable error, or no attempts left. `requeue` revives it.
 * - `cancelled`: stopped on purpose; `requeue` revives it.
 */
export type TaskState = 'pending' | 'running' | 'succeeded' | 'retrying' | 'dead' | 'cancelled';

/** Every state, in a stable order (for counts and listings). */
export const TASK_STATES: readonly TaskState[] = ['pending', 'running', 'succeeded', 'retrying', 'dead', 'cancelled'];

/** States from which a task is never claimed again without `requeue` or a new definition. */
export const TERMINAL_TASK_STATES: readonly TaskState[] = ['succeeded', 'dead', 'cancelled'];

/** Why an attempt failed. The same shape as a serialised HonkError, minus the class name. */
export interface TaskError {
  /** A stable code (a HonkErrorCode, or a connector's own). */
  code: string;
  /** Secret-free, human-readable. */
  message: string;
  /** Whether another attempt can help. `false` dead-letters the task at once. */
  retryable: boolean;
}

/**
 * How one attempt ended. `split`: the attempt planned a chunked task and handed its chunks to
 * the queue (see {@link TaskStore.split}); it does not use up an attempt.
 */
export type AttemptOutcome =
  | 'succeeded'
  | 'failed'
  | 'lease-expired'
  | 'released'
  | 'cancelled'
  | 'superseded'
  | 'split';

/** One attempt of a task, kept in {@link TaskRecord.history}. */
export interface TaskAttempt {
  /** 1-based; a released attempt gives its number back, so the next claim reuses it. */
  attempt: number;
  agentId: string;
  startedAt: string;
  /** Absent while the attempt runs. */
  endedAt?: string;
  /** Absent while the attempt runs. */
  outcome?: AttemptOutcome;
  error?: TaskError;
}

/** The lease of a running task. */
export interface TaskLease {
  /** The agent id given to `claim`. */
  owner: string;
  /** Opaque; proves the holder's right to mutate the task (fencing). */
  token: string;
  expiresAt: string;
}

/** A task as stored. Plain JSON; returned records are copies, mutating them changes nothing. */
export interface TaskRecord {
  /** Unique; the idempotency key. */
  id: string;
  /** Opaque payload, in practice the resolved TaskDefinition (`run/task-definition.ts`). */
  definition: Json;
  /** Identifies `definition`; a changed hash makes a succeeded task run again. */
  definitionHash: string;
  /** Higher runs first. */
  priority: number;
  /** Not claimed before this instant: the task's `notBefore`, or when its retry is due. */
  runAt: string;
  /** May only *start* inside this daily window (see `spec/task-window.ts`); a running task is not stopped. */
  window?: TaskWindow;
  /** Connection names the task uses; each counts against that connection's `maxConcurrency`. */
  connections: string[];
  state: TaskState;
  /** Attempts started in the current run (reset by a new definition or `requeue`). */
  attempts: number;
  /** A failing attempt beyond this dead-letters the task. */
  maxAttempts: number;
  lastError?: TaskError;
  /** Every attempt, oldest first, across runs. */
  history: TaskAttempt[];
  /** The last progress an agent reported with a heartbeat. */
  progress?: Json;
  /** The target snapshot taken by the running attempt, so any agent can roll back. */
  snapshotRef?: Json;
  /** The final report of the succeeded attempt. */
  report?: Json;
  /** Present exactly while `running`. */
  lease?: TaskLease;
  enqueuedAt: string;
  /** Store-wide enqueue order; breaks ties between tasks enqueued in the same millisecond. */
  sequence: number;
  updatedAt: string;
  labels: Record<string, string>;
  /**
   * Labels an agent must have to claim this task (agent classes: e.g. `{ region: 'eu' }`
   * keeps the task on agents close to its data). Absent when the task runs on any agent.
   */
  agentLabels?: Record<string, string>;
  /** Catalog entity ref (`resource:default/orders`). */
  entity?: string;
  /**
   * A chunked task after {@link TaskStore.split}: its plan and its number of chunks. Until its
   * chunks have all ended the task waits, `pending` with `runAt` {@link CHUNKS_WAITING_RUN_AT}.
   */
  chunked?: ChunkedTask;
  /** A chunk sub-task (created by {@link TaskStore.split}, never by `enqueue`): whose chunk it is. */
  chunkOf?: ChunkOf;
}

/** {@link TaskRecord.chunked}. */
export interface ChunkedTask {
  /** Identifies the plan; chunk records carry it in `chunkOf.plan`. */
  planId: string;
  /** What the planner keeps with the plan (core: the source's pin and the schema). */
  plan: Json;
  /** Chunks `0 … chunks - 1`, records `<task id>#<index>` (see `chunkTaskId`). */
  chunks: number;
}

/** {@link TaskRecord.chunkOf}. */
export interface ChunkOf {
  /** The chunked task's id. */
  task: string;
  /** 0-based place in the plan. */
  index: number;
  /** The plan the chunk belongs to. */
  plan: string;
  /** What the chunk reads (core: the source partition's ref). */
  ref: Json;
}

/** What {@link TaskStore.split} takes. */
export interface SplitInput {
  /** Identifies the plan: 1 to 64 lowercase letters, digits and `-`. */
  planId: string;
  /** Kept on the task record as `chunked.plan`. */
  plan: Json;
  /** Per chunk, in order, what its record carries as `chunkOf.ref`. At least one. */
  chunks: Json[];
  /** Chunks of this plan to run again although they succeeded (their staged data went missing). */
  rerun?: number[];
}

/** What {@link TaskStore.split} did. */
export interface SplitResult {
  chunks: number;
  /** Chunks that have not succeeded; 0 means the task is claimable again at once. */
  waiting: number;
}

/** What `enqueue` takes per task. */
export interface TaskInput {
  id: string;
  definition: Json;
  /** Default: {@link hashDefinition} of `definition`. */
  definitionHash?: string;
  /** Default 0. */
  priority?: number;
  /** Not before this instant. Default: now. */
  notBefore?: Date | string;
  window?: TaskWindow;
  /** Default none. */
  connections?: string[];
  /** Default 3. */
  maxAttempts?: number;
  labels?: Record<string, string>;
  /** Labels an agent must have to claim the task (see {@link TaskRecord.agentLabels}). Default none. */
  agentLabels?: Record<string, string>;
  entity?: string;
}

/**
 * What re-enqueueing an existing id does, when the definition hash is unchanged. A
 * *changed* hash always starts a new run (the task goes back to `pending`, attempts reset;
 * a running attempt is superseded and its lease revoked).
 * - `resume` (default; what `honk run` does): succeeded stays succeeded, pending/running/
 *   retrying are left alone, dead and cancelled go back to `pending` with attempts reset.
 * - `keep`: leave every existing task as it is.
 * - `replace`: start a new run of every task that is not running, even a succeeded one.
 */
export type EnqueueConflictPolicy = 'resume' | 'keep' | 'replace';

/** What `enqueue` did with one task. */
export type EnqueueOutcome = 'created' | 'unchanged' | 'updated' | 'requeued' | 'skipped-succeeded';

export interface EnqueueResult {
  id: string;
  outcome: EnqueueOutcome;
  /** The state after the call. */
  state: TaskState;
}

export interface EnqueueOptions {
  onConflict?: EnqueueConflictPolicy;
  now?: Date;
}

export interface ClaimOptions {
  /** How long the lease lasts without a heartbeat. */
  leaseMs: number;
  /** Skip tasks using any of these connections (an agent that cannot reach them). */
  excludeConnections?: string[];
  /**
   * The claiming agent's labels (its class): only tasks whose every required
   * {@link TaskRecord.agentLabels} entry is among them are claimed, so `{}` claims only
   * tasks that require none. Absent: the agent is unrestricted and claims any task (what
   * the in-process agents of `honk run` do; `honk agent` always passes its labels).
   */
  labels?: Record<string, string>;
  /**
   * Only tasks whose connections are all in this list (an agent class placed where just
   * these connections are reachable). Absent: any connections.
   */
  connections?: readonly string[];
  now?: Date;
}

/** A claimed task and the lease token every later mutation must carry. */
export interface Claim {
  task: TaskRecord;
  token: string;
}

export interface HeartbeatOptions {
  /** The new lease lasts this long from now. */
  leaseMs: number;
  /** Replaces the stored progress. */
  progress?: Json;
  now?: Date;
}

export interface FailOptions {
  /** When the retry may start (the agent computes backoff). Default: now. */
  retryAt?: Date;
  now?: Date;
}

export interface RequeueOptions {
  /** Start counting attempts from zero again. Default true. */
  resetAttempts?: boolean;
  now?: Date;
}

/** Per-call clock override, for mutations that need no other options. */
export interface NowOption {
  now?: Date;
}

export interface TaskFilter {
  states?: TaskState[];
  ids?: string[];
  /** Only tasks whose catalog `entity` is one of these refs (what Backstage looks datasets up by). */
  entities?: string[];
  /** Default: all. */
  limit?: number;
}

/** Events a store emits for mutations made through it (after they are durable). */
export type TaskStoreEvent =
  | { type: 'task-enqueued'; taskId: string; at: string; outcome: 'created' | 'updated' | 'requeued' }
  | { type: 'task-claimed'; taskId: string; at: string; agentId: string; attempt: number }
  | { type: 'task-succeeded'; taskId: string; at: string; agentId: string; attempt: number }
  | { type: 'task-retrying'; taskId: string; at: string; attempt: number; runAt: string; error: TaskError }
  | { type: 'task-dead'; taskId: string; at: string; attempt: number; error: TaskError }
  | { type: 'task-cancelled'; taskId: string; at: string }
  | { type: 'task-released'; taskId: string; at: string; agentId: string }
  | { type: 'lease-expired'; taskId: string; at: string; agentId: string; attempt: number }
  /** A chunked task handed its chunks to the queue (see {@link TaskStore.split}). */
  | { type: 'task-split'; taskId: string; at: string; agentId: string; chunks: number }
  /** Every chunk of a waiting chunked task has ended (or one died): the task is claimable again. */
  | { type: 'task-chunks-ended'; taskId: string; at: string };

export type TaskStoreEventType = TaskStoreEvent['type'];

/** A typed subscription point. Listeners must not throw; a throw becomes a process warning. */
export interface TaskStoreEvents {
  /** Subscribe; returns the unsubscribe function. */
  on<T extends TaskStoreEventType>(
    type: T,
    listener: (event: Extract<TaskStoreEvent, { type: T }>) => void,
  ): () => void;
  /** Every event. Returns the unsubscribe function. */
  onAny(listener: (event: TaskStoreEvent) => void): () => void;
}

/** The TaskStore contract. See the file comment for the rules every store keeps. */
export interface TaskStore {
  readonly specificationVersion: 'v1';
  /** For messages: `memory`, `journal:/path/.honk/queue`, `postgres` … */
  readonly name: string;
  readonly events: TaskStoreEvents;

  /**
   * Adds or updates tasks, idempotent by id (see {@link EnqueueConflictPolicy}). Ids must
   * be unique within one call. Results are in input order.
   */
  enqueue(inputs: readonly TaskInput[], options?: EnqueueOptions): Promise<EnqueueResult[]>;

  /**
   * Leases the first claimable task to `agentId` (see the file comment for the order and
   * rules), counting a new attempt, or returns null when none is claimable now. Expired
   * leases are taken back first.
   */
  claim(agentId: string, options: ClaimOptions): Promise<Claim | null>;

  /** Extends the lease and stores progress. Throws LeaseLostError when the token no longer holds. */
  heartbeat(id: string, token: string, options: HeartbeatOptions): Promise<{ expiresAt: string }>;

  /** Marks the attempt succeeded and stores its report. Fenced like `heartbeat`. */
  complete(id: string, token: string, report: Json, options?: NowOption): Promise<void>;

  /**
   * Records a failed attempt. The store decides: a non-retryable error, or no attempts
   * left, dead-letters the task; otherwise it retries at `retryAt`. Fenced like `heartbeat`.
   */
  fail(id: string, token: string, error: TaskError, options?: FailOptions): Promise<'retrying' | 'dead'>;

  /**
   * Gives the lease back without using up the attempt (graceful drain): the task becomes
   * claimable again at once. Fenced like `heartbeat`.
   */
  release(id: string, token: string, options?: NowOption): Promise<void>;

  /**
   * Puts a task that is not running back to `pending` to run now (dead-letter requeue, or
   * forcing a re-run of a succeeded one). Throws NotFoundError for an unknown id and a
   * ConfigError for a running task (cancel it first).
   */
  requeue(id: string, options?: RequeueOptions): Promise<TaskRecord>;

  /**
   * Cancels a pending, retrying or running task (a running one's lease is revoked, so its
   * agent's next heartbeat fails with LeaseLostError and it aborts). Ended tasks are left
   * as they are. Throws NotFoundError for an unknown id. Returns the record after the call.
   */
  cancel(id: string, options?: NowOption): Promise<TaskRecord>;

  /** Stores the running attempt's target snapshot ref. Fenced like `heartbeat`. */
  setSnapshotRef(id: string, token: string, ref: Json, options?: NowOption): Promise<void>;

  /**
   * Optional (chunked tasks; the built-in stores have it): ends the running attempt of `id` by
   * handing its chunks to the queue, atomically. Fenced like `heartbeat`.
   *
   * - Chunk `i` is the record `<id>#<i>` ({@link TaskRecord.chunkOf}): created when missing;
   *   reset to `pending` (attempts 0) when it belongs to another plan or definition, or is
   *   `dead`/`cancelled`, or is listed in `rerun`; otherwise left as it is — a chunk that
   *   succeeded under this plan is its checkpoint and does not run again. A chunk inherits
   *   the task's definition, priority, connections (so chunks count against the connections'
   *   `maxConcurrency`), window, agent labels, labels and `maxAttempts`. Chunk records of an
   *   older plan beyond the new count are cancelled.
   * - The task's attempt is given back (outcome `split`); the task stores `chunked` and waits
   *   (`pending`, `runAt` {@link CHUNKS_WAITING_RUN_AT}) until its chunks have ended: the last
   *   chunk to succeed, or any chunk that dies or is cancelled, makes it claimable again
   *   (`task-chunks-ended`), so some agent validates the whole and publishes it.
   * - Cascade: a task that dies or is cancelled cancels its unended chunks; enqueueing a changed
   *   definition, or running a succeeded task again (`replace`, `requeue`), forgets its plan.
   */
  split?(id: string, token: string, input: SplitInput, options?: NowOption): Promise<SplitResult>;

  get(id: string): Promise<TaskRecord | undefined>;

  /** Records matching every given criterion, in enqueue order (`sequence`). */
  list(filter?: TaskFilter): Promise<TaskRecord[]>;

  /** How many tasks are in each state (every state present, zero included). */
  counts(): Promise<Record<TaskState, number>>;

  /**
   * Sets fleet-wide `maxConcurrency` per connection name (merged into what is stored;
   * `null` removes a limit). Connections without a limit are unlimited.
   */
  setConnectionLimits(limits: Record<string, number | null>): Promise<void>;

  getConnectionLimits(): Promise<Record<string, number>>;

  /**
   * Takes or renews a named role (the cron scheduler) for `ttlMs`. True when `holder` now
   * holds it: it was free, expired, or already held by `holder`. One holder at a time.
   */
  acquireRole(name: string, holder: string, ttlMs: number, options?: NowOption): Promise<boolean>;

  /** Gives a role up if `holder` holds it. */
  releaseRole(name: string, holder: string): Promise<void>;

  /** Waits for pending writes and releases resources. Idempotent; other calls afterwards throw. */
  close(): Promise<void>;
}

/**
 * The lease on a task no longer holds: it expired, the task was cancelled or redefined, or
 * another agent claimed it. The agent must stop working on the task without publishing.
 * Retryable: the task itself is fine, whoever holds it now runs it.
 */
export class LeaseLostError extends HonkError {
  readonly taskId: string;

  constructor(taskId: string, reason: string, options: { cause?: unknown } = {}) {
    super(
      'LEASE_LOST',
      `The lease on task "${taskId}" no longer holds (${reason}); this agent must stop working on it without publishing. ` +
        'Heartbeat more often than the lease duration, or raise leaseMs, if this happens to healthy agents.',
      { ...options, retryable: true, details: { taskId } },
    );
    this.name = 'LeaseLostError';
    this.taskId = taskId;
  }
}

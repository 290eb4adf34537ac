/**
 * The queue's state machine, shared by the in-memory and the journal store: every rule of
 * the TaskStore contract lives here once, synchronously, so a store only adds persistence.
 *
 * Records are immutable values: a mutation builds a new record and swaps it in, which makes
 * every change a self-contained `put` the journal can replay idempotently.
 *
 * Indexes keep `claim` cheap with tens of thousands of tasks:
 * - a *delayed* min-heap by `runAt` of claimable tasks not yet due;
 * - due tasks in one heap per *group* (same connections, window and required agent labels)
 *   in claim order, so a claim looks at one top per group instead of scanning tasks blocked
 *   by a window, a connection limit or the claiming agent's class;
 * - a min-heap of lease expiries, so expired leases are found without a scan;
 * - running counts per connection and task counts per state.
 * Heap entries are invalidated lazily by a per-task version number.
 */
import { randomUUID } from 'node:crypto';
import type { Json } from '../connector/connector.ts';
import { ConfigError, NotFoundError } from '../errors/honk-error.ts';
import type { TaskWindow } from '../spec/task-window.ts';
import { windowAllows } from '../spec/task-window.ts';
import { agentClassAllows } from './agent-class.ts';
import { BinaryHeap } from './binary-heap.ts';
import {
  assertSplitInput,
  cancelledChunk,
  chunkTaskId,
  isUnended,
  settledParent,
  splitRecords,
} from './chunk-split.ts';
import { assertDuration, endAttempt, normaliseTaskError, prepareTaskInputs, stripUndefined } from './store-kit.ts';
import {
  type ClaimOptions,
  type EnqueueOptions,
  type EnqueueResult,
  LeaseLostError,
  type SplitInput,
  type SplitResult,
  TASK_STATES,
  type TaskError,
  type TaskFilter,
  type TaskInput,
  type TaskRecord,
  type TaskState,
  type TaskStoreEvent,
} from './task-store.ts';

/** One change to persist, in the order it happened. */
export type TableEntry =
  | { kind: 'put'; record: TaskRecord; definitionChanged: boolean }
  | { kind: 'limits'; limits: Record<string, number | null> }
  | { kind: 'role'; name: string; holder: string | null; expiresAtMs: number };

interface QueueEntry {
  id: string;
  version: number;
  priority: number;
  runAtMs: number;
  enqueuedAtMs: number;
  sequence: number;
  groupKey: string;
}

interface Group {
  connections: string[];
  window: TaskWindow | undefined;
  agentLabels: Record<string, string> | undefined;
  heap: BinaryHeap<QueueEntry>;
}

interface LeaseEntry {
  id: string;
  token: string;
  expiresAt: string;
  expiresAtMs: number;
}

function claimsBefore(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.runAtMs !== b.runAtMs) return a.runAtMs < b.runAtMs;
  if (a.enqueuedAtMs !== b.enqueuedAtMs) return a.enqueuedAtMs < b.enqueuedAtMs;
  return a.sequence < b.sequence;
}

/** Equal required labels share a key whatever their key order. */
function agentLabelsKey(labels: Record<string, string> | undefined): string {
  if (labels === undefined) return '';
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}

function isClaimable(state: TaskState): boolean {
  return state === 'pending' || state === 'retrying';
}

export class TaskTable {
  private readonly records = new Map<string, TaskRecord>();
  private readonly versions = new Map<string, number>();
  private nextVersion = 1;
  private nextSequence = 1;
  private readonly delayed = new BinaryHeap<QueueEntry>((a, b) => a.runAtMs < b.runAtMs);
  private readonly groups = new Map<string, Group>();
  private readonly leases = new BinaryHeap<LeaseEntry>((a, b) => a.expiresAtMs < b.expiresAtMs);
  private readonly running = new Map<string, number>();
  private readonly stateCounts = new Map<TaskState, number>(TASK_STATES.map((state) => [state, 0]));
  private readonly limits = new Map<string, number>();
  private readonly roles = new Map<string, { holder: string; expiresAtMs: number }>();
  /** Chunk record ids by chunked task id (records are never removed, so it only grows). */
  private readonly chunkIds = new Map<string, Set<string>>();
  private changes: TableEntry[] = [];
  private events: TaskStoreEvent[] = [];

  /** Changes and events since the last call, for the store to persist and then emit. */
  takeChanges(): { entries: TableEntry[]; events: TaskStoreEvent[] } {
    const taken = { entries: this.changes, events: this.events };
    this.changes = [];
    this.events = [];
    return taken;
  }

  get size(): number {
    return this.records.size;
  }

  // ---------------------------------------------------------------- replay and snapshot

  /** Applies a persisted entry (journal replay). Idempotent: a put overwrites. */
  apply(entry: TableEntry): void {
    if (entry.kind === 'put') {
      this.setRecord(entry.record);
    } else if (entry.kind === 'limits') {
      this.applyLimits(entry.limits);
    } else if (entry.holder === null) {
      this.roles.delete(entry.name);
    } else {
      this.roles.set(entry.name, { holder: entry.holder, expiresAtMs: entry.expiresAtMs });
    }
  }

  /** The definition currently stored for a task (journal puts omit unchanged definitions). */
  definitionOf(id: string): Json | undefined {
    return this.records.get(id)?.definition;
  }

  /** Entries that rebuild the whole current state (compaction snapshot). */
  snapshotEntries(): TableEntry[] {
    const entries: TableEntry[] = [];
    for (const record of this.records.values()) entries.push({ kind: 'put', record, definitionChanged: true });
    if (this.limits.size > 0) entries.push({ kind: 'limits', limits: Object.fromEntries(this.limits) });
    for (const [name, role] of this.roles) {
      entries.push({ kind: 'role', name, holder: role.holder, expiresAtMs: role.expiresAtMs });
    }
    return entries;
  }

  // ---------------------------------------------------------------- reads

  get(id: string): TaskRecord | undefined {
    const record = this.records.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  list(filter: TaskFilter = {}): TaskRecord[] {
    const states = filter.states === undefined ? undefined : new Set(filter.states);
    const entities = filter.entities === undefined ? undefined : new Set(filter.entities);
    let candidates: TaskRecord[];
    if (filter.ids !== undefined) {
      candidates = [];
      for (const id of new Set(filter.ids)) {
        const record = this.records.get(id);
        if (record !== undefined) candidates.push(record);
      }
    } else {
      candidates = [...this.records.values()];
    }
    const matching = candidates
      .filter((record) => states === undefined || states.has(record.state))
      .filter((record) => entities === undefined || (record.entity !== undefined && entities.has(record.entity)))
      .sort((a, b) => a.sequence - b.sequence);
    const limited = filter.limit === undefined ? matching : matching.slice(0, Math.max(0, filter.limit));
    return limited.map((record) => structuredClone(record));
  }

  counts(): Record<TaskState, number> {
    return Object.fromEntries(this.stateCounts) as Record<TaskState, number>;
  }

  connectionLimits(): Record<string, number> {
    return Object.fromEntries(this.limits);
  }

  /** Leases of running tasks (journal open uses this to expire a dead process's leases). */
  runningIds(): string[] {
    return [...this.records.values()].filter((record) => record.state === 'running').map((record) => record.id);
  }

  // ---------------------------------------------------------------- mutations

  enqueue(inputs: readonly TaskInput[], options: EnqueueOptions = {}): EnqueueResult[] {
    const now = options.now ?? new Date();
    const nowIso = now.toISOString();
    const policy = options.onConflict ?? 'resume';
    if (policy !== 'resume' && policy !== 'keep' && policy !== 'replace') {
      throw new ConfigError(`Unknown enqueue onConflict "${String(policy)}"; use "resume", "keep" or "replace".`);
    }
    const prepared = prepareTaskInputs(inputs, now);
    for (const input of prepared) {
      const chunkOf = this.records.get(input.id)?.chunkOf;
      if (chunkOf !== undefined) {
        throw new ConfigError(
          `Task id "${input.id}" is chunk ${chunkOf.index} of task "${chunkOf.task}"; chunks are made by split(), not enqueued. Use another id.`,
        );
      }
    }

    return prepared.map((input) => {
      const { id: _id, ...fresh } = input;
      const existing = this.records.get(input.id);
      if (existing === undefined) {
        const record: TaskRecord = stripUndefined({
          id: input.id,
          ...fresh,
          state: 'pending',
          attempts: 0,
          history: [],
          enqueuedAt: nowIso,
          sequence: this.nextSequence,
          updatedAt: nowIso,
        });
        this.put(record, true);
        this.emit({ type: 'task-enqueued', taskId: record.id, at: nowIso, outcome: 'created' });
        return { id: record.id, outcome: 'created', state: record.state };
      }
      const changed = existing.definitionHash !== input.definitionHash;
      const restart =
        changed ||
        (policy === 'resume' && (existing.state === 'dead' || existing.state === 'cancelled')) ||
        (policy === 'replace' && existing.state !== 'running');
      if (!restart) {
        const outcome = existing.state === 'succeeded' ? 'skipped-succeeded' : 'unchanged';
        return { id: existing.id, outcome, state: existing.state };
      }
      // A new definition, or a new run of a succeeded task, plans its chunks afresh.
      const replan = changed || existing.state === 'succeeded';
      const record: TaskRecord = stripUndefined({
        ...existing,
        ...fresh,
        state: 'pending',
        attempts: 0,
        lastError: undefined,
        report: undefined,
        lease: undefined,
        chunked: replan ? undefined : existing.chunked,
        history:
          existing.state === 'running'
            ? endAttempt(existing.history, { endedAt: nowIso, outcome: 'superseded' })
            : existing.history,
        updatedAt: nowIso,
      });
      this.put(record, changed);
      if (replan) this.cancelChunks(record.id, nowIso);
      const outcome = changed ? 'updated' : 'requeued';
      this.emit({ type: 'task-enqueued', taskId: record.id, at: nowIso, outcome });
      return { id: record.id, outcome, state: record.state };
    });
  }

  claim(agentId: string, options: ClaimOptions): { task: TaskRecord; token: string } | null {
    if (typeof agentId !== 'string' || agentId.length === 0) {
      throw new ConfigError('claim() needs a non-empty agentId (it names the lease owner in records and messages).');
    }
    assertDuration(options.leaseMs, 'claim');
    const now = options.now ?? new Date();
    const nowMs = now.getTime();
    this.reap(nowMs);
    this.promote(nowMs);
    const exclude = options.excludeConnections === undefined ? undefined : new Set(options.excludeConnections);
    let best: { group: Group; entry: QueueEntry } | undefined;
    for (const [key, group] of this.groups) {
      const top = this.validTop(group, nowMs);
      if (top === undefined) {
        if (group.heap.size === 0) this.groups.delete(key);
        continue;
      }
      if (best !== undefined && !claimsBefore(top, best.entry)) continue;
      if (exclude !== undefined && group.connections.some((name) => exclude.has(name))) continue;
      if (!agentClassAllows(options, group)) continue;
      if (!this.connectionsFree(group.connections)) continue;
      if (group.window !== undefined && !windowAllows(group.window, now)) continue;
      best = { group, entry: top };
    }
    if (best === undefined) return null;
    best.group.heap.pop();
    const existing = this.records.get(best.entry.id) as TaskRecord;
    const nowIso = now.toISOString();
    const attempt = existing.attempts + 1;
    const token = randomUUID();
    const record: TaskRecord = {
      ...existing,
      state: 'running',
      attempts: attempt,
      lease: { owner: agentId, token, expiresAt: new Date(nowMs + options.leaseMs).toISOString() },
      history: [...existing.history, { attempt, agentId, startedAt: nowIso }],
      updatedAt: nowIso,
    };
    this.put(record, false);
    this.emit({ type: 'task-claimed', taskId: record.id, at: nowIso, agentId, attempt });
    return { task: structuredClone(record), token };
  }

  heartbeat(id: string, token: string, leaseMs: number, progress: Json | undefined, now: Date): { expiresAt: string } {
    assertDuration(leaseMs, 'heartbeat');
    const existing = this.leased(id, token, now);
    const expiresAt = new Date(now.getTime() + leaseMs).toISOString();
    this.put(
      {
        ...existing,
        lease: { ...(existing.lease as NonNullable<TaskRecord['lease']>), expiresAt },
        ...(progress === undefined ? {} : { progress }),
        updatedAt: now.toISOString(),
      },
      false,
    );
    this.reap(now.getTime());
    return { expiresAt };
  }

  complete(id: string, token: string, report: Json, now: Date): void {
    const existing = this.leased(id, token, now);
    const nowIso = now.toISOString();
    const { lease, lastError: _lastError, ...rest } = existing;
    this.put(
      {
        ...rest,
        state: 'succeeded',
        report,
        history: endAttempt(existing.history, { endedAt: nowIso, outcome: 'succeeded' }),
        updatedAt: nowIso,
      },
      false,
    );
    this.emit({
      type: 'task-succeeded',
      taskId: id,
      at: nowIso,
      agentId: lease?.owner ?? '',
      attempt: existing.attempts,
    });
    this.chunkEnded(id, nowIso);
  }

  fail(id: string, token: string, error: TaskError, retryAt: Date | undefined, now: Date): 'retrying' | 'dead' {
    const taskError = normaliseTaskError(error, id);
    const existing = this.leased(id, token, now);
    const nowIso = now.toISOString();
    const { lease: _lease, ...rest } = existing;
    const dead = !taskError.retryable || existing.attempts >= existing.maxAttempts;
    const runAt = dead ? existing.runAt : (retryAt ?? now).toISOString();
    this.put(
      {
        ...rest,
        state: dead ? 'dead' : 'retrying',
        runAt,
        lastError: taskError,
        history: endAttempt(existing.history, { endedAt: nowIso, outcome: 'failed', error: taskError }),
        updatedAt: nowIso,
      },
      false,
    );
    this.emit(
      dead
        ? { type: 'task-dead', taskId: id, at: nowIso, attempt: existing.attempts, error: taskError }
        : { type: 'task-retrying', taskId: id, at: nowIso, attempt: existing.attempts, runAt, error: taskError },
    );
    if (dead) this.ended(id, nowIso);
    return dead ? 'dead' : 'retrying';
  }

  release(id: string, token: string, now: Date): void {
    const existing = this.leased(id, token, now);
    const nowIso = now.toISOString();
    const { lease, ...rest } = existing;
    const attempts = Math.max(0, existing.attempts - 1);
    this.put(
      {
        ...rest,
        state: attempts > 0 ? 'retrying' : 'pending',
        attempts,
        history: endAttempt(existing.history, { endedAt: nowIso, outcome: 'released' }),
        updatedAt: nowIso,
      },
      false,
    );
    this.emit({ type: 'task-released', taskId: id, at: nowIso, agentId: lease?.owner ?? '' });
  }

  requeue(id: string, resetAttempts: boolean, now: Date): TaskRecord {
    const existing = this.records.get(id);
    if (existing === undefined) throw new NotFoundError(`Cannot requeue task "${id}": no task with that id.`);
    if (existing.state === 'running') {
      throw new ConfigError(
        `Cannot requeue task "${id}": it is running (leased by "${existing.lease?.owner}"); cancel it first.`,
      );
    }
    const nowIso = now.toISOString();
    const { report: _report, chunked, ...rest } = existing;
    const record: TaskRecord = {
      ...rest,
      // Running a succeeded chunked task again plans its chunks afresh.
      ...(chunked !== undefined && existing.state !== 'succeeded' ? { chunked } : {}),
      state: 'pending',
      runAt: nowIso,
      attempts: resetAttempts ? 0 : existing.attempts,
      updatedAt: nowIso,
    };
    this.put(record, false);
    this.emit({ type: 'task-enqueued', taskId: id, at: nowIso, outcome: 'requeued' });
    return structuredClone(record);
  }

  cancel(id: string, now: Date): TaskRecord {
    const existing = this.records.get(id);
    if (existing === undefined) throw new NotFoundError(`Cannot cancel task "${id}": no task with that id.`);
    if (!isClaimable(existing.state) && existing.state !== 'running') return structuredClone(existing);
    const nowIso = now.toISOString();
    const { lease: _lease, ...rest } = existing;
    const record: TaskRecord = {
      ...rest,
      state: 'cancelled',
      history:
        existing.state === 'running'
          ? endAttempt(existing.history, { endedAt: nowIso, outcome: 'cancelled' })
          : existing.history,
      updatedAt: nowIso,
    };
    this.put(record, false);
    this.emit({ type: 'task-cancelled', taskId: id, at: nowIso });
    this.ended(id, nowIso);
    return structuredClone(this.records.get(id) as TaskRecord);
  }

  setSnapshotRef(id: string, token: string, ref: Json, now: Date): void {
    const existing = this.leased(id, token, now);
    this.put({ ...existing, snapshotRef: ref, updatedAt: now.toISOString() }, false);
  }

  split(id: string, token: string, input: SplitInput, now: Date): SplitResult {
    assertSplitInput(id, input);
    const existing = this.leased(id, token, now);
    const chunks = [...(this.chunkIds.get(id) ?? [])].map((chunkId) => this.records.get(chunkId) as TaskRecord);
    const outcome = splitRecords(existing, chunks, input, now, () => this.nextSequence++);
    this.put(outcome.parent, false);
    // Chunk records carry the definition: a journal must store it with them.
    for (const { record } of outcome.chunks) this.put(record, true);
    for (const event of outcome.events) this.emit(event);
    return { chunks: input.chunks.length, waiting: outcome.waiting };
  }

  setConnectionLimits(limits: Record<string, number | null>): void {
    for (const [name, limit] of Object.entries(limits)) {
      if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
        throw new ConfigError(
          `maxConcurrency of connection "${name}" must be an integer of at least 1, or null for no limit (got ${String(limit)}).`,
        );
      }
    }
    this.applyLimits(limits);
    this.changes.push({ kind: 'limits', limits: { ...limits } });
  }

  acquireRole(name: string, holder: string, ttlMs: number, now: Date): boolean {
    assertDuration(ttlMs, 'acquireRole');
    const nowMs = now.getTime();
    const current = this.roles.get(name);
    if (current !== undefined && current.holder !== holder && current.expiresAtMs > nowMs) return false;
    const expiresAtMs = nowMs + ttlMs;
    this.roles.set(name, { holder, expiresAtMs });
    this.changes.push({ kind: 'role', name, holder, expiresAtMs });
    return true;
  }

  releaseRole(name: string, holder: string): void {
    if (this.roles.get(name)?.holder !== holder) return;
    this.roles.delete(name);
    this.changes.push({ kind: 'role', name, holder: null, expiresAtMs: 0 });
  }

  /** Takes back every lease that expired by `nowMs` (all of them with `Infinity`). */
  reap(nowMs: number): void {
    for (let top = this.leases.peek(); top !== undefined && top.expiresAtMs <= nowMs; top = this.leases.peek()) {
      this.leases.pop();
      const record = this.records.get(top.id);
      if (
        record?.state !== 'running' ||
        record.lease?.token !== top.token ||
        record.lease.expiresAt !== top.expiresAt
      ) {
        continue; // superseded by a heartbeat or a later state
      }
      this.expire(record, Number.isFinite(nowMs) ? new Date(nowMs) : new Date());
    }
  }

  /** Expires the given running tasks' leases now, whatever their expiry (a dead process held them). */
  expireAll(ids: readonly string[], now: Date): void {
    for (const id of ids) {
      const record = this.records.get(id);
      if (record?.state === 'running') this.expire(record, now);
    }
  }

  // ---------------------------------------------------------------- internals

  private expire(record: TaskRecord, now: Date): void {
    const nowIso = now.toISOString();
    const lease = record.lease as NonNullable<TaskRecord['lease']>;
    const error: TaskError = {
      code: 'LEASE_LOST',
      message:
        `The lease of agent "${lease.owner}" expired at ${lease.expiresAt} without a heartbeat ` +
        '(the agent died, hung, or lost its connection to the store).',
      retryable: true,
    };
    const dead = record.attempts >= record.maxAttempts;
    const { lease: _lease, ...rest } = record;
    this.put(
      {
        ...rest,
        state: dead ? 'dead' : 'retrying',
        runAt: dead ? record.runAt : nowIso,
        lastError: error,
        history: endAttempt(record.history, { endedAt: nowIso, outcome: 'lease-expired', error }),
        updatedAt: nowIso,
      },
      false,
    );
    this.emit({ type: 'lease-expired', taskId: record.id, at: nowIso, agentId: lease.owner, attempt: record.attempts });
    this.emit(
      dead
        ? { type: 'task-dead', taskId: record.id, at: nowIso, attempt: record.attempts, error }
        : { type: 'task-retrying', taskId: record.id, at: nowIso, attempt: record.attempts, runAt: nowIso, error },
    );
    if (dead) this.ended(record.id, nowIso);
  }

  /**
   * After task `id` died or was cancelled: a chunk's waiting task becomes claimable; a chunked
   * task's unended chunks are cancelled.
   */
  private ended(id: string, nowIso: string): void {
    this.chunkEnded(id, nowIso);
    this.cancelChunks(id, nowIso);
  }

  /** After chunk `id` ended (succeeded, died, cancelled): its waiting task, when now settled, becomes claimable. */
  private chunkEnded(id: string, nowIso: string): void {
    const chunk = this.records.get(id);
    if (chunk?.chunkOf === undefined) return;
    const task = chunk.chunkOf.task;
    const parent = settledParent(
      this.records.get(task),
      chunk,
      (index) => this.records.get(chunkTaskId(task, index)),
      nowIso,
    );
    if (parent === undefined) return;
    this.put(parent, false);
    this.emit({ type: 'task-chunks-ended', taskId: task, at: nowIso });
  }

  /** Cancels the unended chunks of task `id` (it died, was cancelled or redefined). */
  private cancelChunks(id: string, nowIso: string): void {
    for (const chunkId of this.chunkIds.get(id) ?? []) {
      const chunk = this.records.get(chunkId);
      if (chunk === undefined || !isUnended(chunk.state)) continue;
      this.put(cancelledChunk(chunk, nowIso), false);
      this.emit({ type: 'task-cancelled', taskId: chunkId, at: nowIso });
    }
  }

  /** The running record `token` holds, or a LeaseLostError saying why not. */
  private leased(id: string, token: string, now: Date): TaskRecord {
    const record = this.records.get(id);
    if (record === undefined) throw new LeaseLostError(id, 'no task with that id exists any more');
    if (record.state !== 'running' || record.lease === undefined) {
      throw new LeaseLostError(id, `the task is now ${record.state}`);
    }
    if (record.lease.token !== token) {
      throw new LeaseLostError(id, `agent "${record.lease.owner}" holds a newer lease`);
    }
    if (Date.parse(record.lease.expiresAt) <= now.getTime()) {
      const expiredAt = record.lease.expiresAt;
      this.reap(now.getTime());
      throw new LeaseLostError(id, `the lease expired at ${expiredAt}`);
    }
    return record;
  }

  private put(record: TaskRecord, definitionChanged: boolean): void {
    this.setRecord(record);
    this.changes.push({ kind: 'put', record, definitionChanged });
  }

  private emit(event: TaskStoreEvent): void {
    this.events.push(event);
  }

  /** Swaps a record in and keeps every index in step. */
  private setRecord(record: TaskRecord): void {
    const previous = this.records.get(record.id);
    if (previous !== undefined) {
      this.stateCounts.set(previous.state, (this.stateCounts.get(previous.state) ?? 0) - 1);
      if (previous.state === 'running') {
        for (const name of previous.connections) this.running.set(name, (this.running.get(name) ?? 1) - 1);
      }
    }
    this.versions.delete(record.id);
    this.records.set(record.id, record);
    if (record.chunkOf !== undefined) {
      let ids = this.chunkIds.get(record.chunkOf.task);
      if (ids === undefined) {
        ids = new Set();
        this.chunkIds.set(record.chunkOf.task, ids);
      }
      ids.add(record.id);
    }
    this.stateCounts.set(record.state, (this.stateCounts.get(record.state) ?? 0) + 1);
    if (record.sequence >= this.nextSequence) this.nextSequence = record.sequence + 1;
    if (record.state === 'running' && record.lease !== undefined) {
      for (const name of record.connections) this.running.set(name, (this.running.get(name) ?? 0) + 1);
      this.leases.push({
        id: record.id,
        token: record.lease.token,
        expiresAt: record.lease.expiresAt,
        expiresAtMs: Date.parse(record.lease.expiresAt),
      });
    } else if (isClaimable(record.state)) {
      const version = this.nextVersion++;
      this.versions.set(record.id, version);
      const window = record.window;
      this.delayed.push({
        id: record.id,
        version,
        priority: record.priority,
        runAtMs: Date.parse(record.runAt),
        enqueuedAtMs: Date.parse(record.enqueuedAt),
        sequence: record.sequence,
        groupKey: `${record.connections.join('\u0000')}\u0001${window === undefined ? '' : `${window.start}-${window.end}@${window.timezone ?? 'UTC'}`}\u0001${agentLabelsKey(record.agentLabels)}`,
      });
    }
  }

  /** Moves due entries from the delayed heap into their group heaps. */
  private promote(nowMs: number): void {
    for (let top = this.delayed.peek(); top !== undefined && top.runAtMs <= nowMs; top = this.delayed.peek()) {
      this.delayed.pop();
      if (this.versions.get(top.id) !== top.version) continue;
      let group = this.groups.get(top.groupKey);
      if (group === undefined) {
        const record = this.records.get(top.id) as TaskRecord;
        group = {
          connections: record.connections,
          window: record.window,
          agentLabels: record.agentLabels,
          heap: new BinaryHeap<QueueEntry>(claimsBefore),
        };
        this.groups.set(top.groupKey, group);
      }
      group.heap.push(top);
    }
  }

  /** The group's first live, due entry; drops stale ones, sends not-yet-due ones back (clock moved back). */
  private validTop(group: Group, nowMs: number): QueueEntry | undefined {
    for (let top = group.heap.peek(); top !== undefined; top = group.heap.peek()) {
      if (this.versions.get(top.id) !== top.version) {
        group.heap.pop();
      } else if (top.runAtMs > nowMs) {
        group.heap.pop();
        this.delayed.push(top);
      } else {
        return top;
      }
    }
    return undefined;
  }

  private connectionsFree(connections: readonly string[]): boolean {
    for (const name of connections) {
      const limit = this.limits.get(name);
      if (limit !== undefined && (this.running.get(name) ?? 0) >= limit) return false;
    }
    return true;
  }

  private applyLimits(limits: Record<string, number | null>): void {
    for (const [name, limit] of Object.entries(limits)) {
      if (limit === null) this.limits.delete(name);
      else this.limits.set(name, limit);
    }
  }
}

/**
 * The rules of chunked tasks in a task store (see `TaskStore.split`), as pure functions over
 * records, so the in-memory table, the journal and the PostgreSQL store apply exactly the
 * same ones: what `split` writes, when a waiting task becomes claimable again, and what
 * cascades from a chunked task to its chunks.
 */
import type { Json } from '../connector/connector.ts';
import { ConfigError } from '../errors/honk-error.ts';
import { endAttempt, stripUndefined } from './store-kit.ts';
import {
  CHUNKS_WAITING_RUN_AT,
  type SplitInput,
  type TaskRecord,
  type TaskState,
  type TaskStoreEvent,
} from './task-store.ts';

/** Most chunks one task may have: each is a record, and each end looks at its siblings. */
export const MAX_CHUNKS = 10_000;

const PLAN_ID = /^[a-z0-9-]{1,64}$/;

/** The record id of chunk `index` of task `task`: `orders#3`. */
export function chunkTaskId(task: string, index: number): string {
  return `${task}#${index}`;
}

/** States in which a chunk still has work ahead. */
export function isUnended(state: TaskState): boolean {
  return state === 'pending' || state === 'retrying' || state === 'running';
}

/** True for a chunked task waiting for its chunks (never claimed in that state). */
export function isWaitingForChunks(record: TaskRecord): boolean {
  return record.chunked !== undefined && record.state === 'pending' && record.runAt === CHUNKS_WAITING_RUN_AT;
}

/** Throws ConfigError when a split input is malformed (before anything is written). */
export function assertSplitInput(id: string, input: SplitInput): void {
  const where = `split() of task "${id}"`;
  if (typeof input?.planId !== 'string' || !PLAN_ID.test(input.planId)) {
    throw new ConfigError(`${where}: planId must be 1 to 64 lowercase letters, digits or "-".`);
  }
  if (!Array.isArray(input.chunks) || input.chunks.length === 0 || input.chunks.length > MAX_CHUNKS) {
    throw new ConfigError(`${where}: chunks must list 1 to ${MAX_CHUNKS} chunks.`);
  }
  for (const index of input.rerun ?? []) {
    if (!Number.isInteger(index) || index < 0 || index >= input.chunks.length) {
      throw new ConfigError(`${where}: rerun lists ${String(index)}, which is not a chunk of the plan.`);
    }
  }
}

/** What a split writes: the task, the chunk records to put, and the events. */
export interface SplitOutcome {
  parent: TaskRecord;
  /** Chunk records to write; `created` ones are new (they need a sequence number). */
  chunks: Array<{ record: TaskRecord; created: boolean }>;
  events: TaskStoreEvent[];
  waiting: number;
}

/**
 * Applies `split` to `parent` (running, its lease already checked) and its existing chunk
 * records (any plan). `sequence()` numbers new records.
 */
export function splitRecords(
  parent: TaskRecord,
  existing: readonly TaskRecord[],
  input: SplitInput,
  now: Date,
  sequence: () => number,
): SplitOutcome {
  const nowIso = now.toISOString();
  const count = input.chunks.length;
  const rerun = new Set(input.rerun ?? []);
  const byIndex = new Map<number, TaskRecord>();
  for (const record of existing) if (record.chunkOf?.task === parent.id) byIndex.set(record.chunkOf.index, record);
  const inherited = {
    definition: parent.definition,
    definitionHash: parent.definitionHash,
    priority: parent.priority,
    connections: [...parent.connections],
    maxAttempts: parent.maxAttempts,
    labels: { ...parent.labels },
    window: parent.window === undefined ? undefined : { ...parent.window },
    agentLabels: parent.agentLabels === undefined ? undefined : { ...parent.agentLabels },
  };
  const chunks: SplitOutcome['chunks'] = [];
  const events: TaskStoreEvent[] = [];
  let waiting = 0;
  for (let index = 0; index < count; index++) {
    const id = chunkTaskId(parent.id, index);
    const chunkOf = { task: parent.id, index, plan: input.planId, ref: input.chunks[index] as Json };
    const current = byIndex.get(index);
    if (current === undefined) {
      chunks.push({
        record: stripUndefined<TaskRecord>({
          id,
          ...inherited,
          runAt: nowIso,
          state: 'pending',
          attempts: 0,
          history: [],
          enqueuedAt: nowIso,
          sequence: sequence(),
          updatedAt: nowIso,
          chunkOf,
        }),
        created: true,
      });
      events.push({ type: 'task-enqueued', taskId: id, at: nowIso, outcome: 'created' });
      waiting++;
      continue;
    }
    const otherPlan = current.chunkOf?.plan !== input.planId || current.definitionHash !== parent.definitionHash;
    const again =
      current.state === 'dead' || current.state === 'cancelled' || (rerun.has(index) && current.state === 'succeeded');
    if (!otherPlan && !again) {
      if (current.state !== 'succeeded') waiting++;
      continue;
    }
    chunks.push({
      record: stripUndefined<TaskRecord>({
        ...current,
        ...inherited,
        chunkOf,
        state: 'pending',
        runAt: nowIso,
        attempts: 0,
        lastError: otherPlan ? undefined : current.lastError,
        report: undefined,
        progress: undefined,
        lease: undefined,
        history:
          current.state === 'running'
            ? endAttempt(current.history, { endedAt: nowIso, outcome: 'superseded' })
            : current.history,
        updatedAt: nowIso,
      }),
      created: false,
    });
    events.push({ type: 'task-enqueued', taskId: id, at: nowIso, outcome: otherPlan ? 'updated' : 'requeued' });
    waiting++;
  }
  // Chunks of an older, larger plan: nothing may run them any more.
  for (const [index, record] of byIndex) {
    if (index < count || !isUnended(record.state)) continue;
    chunks.push({ record: cancelledChunk(record, nowIso), created: false });
    events.push({ type: 'task-cancelled', taskId: record.id, at: nowIso });
  }
  const { lease, ...rest } = parent;
  const attempts = Math.max(0, parent.attempts - 1);
  const next: TaskRecord = {
    ...rest,
    state: attempts > 0 ? 'retrying' : 'pending',
    attempts,
    runAt: waiting > 0 ? CHUNKS_WAITING_RUN_AT : nowIso,
    chunked: { planId: input.planId, plan: input.plan, chunks: count },
    history: endAttempt(parent.history, { endedAt: nowIso, outcome: 'split' }),
    updatedAt: nowIso,
  };
  // A waiting task is `pending` whatever its attempts, so isWaitingForChunks knows it.
  if (waiting > 0) next.state = 'pending';
  events.unshift({ type: 'task-split', taskId: parent.id, at: nowIso, agentId: lease?.owner ?? '', chunks: count });
  if (waiting === 0) events.push({ type: 'task-chunks-ended', taskId: parent.id, at: nowIso });
  return { parent: next, chunks, events, waiting };
}

/** A chunk record cancelled because its task died, was cancelled, redefined or re-planned. */
export function cancelledChunk(record: TaskRecord, nowIso: string): TaskRecord {
  const { lease: _lease, ...rest } = record;
  return {
    ...rest,
    state: 'cancelled',
    history:
      record.state === 'running'
        ? endAttempt(record.history, { endedAt: nowIso, outcome: 'cancelled' })
        : record.history,
    updatedAt: nowIso,
  };
}

/**
 * The chunked task after its chunk `ended` reached `ended.state`, or undefined when it stays
 * as it is: a waiting task of the same plan becomes claimable (runAt now) when the chunk died
 * or was cancelled, or when it succeeded and so did every chunk of the plan (`siblings`:
 * the task's chunk records, `ended` included, as they are after the change).
 */
export function settledParent(
  parent: TaskRecord | undefined,
  ended: TaskRecord,
  siblings: (index: number) => TaskRecord | undefined,
  nowIso: string,
): TaskRecord | undefined {
  if (parent === undefined || ended.chunkOf === undefined || !isWaitingForChunks(parent)) return undefined;
  const chunked = parent.chunked as NonNullable<TaskRecord['chunked']>;
  if (chunked.planId !== ended.chunkOf.plan) return undefined;
  if (ended.state === 'succeeded') {
    for (let index = 0; index < chunked.chunks; index++) {
      const sibling = siblings(index);
      if (sibling?.state !== 'succeeded' || sibling.chunkOf?.plan !== chunked.planId) return undefined;
    }
  } else if (ended.state !== 'dead' && ended.state !== 'cancelled') {
    return undefined;
  }
  return { ...parent, runAt: nowIso, updatedAt: nowIso };
}

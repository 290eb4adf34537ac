/**
 * From a task record and its ledger entries to what Backstage shows: the migration status
 * (see MigrationStatus in the common package), summaries for lists, detail for one task.
 */
import type {
  MigrationAction,
  MigrationDetail,
  MigrationStatus,
  MigrationSummary,
  MigrationWindow,
} from '@honk/backstage-plugin-honk-common';
import { MIGRATION_STATUSES } from '@honk/backstage-plugin-honk-common';
import { type ChunkProgress, isWaitingForChunks, type TaskRecord } from '@honk/core';
import type { LedgerEntry } from './migration-ledger.ts';

/** When the current run of the task succeeded (the end of its last succeeded attempt). */
function succeededAt(record: TaskRecord): string | undefined {
  for (let index = record.history.length - 1; index >= 0; index--) {
    const attempt = record.history[index]!;
    if (attempt.outcome === 'succeeded') return attempt.endedAt;
  }
  return undefined;
}

/**
 * The ledger entry that decides a succeeded task's status: the latest one recorded for the
 * same definition after its success. A re-run or a redefinition starts over.
 */
export function decidingAction(record: TaskRecord, entries: readonly LedgerEntry[]): LedgerEntry | undefined {
  if (record.state !== 'succeeded') return undefined;
  const since = succeededAt(record);
  for (let index = entries.length - 1; index >= 0; index--) {
    const entry = entries[index]!;
    if (entry.definitionHash !== record.definitionHash) continue;
    if (since !== undefined && entry.at < since) continue;
    return entry;
  }
  return undefined;
}

export function migrationStatusOf(record: TaskRecord, entries: readonly LedgerEntry[] = []): MigrationStatus {
  switch (record.state) {
    case 'pending':
      // A chunked task waiting for its chunks is under way: they are running or queued.
      return isWaitingForChunks(record) ? 'running' : 'pending';
    case 'running':
      return 'running';
    case 'retrying':
      return 'failed';
    case 'dead':
      return 'dead';
    case 'cancelled':
      return 'cancelled';
    case 'succeeded': {
      const action = decidingAction(record, entries)?.action;
      return action === 'sign-off' ? 'migrated' : action === 'rollback' ? 'rolled-back' : 'succeeded';
    }
  }
}

/** `chunks`: a chunked task's chunks in sum (`chunkProgress` of @honk/core), when known. */
export function toSummary(
  record: TaskRecord,
  entries: readonly LedgerEntry[] = [],
  chunks?: ChunkProgress,
): MigrationSummary {
  const status = migrationStatusOf(record, entries);
  const action = decidingAction(record, entries);
  return {
    taskId: record.id,
    ...(record.entity ? { entityRef: record.entity } : {}),
    status,
    state: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    priority: record.priority,
    runAt: record.runAt,
    ...(record.window ? { window: record.window as MigrationWindow } : {}),
    updatedAt: record.updatedAt,
    enqueuedAt: record.enqueuedAt,
    ...(record.progress !== undefined ? { progress: record.progress } : {}),
    ...(chunks ? { chunks: { total: chunks.total, states: { ...chunks.states }, rows: chunks.rows } } : {}),
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(action?.action === 'sign-off' ? { signedOff: { by: action.actor, at: action.at } } : {}),
    ...(action?.action === 'rollback' ? { rolledBack: { by: action.actor, at: action.at } } : {}),
  };
}

export function toDetail(
  record: TaskRecord,
  entries: readonly LedgerEntry[] = [],
  chunks?: ChunkProgress,
): MigrationDetail {
  return {
    ...toSummary(record, entries, chunks),
    history: record.history.map((attempt) => ({ ...attempt })),
    ...(record.report !== undefined ? { report: record.report } : {}),
    ...(record.snapshotRef !== undefined ? { snapshotRef: record.snapshotRef } : {}),
    actions: entries.map(({ action, actor, at }): MigrationAction => ({ action, actor, at })),
  };
}

/** Every status at zero: the shape of count responses. */
export function emptyCounts(): Record<MigrationStatus, number> {
  return Object.fromEntries(MIGRATION_STATUSES.map((status) => [status, 0])) as Record<MigrationStatus, number>;
}

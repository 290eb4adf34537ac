/**
 * Rollback: restore the snapshot a succeeded migration took of its target, through the
 * target connector's own `Snapshot.restore()` (core's guard around it), from the task's
 * stored definition resolved with this backend's environment.
 */
import { ConflictError } from '@backstage/errors';
import {
  type ConnectorRegistry,
  guardSnapshot,
  resolveStoredDefinition,
  type SnapshotRef,
  snapshotRefsOf,
  type TaskRecord,
} from '@honk/core';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The newest snapshot a record points at, or a ConflictError saying why there is none. */
export function snapshotToRestore(record: TaskRecord): SnapshotRef {
  if (record.state !== 'succeeded') {
    throw new ConflictError(
      `Task "${record.id}" is ${record.state}: only a succeeded migration can be rolled back (a failed one never published).`,
    );
  }
  const refs = snapshotRefsOf(record).sort((a, b) => (a.takenAt < b.takenAt ? -1 : a.takenAt > b.takenAt ? 1 : 0));
  const ref = refs[refs.length - 1];
  if (!ref) {
    throw new ConflictError(
      `Task "${record.id}" kept no snapshot of its target (the target did not exist before, snapshots are off for the task, or the snapshot was discarded after its keepFor), so there is nothing to restore.`,
    );
  }
  return ref;
}

export async function restoreSnapshot(
  record: TaskRecord,
  options: { registry: ConnectorRegistry; env?: Record<string, string | undefined>; baseDir?: string },
): Promise<SnapshotRef> {
  const ref = snapshotToRestore(record);
  const definition = resolveStoredDefinition(record, {
    connectors: options.registry,
    ...(options.env ? { env: options.env } : {}),
    ...(options.baseDir ? { baseDir: options.baseDir } : {}),
  });
  const target = definition.target;
  const connector = options.registry.get(target.connector);
  if (!connector.createSnapshot) {
    throw new ConflictError(`The ${connector.name} connector cannot restore snapshots.`);
  }
  const snapshot = guardSnapshot(
    connector.name,
    await connector.createSnapshot({
      options: target.options,
      endpoint: target.endpoint,
      context: {
        taskId: record.id,
        connectionName: target.connection,
        signal: new AbortController().signal,
        logger: quiet,
        ...(definition.baseDir ? { baseDir: definition.baseDir } : {}),
      },
    }),
  );
  await snapshot.restore(ref);
  return ref;
}

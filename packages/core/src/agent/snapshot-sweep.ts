/**
 * Snapshot retention: which target snapshots a store's tasks still keep, and discarding the
 * ones past their time. One implementation for every caller: the scheduler's periodic sweep
 * (`honk agent`), the sweep at the end of `honk run`, and the agent discarding the snapshot
 * a newer one replaced on a task record.
 *
 * Policy. A task keeps at most one snapshot: the one taken for its latest publish, which is
 * the one its record points at (`snapshotRef`, and the report's `snapshot` once the attempt
 * succeeded). It is kept `snapshot.keepFor` after it was taken (default
 * {@link DEFAULT_SNAPSHOT_KEEP_FOR_MS}, 7 days), then discarded by the next sweep. When a
 * new attempt publishes over a newer snapshot, the older one would no longer be reachable
 * from the record, so the agent discards it right away instead of leaking it.
 */
import type { ZodType } from 'zod';
import type { Json, Logger, SnapshotRef } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { guardSnapshot } from '../connector/guard.ts';
import { ConfigError } from '../errors/honk-error.ts';
import type { HonkEvents } from '../observe/events.ts';
import { silentLogger } from '../observe/logger.ts';
import type { TaskRecord, TaskStore } from '../queue/task-store.ts';
import { settlesWithin } from '../run/run-watchdog.ts';
import { DEFAULT_SNAPSHOT_KEEP_FOR_MS, type TaskDefinition } from '../run/task-definition.ts';
import { parseDuration } from '../spec/parse-duration.ts';
import { type DefinitionResolveOptions, isPortableTask, resolveStoredDefinition } from './stored-definition.ts';

/** True for JSON shaped like a snapshot ref (`connector` and `takenAt`). */
export function isSnapshotRef(value: unknown): value is SnapshotRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { connector?: unknown }).connector === 'string' &&
    typeof (value as { takenAt?: unknown }).takenAt === 'string'
  );
}

/** The distinct snapshot refs a record points at: its `snapshotRef` and its report's `snapshot`. */
export function snapshotRefsOf(record: Pick<TaskRecord, 'snapshotRef' | 'report'>): SnapshotRef[] {
  const report = record.report as { snapshot?: unknown } | undefined;
  const refs: SnapshotRef[] = [];
  const seen = new Set<string>();
  for (const candidate of [record.snapshotRef, report?.snapshot]) {
    if (!isSnapshotRef(candidate)) continue;
    const key = JSON.stringify(candidate);
    if (seen.has(key)) continue;
    seen.add(key);
    refs.push(candidate);
  }
  return refs;
}

/**
 * How long a record's snapshots are kept, in ms, read from its stored definition without
 * resolving anything (no environment needed, so `honk status` can show it anywhere).
 */
export function snapshotKeepForMs(definition: Json): number {
  if (isPortableTask(definition)) {
    const snapshot = definition.task.snapshot;
    if (typeof snapshot === 'object' && snapshot !== null && !Array.isArray(snapshot)) {
      const keepFor = (snapshot as { keepFor?: unknown }).keepFor;
      if (typeof keepFor === 'string') {
        try {
          return parseDuration(keepFor);
        } catch {
          return DEFAULT_SNAPSHOT_KEEP_FOR_MS;
        }
      }
    }
    return DEFAULT_SNAPSHOT_KEEP_FOR_MS;
  }
  const keepForMs = (definition as { snapshot?: { keepForMs?: unknown } } | null)?.snapshot?.keepForMs;
  return typeof keepForMs === 'number' && keepForMs >= 0 ? keepForMs : DEFAULT_SNAPSHOT_KEEP_FOR_MS;
}

/** What a task keeps, for `honk status`. */
export interface KeptSnapshot {
  /** The target connector that took it (`file`, `postgres`, `s3` …). */
  connector: string;
  takenAt: string;
  /** Age now, in ms. */
  ageMs: number;
  keepForMs: number;
  /** When the sweep discards it (takenAt + keepFor). */
  discardAfter: string;
  /** True once `discardAfter` has passed: the next sweep discards it (or already did). */
  expired: boolean;
  ref: SnapshotRef;
}

/** The snapshots a record keeps and when each goes. */
export function keptSnapshots(
  record: Pick<TaskRecord, 'snapshotRef' | 'report' | 'definition'>,
  now = new Date(),
): KeptSnapshot[] {
  const keepForMs = snapshotKeepForMs(record.definition);
  return snapshotRefsOf(record).map((ref) => {
    const taken = Date.parse(ref.takenAt);
    const discardAt = taken + keepForMs;
    return {
      connector: ref.connector,
      takenAt: ref.takenAt,
      ageMs: Math.max(0, now.getTime() - taken),
      keepForMs,
      discardAfter: new Date(discardAt).toISOString(),
      expired: discardAt <= now.getTime(),
      ref,
    };
  });
}

/** Discards one snapshot through the target connector of `definition`. Idempotent. */
export async function discardSnapshot(
  taskId: string,
  definition: TaskDefinition,
  ref: SnapshotRef,
  options: { connectors: ConnectorRegistry; logger?: Logger },
): Promise<void> {
  const target = definition.target;
  const connector = options.connectors.get(target.connector);
  if (!connector.createSnapshot) {
    throw new ConfigError(`Connector "${connector.name}" cannot manage snapshots, yet task "${taskId}" has one.`);
  }
  const parse = (schema: ZodType, value: unknown, where: string) => {
    const result = schema.safeParse(value);
    if (!result.success)
      throw new ConfigError(`Task "${taskId}": ${where} no longer parse for connector "${connector.name}".`);
    return result.data;
  };
  const snapshot = guardSnapshot(
    connector.name,
    await connector.createSnapshot({
      options: parse(connector.optionsSchema, target.options, `connections.${target.connection}`),
      endpoint: parse(connector.endpointSchema, target.endpoint, 'target'),
      context: {
        taskId,
        connectionName: target.connection,
        signal: new AbortController().signal,
        logger: options.logger ?? silentLogger,
        ...(definition.baseDir ? { baseDir: definition.baseDir } : {}),
      },
    }),
  );
  await snapshot.discard(ref);
}

export interface SweepSnapshotsOptions extends DefinitionResolveOptions {
  store: TaskStore;
  /** For events and logs. */
  agentId: string;
  events?: HonkEvents | undefined;
  logger?: Logger | undefined;
  /** Only these task ids (`honk run` sweeps the tasks of its spec). Default: every task. */
  ids?: readonly string[];
  now?: Date;
  /** Refs (keyed by task id and ref JSON) already discarded, so each is reported once; updated. */
  discarded?: Set<string>;
}

/**
 * Discards the snapshots of tasks that are not running and whose `keepFor` has passed.
 * Returns how many were discarded. A snapshot that cannot be discarded now (connector
 * unreachable, definition unreadable) is logged and tried again by the next sweep.
 */
export async function sweepSnapshots(options: SweepSnapshotsOptions): Promise<number> {
  const now = (options.now ?? new Date()).getTime();
  const logger = options.logger ?? silentLogger;
  const discarded = options.discarded ?? new Set<string>();
  let count = 0;
  const records = await options.store.list({
    states: ['pending', 'succeeded', 'retrying', 'dead', 'cancelled'],
    ...(options.ids ? { ids: [...options.ids] } : {}),
  });
  for (const record of records) {
    const keepForMs = snapshotKeepForMs(record.definition);
    const due = snapshotRefsOf(record).filter((ref) => {
      const key = `${record.id}\u0000${JSON.stringify(ref)}`;
      return !discarded.has(key) && Date.parse(ref.takenAt) + keepForMs <= now;
    });
    if (due.length === 0) continue;
    let definition: TaskDefinition;
    try {
      definition = resolveStoredDefinition(record, options);
    } catch (error) {
      logger.warn({ agentId: options.agentId, taskId: record.id, err: error }, 'sweep cannot read the task definition');
      continue;
    }
    for (const ref of due) {
      try {
        await discardSnapshot(record.id, definition, ref, { connectors: options.connectors, logger });
        discarded.add(`${record.id}\u0000${JSON.stringify(ref)}`);
        count += 1;
        options.events?.emit('snapshot-discarded', {
          agentId: options.agentId,
          at: new Date().toISOString(),
          taskId: record.id,
          takenAt: ref.takenAt,
          ref,
          reason: 'expired',
        });
      } catch (error) {
        logger.warn(
          { agentId: options.agentId, taskId: record.id, err: error },
          'could not discard an expired snapshot; the next sweep tries again',
        );
      }
    }
  }
  return count;
}

/** Longest wait for discarding one snapshot a newer one replaced. */
const SUPERSEDED_DISCARD_MS = 60_000;

/**
 * An attempt put `current` on the record: the refs the record pointed at before (`record`
 * as claimed) are no longer reachable from it, so no sweep would ever find them. Discards
 * them now, each bounded; a failure is logged and leaves that snapshot in place.
 */
export async function discardSupersededSnapshots(options: {
  record: Pick<TaskRecord, 'id' | 'snapshotRef' | 'report'>;
  current: Json;
  definition: TaskDefinition;
  connectors: ConnectorRegistry;
  logger?: Logger;
  events?: HonkEvents;
  agentId: string;
}): Promise<number> {
  const { record, definition } = options;
  const logger = options.logger ?? silentLogger;
  const current = JSON.stringify(options.current);
  let count = 0;
  for (const ref of snapshotRefsOf(record).filter((candidate) => JSON.stringify(candidate) !== current)) {
    let discarded = false;
    const discarding = discardSnapshot(record.id, definition, ref, { connectors: options.connectors, logger }).then(
      () => {
        discarded = true;
      },
      (error: unknown) => {
        logger.warn(
          { agentId: options.agentId, taskId: record.id, err: error },
          'could not discard the snapshot a newer one replaced; it is left in place',
        );
      },
    );
    if (!(await settlesWithin(discarding, SUPERSEDED_DISCARD_MS))) {
      logger.warn(
        { agentId: options.agentId, taskId: record.id },
        'discarding a replaced snapshot did not finish in time',
      );
    }
    if (!discarded) continue;
    count += 1;
    options.events?.emit('snapshot-discarded', {
      agentId: options.agentId,
      at: new Date().toISOString(),
      taskId: record.id,
      takenAt: ref.takenAt,
      ref,
      reason: 'superseded',
    });
  }
  return count;
}

/**
 * The backlog of an agent class in the PostgreSQL store, for `honk agent`'s metrics
 * (`honk_queue_claimable_tasks`, `honk_queue_oldest_claimable_age_seconds`) without
 * reading task records: the count is exactly what KEDA's scaler sees (the same
 * {@link claimableTasksQuery}); the age is that of the longest-due task of the class that is
 * inside its window (a task waiting for a slot of a saturated connection counts as waiting).
 */
import { type BacklogFilter, type QueueBacklog, type TaskWindow, windowAllows } from '@honk/core';
import type pg from 'pg';
import { claimableTasksQuery } from './claimable-tasks-query.ts';
import { quoteIdentifier } from './table-name.ts';

/** Due tasks looked at for the oldest one inside its window; beyond them the age is the first due task's. */
const OLDEST_SCAN = 200;

export async function postgresBacklog(pool: pg.Pool, schema: string, filter: BacklogFilter): Promise<QueueBacklog> {
  const labels = filter.labels ?? {};
  const [counted, due] = await Promise.all([
    pool.query<{ claimable: number }>(
      claimableTasksQuery({ schema, labels, ...(filter.connections ? { connections: filter.connections } : {}) }),
    ),
    pool.query<{ run_at: Date; window: TaskWindow | null; now: Date }>(
      `SELECT "run_at", "window", now() AS "now" FROM ${quoteIdentifier(schema)}."tasks"
        WHERE "state" IN ('pending', 'retrying') AND "run_at" <= now()
          AND "agent_labels" <@ $1::jsonb AND ($2::text[] IS NULL OR "connections" <@ $2::text[])
        ORDER BY "run_at" LIMIT ${OLDEST_SCAN}`,
      [JSON.stringify(labels), filter.connections ? [...filter.connections] : null],
    ),
  ]);
  const claimable = Number(counted.rows[0]?.claimable ?? 0);
  if (claimable === 0) return { claimable };
  const inWindow = due.rows.find((row) => row.window === null || windowAllows(row.window, row.now));
  const oldest = inWindow ?? due.rows[0];
  return oldest ? { claimable, oldestClaimableAt: oldest.run_at.toISOString() } : { claimable };
}

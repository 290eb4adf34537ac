/**
 * SQL of chunked tasks for the PostgreSQL task store (see `TaskStore.split` in @honk/core,
 * whose rules — `splitRecords`, `settledParent` — the store applies):
 *
 * - A chunk that dies or is cancelled wakes its waiting task, and a task that dies or is
 *   cancelled cancels its unended chunks: both are unconditional, so they ride along in the
 *   statement that ended the task, as data-modifying CTEs ({@link chunkCascadeCtes}).
 * - A chunk that succeeds wakes its task only if every chunk of the plan has succeeded. Two
 *   last chunks may succeed at the same moment in two transactions that cannot see each
 *   other's update, so a chunk's completion runs in a transaction that first locks its task's
 *   row: completions of sibling chunks are serialised, and the check, a statement that starts
 *   after the lock is granted, sees every sibling committed before ({@link settleSql}).
 */
import { CHUNKS_WAITING_RUN_AT } from '@honk/core';

/** The waiting task's `run_at` as a SQL literal (a constant, never user input). */
export const WAITING_RUN_AT = `'${CHUNKS_WAITING_RUN_AT}'::timestamptz`;

const UNENDED = `('pending', 'retrying', 'running')`;

/**
 * CTEs `"woken"` and `"orphaned"` following a data-modifying CTE `from` whose rows return
 * `id`, `state`, `chunk_of` and `chunk`: rows of `from` that match `ended` (a condition on
 * alias `f`) wake their waiting task (a chunk died or was cancelled) and cancel their
 * unended chunks (a chunked task died or was cancelled). Rows `from` itself changed are left
 * to it (one statement must not update a row twice). `now`/`nowText`: parameter placeholders.
 */
export function chunkCascadeCtes(tasks: string, from: string, ended: string, now: string, nowText: string): string {
  return `"woken" AS (
      UPDATE ${tasks} p SET "run_at" = ${now}::timestamptz, "updated_at" = ${now}::timestamptz
        FROM ${from} f
       WHERE ${ended} AND p."id" = f."chunk_of" AND p."state" = 'pending' AND p."run_at" = ${WAITING_RUN_AT}
         AND p."chunked" ->> 'planId' = f."chunk" ->> 'plan' AND p."id" NOT IN (SELECT "id" FROM ${from})
      RETURNING p."id"),
    "orphaned" AS (
      UPDATE ${tasks} c SET "state" = 'cancelled',
             "history" = CASE WHEN c."state" = 'running'
               THEN jsonb_set(c."history", '{-1}', (c."history" -> -1) ||
                      jsonb_build_object('endedAt', ${nowText}::text, 'outcome', 'cancelled'))
               ELSE c."history" END,
             "updated_at" = ${now}::timestamptz
        FROM ${from} f
       WHERE ${ended} AND c."chunk_of" = f."id" AND c."state" IN ${UNENDED} AND c."id" NOT IN (SELECT "id" FROM ${from})
      RETURNING c."id")`;
}

/**
 * Select-list items reporting the cascade of {@link chunkCascadeCtes} (`woken`, `orphaned`:
 * JSON arrays of ids or null) and notifying other instances of every woken task.
 */
export function cascadeSelect(channel: string, origin: string, nowText: string): string {
  return `(SELECT jsonb_agg(w."id") FROM (
             SELECT "id", pg_notify(${channel}, jsonb_build_object('o', ${origin}::text, 'e', jsonb_build_object(
                      'type', 'task-chunks-ended', 'taskId', "id", 'at', ${nowText}::text))::text)
               FROM "woken") w) AS "woken",
          (SELECT jsonb_agg("id") FROM "orphaned") AS "orphaned"`;
}

/**
 * After a chunk of plan `$2` succeeded, in the transaction holding its task's row lock: wakes
 * task `$1` (at `$3`) when it waits and every chunk of the plan has succeeded. Returns its id.
 */
export function settleSql(tasks: string): string {
  return `UPDATE ${tasks} p SET "run_at" = $3::timestamptz, "updated_at" = $3::timestamptz
     WHERE p."id" = $1 AND p."state" = 'pending' AND p."run_at" = ${WAITING_RUN_AT}
       AND p."chunked" ->> 'planId' = $2::text
       AND (SELECT count(*) FROM ${tasks} c
             WHERE c."chunk_of" = p."id" AND c."state" = 'succeeded' AND c."chunk" ->> 'plan' = $2::text
               AND (c."chunk" ->> 'index')::int < (p."chunked" ->> 'chunks')::int) = (p."chunked" ->> 'chunks')::int
    RETURNING p."id"`;
}

/** Cancels the unended chunks of tasks `$1` (text[]); `$2` now, `$3` now as text. Returns their ids. */
export function cancelChunksSql(tasks: string): string {
  return `UPDATE ${tasks} c SET "state" = 'cancelled',
         "history" = CASE WHEN c."state" = 'running'
           THEN jsonb_set(c."history", '{-1}', (c."history" -> -1) ||
                  jsonb_build_object('endedAt', $3::text, 'outcome', 'cancelled'))
           ELSE c."history" END,
         "updated_at" = $2::timestamptz
   WHERE c."chunk_of" = ANY($1::text[]) AND c."state" IN ${UNENDED}
  RETURNING c."id"`;
}

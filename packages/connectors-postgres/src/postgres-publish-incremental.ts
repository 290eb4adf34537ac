/**
 * The target side of incremental tasks (see README "Incremental tasks"): the high-water mark
 * lives in `"<schema>"._honk_incremental`, one row per (task, target), and is written inside
 * the publish transaction, after the increment's rows and under the same advisory lock. So
 * the increment and its mark commit together or not at all: a crash before COMMIT leaves
 * both as they were (the next run reads the same increment again), a crash after it leaves
 * both done (the next run starts past them), whatever the task store recorded.
 *
 * The publish commits only over the mark its run started from (`runs` is the mark's
 * version): when another run of the task published in between, the publish fails as
 * transient with nothing written, and the retry reads from the newer mark.
 */
import { ConfigError, type IncrementalCommit, type IncrementalMark, TransientError } from '@honk/core';
import { INCREMENTAL_TABLE, tableExists } from './postgres-catalog.ts';
import type { PgClient } from './postgres-client.ts';
import { type CursorColumn, cursorLiteral } from './postgres-incremental.ts';
import type { Queryable } from './postgres-types.ts';
import { quoteIdentifier, quoteTable, type TableName } from './table-name.ts';

function marksTable(target: TableName): string {
  return quoteTable({ schema: target.schema, table: INCREMENTAL_TABLE });
}

function isMark(value: unknown): value is IncrementalMark {
  const mark = value as Partial<IncrementalMark> | null;
  return (
    mark !== null &&
    typeof mark === 'object' &&
    typeof mark.cursor === 'string' &&
    (mark.value === null || typeof mark.value === 'string') &&
    typeof mark.runs === 'number' &&
    typeof mark.source === 'string'
  );
}

/** The mark stored for `key` at `target`, or null. `lock` takes the row lock (inside the publish transaction). */
export async function readMark(
  client: Queryable,
  target: TableName,
  key: string,
  options: { lock?: boolean; connection: string },
): Promise<IncrementalMark | null> {
  if (!(await tableExists(client, { schema: target.schema, table: INCREMENTAL_TABLE }))) return null;
  const result = await client.query<{ mark: unknown }>(
    `SELECT mark FROM ${marksTable(target)} WHERE task_id = $1 AND target = $2${options.lock ? ' FOR UPDATE' : ''}`,
    [key, quoteTable(target)],
  );
  if (result.rows.length === 0) return null;
  const mark = result.rows[0]!.mark;
  if (!isMark(mark)) {
    throw new ConfigError(
      `PostgreSQL connection "${options.connection}": the high-water mark of task "${key}" for ${quoteTable(target)} in ${marksTable(target)} is malformed. Delete that row (and empty the target) to start the task over.`,
      { details: { table: quoteTable(target), markKey: key } },
    );
  }
  return mark;
}

/** Inside the publish transaction, under the target's lock: fails (transient) unless the stored mark is the run's starting one. */
export async function checkMark(
  client: Queryable,
  target: TableName,
  commit: IncrementalCommit,
  connection: string,
): Promise<void> {
  const stored = await readMark(client, target, commit.key, { lock: true, connection });
  const expected = commit.from?.runs ?? 0;
  const found = stored?.runs ?? 0;
  if (found === expected) return;
  throw new TransientError(
    `PostgreSQL connection "${connection}": the high-water mark of task "${commit.key}" for ${quoteTable(target)} moved while this run read its increment (run ${found} is stored, this run started after run ${expected}): another run of the task published in between. Nothing was published; a retry reads from the newer mark.`,
    { details: { table: quoteTable(target), markKey: commit.key, storedRuns: found, expectedRuns: expected } },
  );
}

/**
 * The first increment appended into a table that already holds rows would add the source's
 * rows a second time when those rows came from an earlier copy (a replace task turned
 * incremental, say). Refused, inside the publish transaction: nothing is written.
 */
export async function refuseUnmarkedRows(
  client: Queryable,
  target: TableName,
  commit: IncrementalCommit,
  connection: string,
): Promise<void> {
  if (commit.from !== null) return;
  const found = await client.query<{ rows: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${quoteTable(target)}) AS rows`);
  if (!found.rows[0]?.rows) return;
  throw new ConfigError(
    `PostgreSQL connection "${connection}": ${quoteTable(target)} already holds rows, but no high-water mark of task "${commit.key}": appending its first increment (every source row up to the mark) could add rows that are already there. Nothing was published. Empty the target for an incremental append, or use mode: merge with a key (which updates rows in place).`,
    { details: { table: quoteTable(target), markKey: commit.key, option: 'target.mode' } },
  );
}

/**
 * For an append whose source read the rows at the old mark's value again: removes from the
 * staging table the rows at that value that the target already holds (compared column by
 * column as text, NULLs equal), so they are not appended twice. Returns how many it removed.
 * Rows are told apart by their values: a late row identical in every column to one already
 * appended at that value is taken for it.
 */
export async function dropRereadRows(
  client: PgClient,
  args: { staging: TableName; target: TableName; columns: readonly CursorColumn[]; commit: IncrementalCommit },
  connection: string,
): Promise<number> {
  const { commit } = args;
  const value = commit.from?.value;
  if (!commit.reread || value === null || value === undefined) return 0;
  const cursor = args.columns.find((column) => column.name === commit.column);
  if (!cursor) {
    throw new ConfigError(
      `PostgreSQL connection "${connection}": the cursor column "${commit.column}" is not among the columns written to ${quoteTable(args.target)}.`,
    );
  }
  const literal = cursorLiteral(cursor, value, `PostgreSQL connection "${connection}", ${quoteTable(args.target)}`);
  const c = quoteIdentifier(cursor.name);
  const row = (alias: string) =>
    `ROW(${args.columns.map((column) => `${alias}.${quoteIdentifier(column.name)}::text`).join(', ')})`;
  const result = await client.query(
    `DELETE FROM ${quoteTable(args.staging)} AS s WHERE s.${c} = ${literal}
       AND EXISTS (SELECT 1 FROM ${quoteTable(args.target)} AS t WHERE t.${c} = ${literal}
                     AND ${row('t')} IS NOT DISTINCT FROM ${row('s')})`,
  );
  return result.rowCount ?? 0;
}

/** Stores the run's new mark, in the publish transaction. */
export async function commitMark(
  client: Queryable,
  target: TableName,
  commit: IncrementalCommit,
  rows: number,
): Promise<void> {
  await client.query(
    `INSERT INTO ${marksTable(target)} (task_id, target, mark, runs, rows, updated_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, now())
       ON CONFLICT (task_id, target) DO UPDATE
         SET mark = EXCLUDED.mark, runs = EXCLUDED.runs, rows = EXCLUDED.rows, updated_at = EXCLUDED.updated_at`,
    [commit.key, quoteTable(target), JSON.stringify(commit.to), commit.to.runs, rows],
  );
}

/**
 * Catalog look-ups by exact name and Honk's own bookkeeping tables.
 *
 * Tables are found by comparing the parsed schema and table names with `pg_namespace` and
 * `pg_class` as parameters — no quoting, no `search_path` — so the answer does not depend on
 * how a name was quoted, and the post-publish check compares against an independent path.
 *
 * The bookkeeping tables (`_honk_applied`, `_honk_snapshots`, `_honk_incremental`) are created on first use. In
 * PostgreSQL `CREATE TABLE IF NOT EXISTS` is not safe when several sessions run it at once
 * (two can both see "missing" and one then fails with unique_violation on `pg_type`), so
 * creation is serialised by a transaction-scoped advisory lock, re-checked under the lock,
 * and a duplicate error from a creator that does not take the lock is treated as "exists".
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@honk/core';
import type { Queryable } from './postgres-types.ts';
import { quoteTable, type TableName } from './table-name.ts';

/** Bookkeeping table for idempotent appends. */
export const APPLIED_TABLE = '_honk_applied';
/** Bookkeeping table for snapshots (see postgres-snapshot.ts). */
export const SNAPSHOTS_TABLE = '_honk_snapshots';
/** Bookkeeping table for chunked staging (see postgres-chunked-staging.ts). */
export const CHUNKS_TABLE = '_honk_chunks';
/** Bookkeeping table for incremental tasks' high-water marks (see postgres-publish-incremental.ts). */
export const INCREMENTAL_TABLE = '_honk_incremental';

const BOOKKEEPING_COLUMNS: Record<string, string> = {
  [APPLIED_TABLE]: `(task_id text NOT NULL, target text NOT NULL, stage_hash text NOT NULL,
     rows bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (task_id, target, stage_hash))`,
  [SNAPSHOTS_TABLE]: `(id text PRIMARY KEY, task_id text NOT NULL, target text NOT NULL, snapshot_table text NOT NULL,
     state text NOT NULL, indexes jsonb NOT NULL DEFAULT '[]', applied_hash text,
     taken_at timestamptz NOT NULL DEFAULT now())`,
  [CHUNKS_TABLE]: `(staging text NOT NULL, chunk text NOT NULL, task_id text NOT NULL, target text NOT NULL,
     plan text NOT NULL, rows bigint NOT NULL, result jsonb NOT NULL,
     committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (staging, chunk))`,
  [INCREMENTAL_TABLE]: `(task_id text NOT NULL, target text NOT NULL, mark jsonb NOT NULL, runs bigint NOT NULL,
     rows bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (task_id, target))`,
};

/**
 * The OID of the relation with exactly this schema and name, or null. When the name carries
 * a database part it must be the connection's database (PostgreSQL cannot reach another).
 */
export async function findTable(client: Queryable, table: TableName): Promise<number | null> {
  const result = await client.query<{ database: string; oid: string | null }>(
    `SELECT current_database() AS database,
            (SELECT c.oid::int8 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2
                -- tables, partitioned tables, views, materialized views, foreign tables
                AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))::text AS oid`,
    [table.schema, table.table],
  );
  const row = result.rows[0]!;
  if (table.database !== undefined && table.database !== row.database) {
    throw new ConfigError(
      `table: ${JSON.stringify(`${table.database}.${table.schema}.${table.table}`)} names database ` +
        `${JSON.stringify(table.database)}, but the connection is connected to database ${JSON.stringify(row.database)}. ` +
        'PostgreSQL cannot reach another database over one connection: use a connection whose url names that ' +
        'database, or leave the database part out.',
      { details: { option: 'table', database: table.database } },
    );
  }
  return row.oid === null ? null : Number(row.oid);
}

/** True when a table of exactly this schema and name exists. */
export async function tableExists(client: Queryable, table: TableName): Promise<boolean> {
  return (await findTable(client, table)) !== null;
}

/**
 * A 64-bit advisory lock key (as int8 text) for a purpose and a name. Advisory locks are
 * per database, so equal names in two databases never contend.
 */
export function advisoryKey(purpose: string, name: string): string {
  return createHash('sha256').update(`honk:${purpose}\u0000${name}`).digest().readBigInt64BE(0).toString();
}

/** SQLSTATEs a concurrent creation of the same object raises. */
const DUPLICATE_OBJECT = new Set(['23505', '42P07', '42710']);

/**
 * Creates the bookkeeping table `table` (APPLIED_TABLE, SNAPSHOTS_TABLE or INCREMENTAL_TABLE) in `schema` unless
 * it exists; safe when many sessions call it at once. Runs its own short transaction, so the
 * client must not be inside one, and the new table is visible to everyone at once.
 */
export async function ensureBookkeepingTable(
  client: Queryable,
  schema: string,
  table: typeof APPLIED_TABLE | typeof SNAPSHOTS_TABLE | typeof CHUNKS_TABLE | typeof INCREMENTAL_TABLE,
): Promise<void> {
  const name = { schema, table };
  if (await tableExists(client, name)) return;
  for (let attempt = 1; ; attempt++) {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1::int8)', [advisoryKey('bookkeeping', quoteTable(name))]);
      // A fresh statement sees what the lock holder before us committed.
      if (!(await tableExists(client, name))) {
        await client.query(`CREATE TABLE IF NOT EXISTS ${quoteTable(name)} ${BOOKKEEPING_COLUMNS[table]}`);
      }
      await client.query('COMMIT');
      return;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      const code = (error as { code?: unknown }).code;
      // Someone outside the lock (an older Honk) created it at the same moment: it exists now.
      if (attempt < 3 && typeof code === 'string' && DUPLICATE_OBJECT.has(code)) continue;
      throw error;
    }
  }
}

/**
 * Serialises publishes and restores of one target (transaction-scoped: released at COMMIT or
 * ROLLBACK), so concurrent tasks writing the same table see each other's result — the second
 * replace into a table that did not exist finds the first one's table instead of colliding.
 */
export async function lockTarget(client: Queryable, table: TableName): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1::int8)', [advisoryKey('publish', quoteTable(table))]);
}

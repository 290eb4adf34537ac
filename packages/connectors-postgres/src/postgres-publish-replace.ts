/**
 * The replace publish (also how a target that does not exist yet is created), run inside
 * the sink's publish transaction: the old table is locked, its indexes, constraints, grants
 * and comments are read, it is dropped (or renamed to the snapshot table a pending marker
 * asked for), the staging table is renamed to the target, and what was read is recreated on
 * it. One that no longer fits the new columns is skipped with a warning.
 *
 * The old table is addressed by OID (a parameter), never by a name pasted into SQL text.
 */
import type { ConnectorContext } from '@honk/core';
import { findTable, SNAPSHOTS_TABLE, tableExists } from './postgres-catalog.ts';
import type { PgClient } from './postgres-client.ts';
import { MAX_IDENTIFIER_BYTES, quoteIdentifier, quoteTable, type TableName } from './table-name.ts';

/** A pending snapshot marker: a `take()` asked the next publish to keep the old table. */
export interface PendingSnapshot {
  id: string;
  snapshot_table: string;
}

/**
 * The newest pending snapshot marker of the target, locked. Keyed by target, not task:
 * whoever publishes next over the target honours it.
 */
export async function pendingSnapshot(client: PgClient, target: TableName): Promise<PendingSnapshot | undefined> {
  const markers = { schema: target.schema, table: SNAPSHOTS_TABLE };
  if (!(await tableExists(client, markers))) return undefined;
  const result = await client.query<PendingSnapshot>(
    `SELECT id, snapshot_table FROM ${quoteTable(markers)}
      WHERE target = $1 AND state = 'pending' ORDER BY taken_at DESC FOR UPDATE`,
    [quoteTable(target)],
  );
  return result.rows[0];
}

/** Points every pending marker of the target at the snapshot table this publish made. */
export async function settleSnapshots(
  client: PgClient,
  target: TableName,
  snapshotTable: string,
  state: 'renamed' | 'copied',
  extra: { indexes?: string; appliedHash?: string | null },
): Promise<void> {
  await client.query(
    `UPDATE ${quoteTable({ schema: target.schema, table: SNAPSHOTS_TABLE })}
        SET state = $2, snapshot_table = $3, indexes = COALESCE($4::jsonb, indexes), applied_hash = $5
      WHERE target = $1 AND state = 'pending'`,
    [quoteTable(target), state, snapshotTable, extra.indexes ?? null, extra.appliedHash ?? null],
  );
}

/**
 * The name an index of a replaced table takes while it sits in the snapshot (index names are
 * unique per schema). Built from the snapshot table's short name, so it always fits.
 */
function asideIndexName(snapshotTable: string, n: number): string {
  const name = `${snapshotTable}_i${n}`;
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new Error(`snapshot index name ${name} would exceed ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return name;
}

/** What the old table had that the new one should keep. */
interface CarryOver {
  constraints: Array<{ name: string; definition: string }>;
  indexes: string[];
  grants: Array<{ grantee: string | null; privilege: string; grantable: boolean }>;
  tableComment: string | null;
  columnComments: Array<{ name: string; comment: string }>;
}

async function readCarryOver(client: PgClient, oid: number): Promise<CarryOver> {
  const constraints = (
    await client.query<{ name: string; definition: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_catalog.pg_constraint
        WHERE conrelid = $1::oid AND contype IN ('p', 'u', 'c', 'x') ORDER BY contype = 'p' DESC, conname`,
      [oid],
    )
  ).rows;
  const indexes = (
    await client.query<{ definition: string }>(
      `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_catalog.pg_index i
        WHERE i.indrelid = $1::oid
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)`,
      [oid],
    )
  ).rows.map((row) => row.definition);
  const grants = (
    await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_catalog.pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = $1::oid AND a.grantee <> c.relowner`,
      [oid],
    )
  ).rows;
  const tableComment = (
    await client.query<{ comment: string | null }>(`SELECT obj_description($1::oid, 'pg_class') AS comment`, [oid])
  ).rows[0]!.comment;
  const columnComments = (
    await client.query<{ name: string; comment: string }>(
      `SELECT attname AS name, col_description(attrelid, attnum) AS comment FROM pg_catalog.pg_attribute
        WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND col_description(attrelid, attnum) IS NOT NULL`,
      [oid],
    )
  ).rows;
  return { constraints, indexes, grants, tableComment, columnComments };
}

export interface ReplaceArgs {
  target: TableName;
  /** Whether the target exists (else the publish creates it). */
  exists: boolean;
  staging: TableName;
  logger: ConnectorContext['logger'];
}

/** Makes the staging table the target (see the file comment). Runs inside the caller's transaction. */
export async function publishReplace(client: PgClient, args: ReplaceArgs): Promise<void> {
  const { target, staging, logger } = args;
  const quoted = quoteTable(target);
  let carry: CarryOver | undefined;
  if (args.exists) {
    await client.query(`LOCK TABLE ${quoted} IN ACCESS EXCLUSIVE MODE`);
    // Looked up again under the lock: whatever holds the name now is what gets replaced.
    const targetOid = await findTable(client, target);
    if (targetOid === null) throw new Error(`${quoted} disappeared while being locked`);
    carry = await readCarryOver(client, targetOid);
    const snapshot = await pendingSnapshot(client, target);
    if (snapshot) {
      // Index names are unique per schema: move the old table's out of the way, remember them for restore.
      const owned = (
        await client.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = $1::oid ORDER BY c.relname`,
          [targetOid],
        )
      ).rows;
      const renamed: Array<[string, string]> = [];
      for (const [n, index] of owned.entries()) {
        const aside = asideIndexName(snapshot.snapshot_table, n);
        await client.query(
          `ALTER INDEX ${quoteTable({ schema: target.schema, table: index.name })} RENAME TO ${quoteIdentifier(aside)}`,
        );
        renamed.push([aside, index.name]);
      }
      await client.query(`ALTER TABLE ${quoted} RENAME TO ${quoteIdentifier(snapshot.snapshot_table)}`);
      await settleSnapshots(client, target, snapshot.snapshot_table, 'renamed', { indexes: JSON.stringify(renamed) });
    } else {
      await client.query(`DROP TABLE ${quoted}`);
    }
  }
  await client.query(`ALTER TABLE ${quoteTable(staging)} RENAME TO ${quoteIdentifier(target.table)}`);
  if (!carry) return;
  const attempt = async (sql: string, what: string) => {
    await client.query('SAVEPOINT honk_carry');
    try {
      await client.query(sql);
      await client.query('RELEASE SAVEPOINT honk_carry');
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT honk_carry');
      logger.warn(
        { table: quoted, what, error: (error as Error).message },
        'Could not carry over to the replaced table; skipped',
      );
    }
  };
  for (const constraint of carry.constraints) {
    await attempt(
      `ALTER TABLE ${quoted} ADD CONSTRAINT ${quoteIdentifier(constraint.name)} ${constraint.definition}`,
      `constraint ${constraint.name}`,
    );
  }
  for (const index of carry.indexes) await attempt(index, 'index');
  for (const grant of carry.grants) {
    const to = grant.grantee === null ? 'PUBLIC' : quoteIdentifier(grant.grantee);
    await attempt(
      `GRANT ${grant.privilege} ON ${quoted} TO ${to}${grant.grantable ? ' WITH GRANT OPTION' : ''}`,
      'grant',
    );
  }
  // COMMENT takes no parameters: the server quotes the text (format %L) and we run what it built.
  const commentOn = async (kind: 'TABLE' | 'COLUMN', object: string, text: string) => {
    const built = await client.query<{ sql: string }>(
      `SELECT format('COMMENT ON ${kind} %s IS %L', $1::text, $2::text) AS sql`,
      [object, text],
    );
    await attempt(built.rows[0]!.sql, `${kind.toLowerCase()} comment`);
  };
  if (carry.tableComment !== null) await commentOn('TABLE', quoted, carry.tableComment);
  for (const column of carry.columnComments) {
    await commentOn('COLUMN', `${quoted}.${quoteIdentifier(column.name)}`, column.comment);
  }
}

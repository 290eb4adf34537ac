/**
 * The PostgreSQL sink. Every attempt writes into a staging table named after the task
 * (`_honk_stage_<hash of task id>` in the target's schema, dropped first if an earlier
 * attempt left it), through binary COPY with backpressure. Publishing is one transaction:
 *
 * - replace: the old table is renamed aside (kept as the snapshot when one was taken, else
 *   dropped), the staging table is renamed to the target, and the old table's indexes,
 *   primary/unique/check/exclusion constraints, grants and comments are recreated on it
 *   (one that no longer fits the new columns is skipped with a warning). Foreign keys, views,
 *   triggers, policies and ownership are not carried over (see README).
 * - append: rows are inserted once per (task, staged content hash), recorded in
 *   `_honk_applied` in the same transaction, so re-running the same task never duplicates.
 * - merge: `INSERT … ON CONFLICT (key) DO UPDATE`, which needs a unique index on the key.
 *
 * A concurrent reader sees the old or the new table, never an empty or partial one.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  type ConnectorContext,
  type PublishResult,
  SchemaMismatchError,
  type Sink,
  type SinkWriter,
  type StagedTarget,
  type TargetDescription,
  type WriteOptions,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { from as copyFrom } from 'pg-copy-streams';
import { planColumns } from './arrow-to-postgres.ts';
import { CopyBinaryEncoder, encodable } from './copy-binary-encoder.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';
import { type DiscoveredColumn, describeTable, PostgresSource, rawCopyFormat, schemaOf } from './postgres-source.ts';
import type { PgType, Queryable } from './postgres-types.ts';
import { quoteIdentifier, quoteTable, shortHash, type TableName } from './table-name.ts';

/** Staging table name for a task: deterministic, so the next attempt finds and drops leftovers. */
export function stagingTableName(taskId: string): string {
  return `_honk_stage_${shortHash(taskId)}`;
}

/** Bookkeeping table for idempotent appends. */
export const APPLIED_TABLE = '_honk_applied';
/** Bookkeeping table for snapshots (see postgres-snapshot.ts). */
export const SNAPSHOTS_TABLE = '_honk_snapshots';

export async function ensureSnapshotsTable(client: Queryable, schema: string): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${quoteTable({ schema, table: SNAPSHOTS_TABLE })} (
       id text PRIMARY KEY, task_id text NOT NULL, target text NOT NULL, snapshot_table text NOT NULL,
       state text NOT NULL, indexes jsonb NOT NULL DEFAULT '[]', applied_hash text,
       taken_at timestamptz NOT NULL DEFAULT now())`,
  );
}

/** True when a table exists (by exact, quoted name). */
export async function tableExists(client: Queryable, table: TableName): Promise<boolean> {
  const result = await client.query<{ oid: number | null }>('SELECT to_regclass($1)::oid::int4 AS oid', [
    quoteTable(table),
  ]);
  return result.rows[0]?.oid != null;
}

/** Does a unique, non-partial index cover exactly these columns? */
async function hasUniqueIndexOn(client: Queryable, table: TableName, key: readonly string[]): Promise<boolean> {
  const result = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY a.attname) AS columns
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [quoteTable(table)],
  );
  const wanted = [...key].sort().join('\u0000');
  return result.rows.some((row) => [...row.columns].sort().join('\u0000') === wanted);
}

export interface PostgresSinkArgs {
  options: PostgresOptions;
  table: TableName;
  context: ConnectorContext;
}

export class PostgresSink implements Sink {
  private readonly args: PostgresSinkArgs;
  constructor(args: PostgresSinkArgs) {
    this.args = args;
  }

  private where(operation: string) {
    return { connection: this.args.context.connectionName, operation: `${operation} ${quoteTable(this.args.table)}` };
  }

  private async withClient<T>(operation: string, run: (client: PgClient) => Promise<T>): Promise<T> {
    const client = await connect(
      this.args.options,
      this.args.context,
      `connecting for ${operation} ${quoteTable(this.args.table)}`,
    );
    try {
      return await run(client);
    } catch (error) {
      throw toPostgresError(error, this.where(operation));
    } finally {
      await release(client);
    }
  }

  async describe(): Promise<TargetDescription> {
    return this.withClient('describing', async (client) => {
      const columns = await describeTable(client, this.args.table);
      return columns ? { exists: true, schema: schemaOf(columns) } : { exists: false };
    });
  }

  async check(schema: Schema, options: Pick<WriteOptions, 'mode' | 'key'>): Promise<void> {
    await this.withClient('checking', (client) => this.plan(client, schema, options));
  }

  /**
   * The staging columns for this schema and mode: the Arrow mapping for a new or replaced
   * table, the existing target's own column types for append/merge (so publishing needs no
   * casts). Throws SchemaMismatchError listing every problem.
   */
  async plan(
    client: Queryable,
    schema: Schema,
    options: Pick<WriteOptions, 'mode' | 'key'>,
  ): Promise<{ columns: Array<{ name: string; type: PgType; ddl: string }>; target: DiscoveredColumn[] | null }> {
    const planned = planColumns(schema.fields);
    const names = new Set<string>();
    for (const field of schema.fields) {
      if (names.has(field.name)) {
        throw new SchemaMismatchError(`Column "${field.name}" appears twice; PostgreSQL column names must be unique.`);
      }
      names.add(field.name);
    }
    const target = await describeTable(client, this.args.table);
    const problems: string[] = [];
    if (options.mode === 'merge') {
      const key = options.key ?? [];
      if (key.length === 0) problems.push('merge needs key columns (target.key)');
      for (const column of key) if (!names.has(column)) problems.push(`key column "${column}" is not in the data`);
      if (target && key.length > 0 && !(await hasUniqueIndexOn(client, this.args.table, key))) {
        problems.push(
          `merge needs a unique index (or primary key) on (${key.map((k) => `"${k}"`).join(', ')}) of ${quoteTable(this.args.table)}; create one`,
        );
      }
    }
    if (!target || options.mode === 'replace') {
      if (problems.length > 0) throw this.mismatch(problems);
      return { columns: planned, target };
    }
    const byName = new Map(target.map((column) => [column.name, column]));
    const columns = schema.fields.map((field) => {
      const column = byName.get(field.name);
      if (!column) {
        problems.push(`column "${field.name}" does not exist in the target`);
        return undefined;
      }
      const reason = encodable(field.type, column.type);
      if (reason) problems.push(`column "${field.name}" (${field.type} into ${column.declared}): ${reason}`);
      return { name: field.name, type: column.type, ddl: column.declared };
    });
    for (const column of target) {
      if (!names.has(column.name) && !column.nullable) {
        problems.push(`target column "${column.name}" is NOT NULL but the data has no such column`);
      }
    }
    if (problems.length > 0) throw this.mismatch(problems);
    return { columns: columns as Array<{ name: string; type: PgType; ddl: string }>, target };
  }

  private mismatch(problems: string[]): SchemaMismatchError {
    return new SchemaMismatchError(
      `PostgreSQL connection "${this.args.context.connectionName}": cannot write to ${quoteTable(this.args.table)}: ${problems.join('; ')}.`,
      { details: { table: quoteTable(this.args.table), problems } },
    );
  }

  async open(schema: Schema, options: WriteOptions): Promise<SinkWriter> {
    const client = await connect(
      this.args.options,
      this.args.context,
      `connecting to write ${quoteTable(this.args.table)}`,
    );
    try {
      const { columns } = await this.plan(client, schema, options);
      const writer = new PostgresWriter(this.args, client, schema, columns, options);
      await writer.start();
      // A plain object with own methods: wrappers that spread a writer ({ ...writer }) keep working.
      return {
        write: (batch) => writer.write(batch),
        stage: () => writer.stage(),
        publish: () => writer.publish(),
        abort: (reason) => writer.abort(reason),
        rawFormat: () => writer.rawFormat(),
        writeRaw: (bytes) => writer.writeRaw(bytes),
      };
    } catch (error) {
      await release(client, true);
      throw toPostgresError(error, this.where('opening a writer for'));
    }
  }
}

class PostgresWriter implements SinkWriter {
  private readonly staging: TableName;
  private readonly encoder: CopyBinaryEncoder;
  /** Content hash of the staged bytes: the idempotency key of an append (only computed then). */
  private readonly hash: Hash | null;
  private stream: ReturnType<typeof copyFrom> | undefined;
  private streamError: unknown;
  private bytes = 0;
  private rows = 0;
  private client: PgClient | undefined;
  /** The staging table's raw format (see rawCopyFormat), read from the catalog once it exists. */
  private format: string | null = null;
  /** Whether rows arrived as raw bytes (then the server's COPY row count is the count). */
  private raw = false;

  private readonly args: PostgresSinkArgs;
  private readonly columns: Array<{ name: string; type: PgType; ddl: string }>;
  private readonly options: WriteOptions;
  constructor(
    args: PostgresSinkArgs,
    client: PgClient,
    schema: Schema,
    columns: Array<{ name: string; type: PgType; ddl: string }>,
    options: WriteOptions,
  ) {
    this.args = args;
    this.columns = columns;
    this.options = options;
    this.client = client;
    this.hash = options.mode === 'append' ? createHash('sha256') : null;
    this.staging = { schema: args.table.schema, table: stagingTableName(args.context.taskId) };
    this.encoder = new CopyBinaryEncoder(
      schema.fields.map((field) => field.type),
      columns,
    );
  }

  private where(operation: string) {
    return { connection: this.args.context.connectionName, operation: `${operation} ${quoteTable(this.args.table)}` };
  }

  async start(): Promise<void> {
    const client = this.client!;
    const stage = quoteTable(this.staging);
    await client.query(`DROP TABLE IF EXISTS ${stage}`);
    const definition = this.columns.map((column) => `${quoteIdentifier(column.name)} ${column.ddl}`).join(', ');
    await client.query(`CREATE TABLE ${stage} (${definition})`);
    const declared = await client.query<{ declared: string }>(
      `SELECT format_type(atttypid, atttypmod) AS declared FROM pg_catalog.pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [stage],
    );
    this.format = rawCopyFormat(
      this.columns.map((column, c) => ({ name: column.name, declared: declared.rows[c]?.declared ?? '' })),
    );
    const list = this.columns.map((column) => quoteIdentifier(column.name)).join(', ');
    const stream = client.query(copyFrom(`COPY ${stage} (${list}) FROM STDIN (FORMAT binary)`));
    stream.on('error', (error) => {
      this.streamError ??= error;
    });
    this.stream = stream;
    this.send(this.encoder.header());
  }

  private send(chunk: Buffer): boolean {
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    return this.stream!.write(chunk);
  }

  private failIfBroken(): void {
    if (this.streamError) throw toPostgresError(this.streamError, this.where('writing'));
  }

  async write(batch: RecordBatch): Promise<void> {
    this.failIfBroken();
    if (batch.numRows === 0) return;
    const chunk = this.encoder.encode(batch);
    this.rows += batch.numRows;
    await this.sendWithBackpressure(chunk);
  }

  /** The raw format the staging table takes as is: binary COPY tuples of exactly its column types. */
  rawFormat(): string | null {
    return this.stream ? this.format : null;
  }

  /** Tuple bytes in `rawFormat()` (no header or trailer: this writer framed the COPY already). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    this.failIfBroken();
    this.raw = true;
    if (bytes.byteLength === 0) return;
    await this.sendWithBackpressure(
      Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    );
  }

  private async sendWithBackpressure(chunk: Buffer): Promise<void> {
    if (!this.send(chunk)) {
      const stream = this.stream!;
      await new Promise<void>((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('error', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('error', done);
        stream.on('close', done);
      });
    }
    this.failIfBroken();
  }

  async stage(): Promise<StagedTarget> {
    this.failIfBroken();
    const stream = this.stream!;
    await new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
      stream.end(this.encoder.trailer());
      this.hash?.update(this.encoder.trailer());
    }).catch((error) => {
      throw toPostgresError(error, this.where('staging'));
    });
    if (this.raw) this.rows = stream.rowCount;
    this.stream = undefined;
    const stage = this.staging;
    const { options, context } = this.args;
    return {
      ref: { schema: stage.schema, table: stage.table, target: quoteTable(this.args.table) },
      rows: this.rows,
      bytes: this.bytes,
      reader: () => new PostgresSource({ options, target: { table: stage }, context }),
    };
  }

  async publish(): Promise<PublishResult> {
    const client = this.client!;
    const target = this.args.table;
    try {
      await client.query('BEGIN');
      const exists = await tableExists(client, target);
      if (this.options.mode === 'replace' || !exists) await this.publishReplace(client, exists);
      else if (this.options.mode === 'append') await this.publishAppend(client);
      else await this.publishMerge(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toPostgresError(error, this.where(`publishing (${this.options.mode}) into`));
    }
    await release(client);
    this.client = undefined;
    return { ref: { schema: target.schema, table: target.table, mode: this.options.mode } };
  }

  /**
   * The newest pending snapshot marker of the target, if a `take()` asked to keep the old
   * table. Keyed by target, not task: whoever publishes next over the target honours it.
   */
  private async pendingSnapshot(client: PgClient): Promise<{ id: string; snapshot_table: string } | undefined> {
    const snapshots = { schema: this.args.table.schema, table: SNAPSHOTS_TABLE };
    if (!(await tableExists(client, snapshots))) return undefined;
    const result = await client.query<{ id: string; snapshot_table: string }>(
      `SELECT id, snapshot_table FROM ${quoteTable(snapshots)}
        WHERE target = $1 AND state = 'pending' ORDER BY taken_at DESC FOR UPDATE`,
      [quoteTable(this.args.table)],
    );
    return result.rows[0];
  }

  /** Points every pending marker of the target at the snapshot table this publish made. */
  private async settleSnapshots(
    client: PgClient,
    snapshotTable: string,
    state: 'renamed' | 'copied',
    extra: { indexes?: string; appliedHash?: string | null },
  ): Promise<void> {
    await client.query(
      `UPDATE ${quoteTable({ schema: this.args.table.schema, table: SNAPSHOTS_TABLE })}
          SET state = $2, snapshot_table = $3, indexes = COALESCE($4::jsonb, indexes), applied_hash = $5
        WHERE target = $1 AND state = 'pending'`,
      [quoteTable(this.args.table), state, snapshotTable, extra.indexes ?? null, extra.appliedHash ?? null],
    );
  }

  private async publishReplace(client: PgClient, exists: boolean): Promise<void> {
    const target = this.args.table;
    const quoted = quoteTable(target);
    const stage = quoteTable(this.staging);
    const logger = this.args.context.logger;
    let constraints: Array<{ name: string; definition: string }> = [];
    let indexes: string[] = [];
    let grants: Array<{ grantee: string | null; privilege: string; grantable: boolean }> = [];
    let tableComment: string | null = null;
    let columnComments: Array<{ name: string; comment: string }> = [];
    if (exists) {
      await client.query(`LOCK TABLE ${quoted} IN ACCESS EXCLUSIVE MODE`);
      const oid = `to_regclass(${literal(quoted)})`;
      constraints = (
        await client.query<{ name: string; definition: string }>(
          `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_catalog.pg_constraint
            WHERE conrelid = ${oid} AND contype IN ('p', 'u', 'c', 'x') ORDER BY contype = 'p' DESC, conname`,
        )
      ).rows;
      indexes = (
        await client.query<{ definition: string }>(
          `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_catalog.pg_index i
            WHERE i.indrelid = ${oid}
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)`,
        )
      ).rows.map((row) => row.definition);
      grants = (
        await client.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
          `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
                  a.privilege_type AS privilege, a.is_grantable AS grantable
             FROM pg_catalog.pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = ${oid} AND a.grantee <> c.relowner`,
        )
      ).rows;
      tableComment = (
        await client.query<{ comment: string | null }>(`SELECT obj_description(${oid}, 'pg_class') AS comment`)
      ).rows[0]!.comment;
      columnComments = (
        await client.query<{ name: string; comment: string }>(
          `SELECT attname AS name, col_description(attrelid, attnum) AS comment FROM pg_catalog.pg_attribute
            WHERE attrelid = ${oid} AND attnum > 0 AND NOT attisdropped AND col_description(attrelid, attnum) IS NOT NULL`,
        )
      ).rows;
      const snapshot = await this.pendingSnapshot(client);
      if (snapshot) {
        // Index names are unique per schema: move the old table's out of the way, remember them for restore.
        const owned = (
          await client.query<{ name: string }>(
            `SELECT c.relname AS name FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = ${oid} ORDER BY c.relname`,
          )
        ).rows;
        const renamed: Array<[string, string]> = [];
        for (const [n, index] of owned.entries()) {
          const aside = `${snapshot.snapshot_table.slice(0, 50)}_i${n}`;
          await client.query(
            `ALTER INDEX ${quoteTable({ schema: target.schema, table: index.name })} RENAME TO ${quoteIdentifier(aside)}`,
          );
          renamed.push([aside, index.name]);
        }
        await client.query(`ALTER TABLE ${quoted} RENAME TO ${quoteIdentifier(snapshot.snapshot_table)}`);
        await this.settleSnapshots(client, snapshot.snapshot_table, 'renamed', { indexes: JSON.stringify(renamed) });
      } else {
        await client.query(`DROP TABLE ${quoted}`);
      }
    }
    await client.query(`ALTER TABLE ${stage} RENAME TO ${quoteIdentifier(target.table)}`);
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
    for (const constraint of constraints) {
      await attempt(
        `ALTER TABLE ${quoted} ADD CONSTRAINT ${quoteIdentifier(constraint.name)} ${constraint.definition}`,
        `constraint ${constraint.name}`,
      );
    }
    for (const index of indexes) await attempt(index, 'index');
    for (const grant of grants) {
      const to = grant.grantee === null ? 'PUBLIC' : quoteIdentifier(grant.grantee);
      await attempt(
        `GRANT ${grant.privilege} ON ${quoted} TO ${to}${grant.grantable ? ' WITH GRANT OPTION' : ''}`,
        'grant',
      );
    }
    if (tableComment !== null) await attempt(`COMMENT ON TABLE ${quoted} IS ${literal(tableComment)}`, 'comment');
    for (const column of columnComments) {
      await attempt(
        `COMMENT ON COLUMN ${quoted}.${quoteIdentifier(column.name)} IS ${literal(column.comment)}`,
        'column comment',
      );
    }
    if (this.options.mode === 'merge' && !exists && this.options.key?.length) {
      await client.query(`CREATE UNIQUE INDEX ON ${quoted} (${this.options.key.map(quoteIdentifier).join(', ')})`);
    }
    if (this.options.mode === 'append' && !exists) await this.recordApplied(client);
  }

  private appliedHash(): string {
    if (!this.hash) throw new Error('the staged content hash is only kept for append');
    return this.hash.copy().digest('hex');
  }

  /** Records this task's staged content as applied; false when it already was (a re-run). */
  private async recordApplied(client: PgClient): Promise<boolean> {
    const applied = quoteTable({ schema: this.args.table.schema, table: APPLIED_TABLE });
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${applied} (task_id text NOT NULL, target text NOT NULL, stage_hash text NOT NULL,
         rows bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (task_id, target, stage_hash))`,
    );
    const hash = this.appliedHash();
    const inserted = await client.query(
      `INSERT INTO ${applied} (task_id, target, stage_hash, rows) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [this.args.context.taskId, quoteTable(this.args.table), hash, this.rows],
    );
    return inserted.rows.length > 0;
  }

  /** Snapshot before append/merge: a copy of the table (costs a full copy; see README). */
  private async copySnapshot(client: PgClient, appliedHash: string | null): Promise<void> {
    const snapshot = await this.pendingSnapshot(client);
    if (!snapshot) return;
    const target = this.args.table;
    await client.query(
      `CREATE TABLE ${quoteTable({ schema: target.schema, table: snapshot.snapshot_table })} AS TABLE ${quoteTable(target)}`,
    );
    await this.settleSnapshots(client, snapshot.snapshot_table, 'copied', { appliedHash });
  }

  private columnList(): string {
    return this.columns.map((column) => quoteIdentifier(column.name)).join(', ');
  }

  private async publishAppend(client: PgClient): Promise<void> {
    const fresh = await this.recordApplied(client);
    if (fresh) {
      await this.copySnapshot(client, this.appliedHash());
      const list = this.columnList();
      await client.query(
        `INSERT INTO ${quoteTable(this.args.table)} (${list}) SELECT ${list} FROM ${quoteTable(this.staging)}`,
      );
    } else {
      this.args.context.logger.info(
        { table: quoteTable(this.args.table), taskId: this.args.context.taskId },
        'These rows were already appended by an earlier run of this task; nothing to do',
      );
    }
    await client.query(`DROP TABLE ${quoteTable(this.staging)}`);
  }

  private async publishMerge(client: PgClient): Promise<void> {
    await this.copySnapshot(client, null);
    const key = this.options.key ?? [];
    const list = this.columnList();
    const keys = new Set(key);
    const updates = this.columns
      .filter((column) => !keys.has(column.name))
      .map((column) => `${quoteIdentifier(column.name)} = EXCLUDED.${quoteIdentifier(column.name)}`);
    const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
    await client.query(
      `INSERT INTO ${quoteTable(this.args.table)} (${list}) SELECT ${list} FROM ${quoteTable(this.staging)}
         ON CONFLICT (${key.map(quoteIdentifier).join(', ')}) ${action}`,
    );
    await client.query(`DROP TABLE ${quoteTable(this.staging)}`);
  }

  async abort(_reason?: unknown): Promise<void> {
    const client = this.client;
    this.client = undefined;
    const midCopy = this.stream !== undefined;
    this.stream = undefined;
    if (client) await release(client, midCopy);
    // A fresh connection: the writer's may be stuck in COPY or in an aborted transaction.
    const cleaner = await connect(
      this.args.options,
      this.args.context,
      `cleaning up staging for ${quoteTable(this.args.table)}`,
    );
    try {
      await cleaner.query(`DROP TABLE IF EXISTS ${quoteTable(this.staging)}`);
    } catch (error) {
      throw toPostgresError(error, this.where('dropping the staging table of'));
    } finally {
      await release(cleaner);
    }
  }
}

/** A SQL string literal (for DDL that cannot take parameters). */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The PostgreSQL sink's writer. Every attempt writes into a staging table named after the
 * task and target (`_honk_stage_<hash>` in the target's schema, dropped first if an earlier
 * attempt left it), through binary COPY with backpressure. Publishing is one transaction,
 * serialised with other publishes of the same target (an advisory lock):
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
 * Before COMMIT the publish checks that the table under exactly the target's name is the one
 * the rows went into and took every staged row (see `verifyPublished`). A concurrent reader
 * sees the old or the new table, never an empty or partial one.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  type PublishResult,
  type SinkWriter,
  type StagedTarget,
  ValidationFailedError,
  type WriteOptions,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { from as copyFrom } from 'pg-copy-streams';
import { CopyBinaryEncoder } from './copy-binary-encoder.ts';
import { APPLIED_TABLE, ensureBookkeepingTable, findTable, INCREMENTAL_TABLE, lockTarget } from './postgres-catalog.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import { verifyPublished } from './postgres-publish-check.ts';
import { checkMark, commitMark, dropRereadRows, refuseUnmarkedRows } from './postgres-publish-incremental.ts';
import { pendingSnapshot, publishReplace, settleSnapshots } from './postgres-publish-replace.ts';
import type { PostgresSinkArgs } from './postgres-sink.ts';
import { PostgresSource, rawCopyFormat } from './postgres-source.ts';
import type { PgType } from './postgres-types.ts';
import { quoteIdentifier, quoteTable, shortHash, type TableName } from './table-name.ts';

/**
 * Staging table name for a task writing a target: deterministic, so the next attempt finds
 * and drops leftovers, and fixed-length (28 bytes, well under PostgreSQL's 63), so it is never
 * truncated into another name. The target is part of the hash: two tasks that share an id
 * (two spec files, say) but write different tables of one schema never share a staging table.
 */
export function stagingTableName(taskId: string, target: TableName): string {
  return `_honk_stage_${shortHash(`${taskId}\u0000${quoteTable(target)}`)}`;
}

/**
 * Rows already in a staging table (a chunked task's finish, see postgres-chunked-staging.ts):
 * the writer copies nothing and publishes them like its own.
 */
export interface StagedRows {
  table: TableName;
  rows: number;
  /** The idempotency key of an append (in place of the staged bytes' hash). */
  appliedKey: string;
  /** Runs in the publish transaction, before COMMIT (forgetting the chunks' bookkeeping). */
  beforeCommit(client: PgClient): Promise<void>;
}

/** Stages rows into the staging table and publishes them (see the file comment). */
export class PostgresWriter implements SinkWriter {
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
  /** The staging table's OID: after a replace, the target must be this very table. */
  private stagingOid: number | null = null;

  private readonly args: PostgresSinkArgs;
  private readonly columns: Array<{ name: string; type: PgType; ddl: string }>;
  private readonly options: WriteOptions;
  private readonly staged: StagedRows | undefined;
  constructor(
    args: PostgresSinkArgs,
    client: PgClient,
    schema: Schema,
    columns: Array<{ name: string; type: PgType; ddl: string }>,
    options: WriteOptions,
    staged?: StagedRows,
  ) {
    this.args = args;
    this.columns = columns;
    this.options = options;
    this.client = client;
    this.staged = staged;
    // An incremental append is made once by its high-water mark instead (postgres-publish-incremental.ts).
    this.hash = options.mode === 'append' && !options.incremental && !staged ? createHash('sha256') : null;
    this.staging = staged?.table ?? {
      schema: args.table.schema,
      table: stagingTableName(args.context.taskId, args.table),
    };
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
    if (this.staged) {
      this.stagingOid = await findTable(client, this.staging);
      this.rows = this.staged.rows;
      return;
    }
    const stage = quoteTable(this.staging);
    await client.query(`DROP TABLE IF EXISTS ${stage}`);
    const definition = this.columns.map((column) => `${quoteIdentifier(column.name)} ${column.ddl}`).join(', ');
    await client.query(`CREATE TABLE ${stage} (${definition})`);
    this.stagingOid = await findTable(client, this.staging);
    const declared = await client.query<{ declared: string }>(
      `SELECT format_type(atttypid, atttypmod) AS declared FROM pg_catalog.pg_attribute
        WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [this.stagingOid],
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
    if (this.staged) return this.stagedTarget();
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
    else if (stream.rowCount !== this.rows) {
      // The server's own count of what COPY stored: the staged table holds exactly what we sent.
      throw new ValidationFailedError(
        `PostgreSQL connection "${this.args.context.connectionName}": staging ${quoteTable(this.args.table)}: ` +
          `${this.rows} rows were sent but COPY stored ${stream.rowCount}. Nothing was published.`,
        { details: { table: quoteTable(this.args.table), sent: this.rows, stored: stream.rowCount } },
      );
    }
    this.stream = undefined;
    return this.stagedTarget();
  }

  private stagedTarget(): StagedTarget {
    const stage = this.staging;
    const { options, context } = this.args;
    return {
      ref: { schema: stage.schema, table: stage.table, target: quoteTable(this.args.table) },
      rows: this.rows,
      bytes: this.bytes,
      reader: () => new PostgresSource({ options, target: { table: stage }, context }),
      readers: (parts) => this.stagedParts(parts),
    };
  }

  /**
   * Readers of `parts` block ranges of the staging table (a TID range scan each, PostgreSQL
   * 14+): the finished table is read back on several connections at once. One reader of the
   * whole table on older servers or for small tables.
   */
  private async stagedParts(parts: number): Promise<PostgresSource[]> {
    const stage = this.staging;
    const { options, context } = this.args;
    const whole = () => [new PostgresSource({ options, target: { table: stage }, context })];
    const client = this.client!;
    const found = await client
      .query<{ blocks: string; version: string }>(
        `SELECT (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int8)::text AS blocks,
                current_setting('server_version_num') AS version`,
        [quoteTable(stage)],
      )
      .catch((error: unknown) => {
        throw toPostgresError(error, this.where('measuring the staged table'));
      });
    const blocks = Number(found.rows[0]?.blocks ?? 0);
    if (parts <= 1 || Number(found.rows[0]?.version ?? 0) < 140000 || blocks < parts * 64) return whole();
    const step = Math.ceil(blocks / parts);
    return Array.from({ length: parts }, (_, index) => {
      const from = index * step;
      // The last part reads to the end, whatever the size was a moment ago.
      const to = index === parts - 1 ? null : (index + 1) * step;
      return new PostgresSource({ options, target: { table: stage }, context, blocks: { from, to } });
    });
  }

  async publish(): Promise<PublishResult> {
    const client = this.client!;
    const target = this.args.table;
    const mode = this.options.mode;
    const incremental = this.options.incremental;
    const connection = this.args.context.connectionName;
    let written = this.rows;
    try {
      // Created in its own short transaction before the publish one (safe when tasks race).
      if (mode === 'append' && !incremental) await ensureBookkeepingTable(client, target.schema, APPLIED_TABLE);
      if (incremental) await ensureBookkeepingTable(client, target.schema, INCREMENTAL_TABLE);
      await client.query('BEGIN');
      await lockTarget(client, target);
      if (incremental) await checkMark(client, target, incremental, connection);
      const existing = await findTable(client, target);
      if (mode === 'replace' || existing === null) {
        await publishReplace(client, {
          target,
          exists: existing !== null,
          staging: this.staging,
          logger: this.args.context.logger,
        });
        if (mode === 'merge' && existing === null && this.options.key?.length) {
          await client.query(
            `CREATE UNIQUE INDEX ON ${quoteTable(target)} (${this.options.key.map(quoteIdentifier).join(', ')})`,
          );
        }
        if (mode === 'append' && existing === null && !incremental) await this.recordApplied(client);
        await this.verifyPublished(client, this.stagingOid, null);
      } else if (mode === 'append' && incremental) {
        await refuseUnmarkedRows(client, target, incremental, connection);
        const skipped = await dropRereadRows(
          client,
          {
            staging: this.staging,
            target,
            columns: this.columns.map((column) => ({ name: column.name, type: column.type, declared: column.ddl })),
            commit: incremental,
          },
          connection,
        );
        written = await this.insertStaged(client);
        await client.query(`DROP TABLE ${quoteTable(this.staging)}`);
        await this.verifyPublished(client, existing, written, this.rows - skipped);
      } else if (mode === 'append') {
        const inserted = await this.publishAppend(client);
        written = inserted ?? 0;
        await this.verifyPublished(client, existing, inserted);
      } else {
        await this.verifyPublished(client, existing, await this.publishMerge(client));
      }
      if (incremental) await commitMark(client, target, incremental, written);
      await this.staged?.beforeCommit(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toPostgresError(error, this.where(`publishing (${mode}) into`));
    }
    await release(client);
    this.client = undefined;
    return { ref: { schema: target.schema, table: target.table, mode }, rows: written };
  }

  /** The bug guard before COMMIT (see postgres-publish-check.ts). */
  private verifyPublished(
    client: PgClient,
    expectedOid: number | null,
    inserted: number | null,
    expected = this.rows,
  ): Promise<void> {
    return verifyPublished(client, {
      target: this.args.table,
      mode: this.options.mode,
      connection: this.args.context.connectionName,
      expectedOid,
      inserted,
      expected,
    });
  }

  private appliedHash(): string {
    if (this.staged) return this.staged.appliedKey;
    if (!this.hash) throw new Error('the staged content hash is only kept for append');
    return this.hash.copy().digest('hex');
  }

  /** Records this task's staged content as applied; false when it already was (a re-run). */
  private async recordApplied(client: PgClient): Promise<boolean> {
    const applied = quoteTable({ schema: this.args.table.schema, table: APPLIED_TABLE });
    const inserted = await client.query(
      `INSERT INTO ${applied} (task_id, target, stage_hash, rows) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [this.args.context.taskId, quoteTable(this.args.table), this.appliedHash(), this.rows],
    );
    return inserted.rows.length > 0;
  }

  /** Snapshot before append/merge: a copy of the table (costs a full copy; see README). */
  private async copySnapshot(client: PgClient, appliedHash: string | null): Promise<void> {
    const target = this.args.table;
    const snapshot = await pendingSnapshot(client, target);
    if (!snapshot) return;
    await client.query(
      `CREATE TABLE ${quoteTable({ schema: target.schema, table: snapshot.snapshot_table })} AS TABLE ${quoteTable(target)}`,
    );
    await settleSnapshots(client, target, snapshot.snapshot_table, 'copied', { appliedHash });
  }

  private columnList(): string {
    return this.columns.map((column) => quoteIdentifier(column.name)).join(', ');
  }

  /** Rows the INSERT reported, or null when this content was appended before (nothing to check). */
  private async publishAppend(client: PgClient): Promise<number | null> {
    let inserted: number | null = null;
    if (await this.recordApplied(client)) {
      await this.copySnapshot(client, this.appliedHash());
      inserted = await this.insertStaged(client);
    } else {
      this.args.context.logger.info(
        { table: quoteTable(this.args.table), taskId: this.args.context.taskId },
        'These rows were already appended by an earlier run of this task; nothing to do',
      );
    }
    await client.query(`DROP TABLE ${quoteTable(this.staging)}`);
    return inserted;
  }

  /** Inserts every staged row into the target; returns the rows the INSERT reported. */
  private async insertStaged(client: PgClient): Promise<number> {
    const list = this.columnList();
    const result = await client.query(
      `INSERT INTO ${quoteTable(this.args.table)} (${list}) SELECT ${list} FROM ${quoteTable(this.staging)}`,
    );
    return result.rowCount ?? 0;
  }

  /** Rows the upsert reported (inserted plus updated: every staged row, when all went in). */
  private async publishMerge(client: PgClient): Promise<number> {
    await this.copySnapshot(client, null);
    const key = this.options.key ?? [];
    const list = this.columnList();
    const keys = new Set(key);
    const others = this.columns.filter((column) => !keys.has(column.name));
    // With only key columns there is nothing to update; setting the key to itself still
    // reports the row, so the row count check holds for every merge.
    const updates = (others.length > 0 ? others : this.columns.filter((column) => keys.has(column.name))).map(
      (column) => `${quoteIdentifier(column.name)} = EXCLUDED.${quoteIdentifier(column.name)}`,
    );
    const result = await client.query(
      `INSERT INTO ${quoteTable(this.args.table)} (${list}) SELECT ${list} FROM ${quoteTable(this.staging)}
         ON CONFLICT (${key.map(quoteIdentifier).join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
    );
    await client.query(`DROP TABLE ${quoteTable(this.staging)}`);
    return result.rowCount ?? 0;
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

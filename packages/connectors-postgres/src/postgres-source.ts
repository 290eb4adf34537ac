/**
 * The PostgreSQL source: one REPEATABLE READ READ ONLY transaction per source, so the schema,
 * `count()` and every `read()` see the same snapshot, and rows committed by others during
 * the read are invisible. Data moves as `COPY (SELECT …) TO STDOUT (FORMAT binary)`, decoded
 * straight into Arrow batches (see copy-binary-decoder.ts).
 */
import {
  ConfigError,
  type ConnectorContext,
  type IncrementalRead,
  type IncrementalRequest,
  type Json,
  mergeConcurrently,
  NotFoundError,
  type PartitionOptions,
  type RawChunk,
  type RawDecoderSpec,
  type RawReadOptions,
  type ReadOptions,
  type Source,
  type SourcePartition,
  TransientError,
  throwIfAborted,
} from '@honk/core';
import { type RecordBatch, Schema } from 'apache-arrow';
import { CopyBinaryDecoder, CopyTupleScanner, type DecodeColumn, lastRowEnd } from './copy-binary-decoder.ts';
import { COPY_ROW_ENCODING, type CopyRawDecoderInit } from './copy-binary-raw-decoder.ts';

/** Rows per batch when a worker decodes forwarded tuples for validation. */
const RAW_DECODE_BATCH_ROWS = 65_536;

import { CopyOutStream } from './copy-out-stream.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import { planIncrement } from './postgres-incremental.ts';
import type { PartitionBy, PostgresOptions } from './postgres-options.ts';
import { arrowField, loadTypeRows, type PgType, type Queryable, resolveType } from './postgres-types.ts';
import { quoteIdentifier, quoteTable, type TableName } from './table-name.ts';

/** What a source reads: a table or a query. */
export type SourceTarget = { table: TableName } | { query: string };

/** A column as discovered in the catalog. */
export interface DiscoveredColumn extends DecodeColumn {
  declared: string;
  nullable: boolean;
  typmod: number;
}

/** Describes a table's columns from the catalog, or null when the table does not exist. */
export async function describeTable(client: Queryable, table: TableName): Promise<DiscoveredColumn[] | null> {
  const found = await client.query<{ oid: number | null }>('SELECT to_regclass($1)::oid::int4 AS oid', [
    quoteTable(table),
  ]);
  const oid = found.rows[0]?.oid;
  if (oid == null) return null;
  const result = await client.query<{ name: string; type: number; typmod: number; declared: string; notnull: boolean }>(
    `SELECT attname AS name, atttypid::int4 AS type, atttypmod AS typmod,
            format_type(atttypid, atttypmod) AS declared, attnotnull AS notnull
       FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [oid],
  );
  return resolveColumns(
    client,
    result.rows.map((row) => ({ ...row, nullable: !row.notnull })),
  );
}

async function describeQuery(client: Queryable, query: string): Promise<DiscoveredColumn[]> {
  const probe = (await client.query(`SELECT * FROM (${query}) AS honk_query LIMIT 0`)) as unknown as {
    fields: Array<{ name: string; dataTypeID: number; dataTypeModifier: number }>;
  };
  const declared = await client.query<{ declared: string }>(
    'SELECT format_type(t.oid, t.mod) AS declared FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n',
    [probe.fields.map((field) => field.dataTypeID), probe.fields.map((field) => field.dataTypeModifier)],
  );
  return resolveColumns(
    client,
    probe.fields.map((field, i) => ({
      name: field.name,
      type: field.dataTypeID,
      typmod: field.dataTypeModifier,
      declared: declared.rows[i]!.declared,
      nullable: true,
    })),
  );
}

async function resolveColumns(
  client: Queryable,
  raw: Array<{ name: string; type: number; typmod: number; declared: string; nullable: boolean }>,
): Promise<DiscoveredColumn[]> {
  const types = await loadTypeRows(
    client,
    raw.map((column) => column.type),
  );
  return raw.map((column) => ({
    name: column.name,
    declared: column.declared,
    nullable: column.nullable,
    typmod: column.typmod,
    type: resolveType(types, column.type, column.typmod, column.name, column.declared) as PgType,
  }));
}

/**
 * The raw format of binary COPY tuples with these columns: the wire format plus every
 * column's name and exact declared type (`format_type`, typmod included), so a sink that
 * announces the same string stores the same bytes as the same values. Types are compared
 * by name, not OID: OIDs of user types differ between databases.
 */
export function rawCopyFormat(columns: ReadonlyArray<{ name: string; declared: string }>): string {
  return `postgresql/binary-copy-tuples;${JSON.stringify(columns.map((column) => [column.name, column.declared]))}`;
}

/** The Arrow schema of discovered columns. */
export function schemaOf(columns: readonly DiscoveredColumn[]): Schema {
  return new Schema(columns.map((column) => arrowField(column.name, column.type, column.nullable, column.declared)));
}

interface Session {
  client: PgClient;
  columns: DiscoveredColumn[];
  schema: Schema;
  /** The exported snapshot partition readers import (partitioned reads only). */
  snapshotId?: string;
}

export interface PostgresSourceArgs {
  options: PostgresOptions;
  target: SourceTarget;
  /** Read by key range over several connections sharing one snapshot (tables only). */
  partitionBy?: PartitionBy;
  /**
   * Read only this key range of `partitionBy.column`, alone, in this source's own snapshot: a
   * chunk of a chunked task (see {@link PostgresSource.partition}). Raw reads work as for a table.
   */
  range?: KeyRange;
  /**
   * Read only heap blocks `[from, to)` of the table (`to` null: to the end): a part of a
   * table nobody writes to any more, such as a finished staging table read back in parallel.
   */
  blocks?: { from: number; to: number | null };
  /**
   * Read only the rows matching this SQL condition (an increment, see postgres-incremental.ts).
   * Built by this package from checked values, never taken from users.
   */
  filter?: string;
  context: Pick<ConnectorContext, 'connectionName'>;
}

/**
 * One key range of a partitioned read: `from`..`to` inclusive (decimal strings, int8 may
 * exceed 2^53), `null` bounds for an empty or all-NULL key; `nulls` when it also reads the
 * rows whose key is NULL.
 */
export interface KeyRange {
  from: string | null;
  to: string | null;
  nulls: boolean;
}

const INTEGER_KINDS = new Set(['int2', 'int4', 'int8']);
const DEFAULT_PARTITIONS = 4;

/** A TID range scan's condition (PostgreSQL 14+ reads just those blocks); the bounds are integers we computed. */
function blocksWhere(blocks: { from: number; to: number | null }): string {
  const bound = (block: number) => {
    if (!Number.isSafeInteger(block) || block < 0) throw new ConfigError(`Not a block number: ${block}.`);
    return `'(${block},0)'::tid`;
  };
  const lower = `ctid >= ${bound(blocks.from)}`;
  return blocks.to === null ? lower : `${lower} AND ctid < ${bound(blocks.to)}`;
}

/** Splits [min, max] into at most `count` contiguous inclusive ranges; the first also takes NULL keys. */
export function splitKeyRange(min: bigint, max: bigint, count: number): KeyRange[] {
  const span = max - min + 1n;
  const parts = BigInt(count) < span ? BigInt(count) : span;
  const step = (span + parts - 1n) / parts;
  const ranges: KeyRange[] = [];
  for (let from = min, k = 0; from <= max; from += step, k++) {
    const to = from + step - 1n < max ? from + step - 1n : max;
    ranges.push({ from: String(from), to: String(to), nulls: k === 0 });
  }
  return ranges;
}

export class PostgresSource implements Source {
  private session: Promise<Session> | undefined;
  private closed = false;
  /** False for the sources of an increment: they read in their parent's session, which the parent closes. */
  private ownsSession = true;

  private readonly args: PostgresSourceArgs;
  constructor(args: PostgresSourceArgs) {
    this.args = args;
  }

  private get what(): string {
    const target = this.args.target;
    return 'table' in target ? `table ${quoteTable(target.table)}` : 'query';
  }

  private where(operation: string) {
    return { connection: this.args.context.connectionName, operation: `${operation} ${this.what}` };
  }

  /** The snapshot session, opened on first use. */
  private open(): Promise<Session> {
    this.session ??= (async () => {
      const client = await connect(this.args.options, this.args.context, `connecting to read ${this.what}`);
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        // Exported first, so the snapshot partition readers import is this transaction's own.
        const snapshotId =
          this.args.partitionBy && !this.args.range
            ? (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id
            : undefined;
        const target = this.args.target;
        let columns: DiscoveredColumn[];
        if ('table' in target) {
          const found = await describeTable(client, target.table);
          if (!found) {
            throw new NotFoundError(
              `PostgreSQL connection "${this.args.context.connectionName}": table ${quoteTable(target.table)} does not exist. ` +
                'Check the table name and schema (write schema.table) and that the role can see it.',
              { details: { connection: this.args.context.connectionName, table: target.table } },
            );
          }
          columns = found;
        } else columns = await describeQuery(client, target.query);
        if (this.args.partitionBy) this.checkPartitionColumn(columns, this.args.partitionBy);
        return { client, columns, schema: schemaOf(columns), ...(snapshotId ? { snapshotId } : {}) };
      } catch (error) {
        await release(client);
        throw toPostgresError(error, this.where('describing'));
      }
    })();
    const opened = this.session;
    // A failed open may be retried by a later call.
    opened.catch(() => {
      if (this.session === opened) this.session = undefined;
    });
    return opened;
  }

  async schema(): Promise<Schema> {
    return (await this.open()).schema;
  }

  private checkPartitionColumn(columns: readonly DiscoveredColumn[], partitionBy: PartitionBy): void {
    const connection = this.args.context.connectionName;
    const column = columns.find((candidate) => candidate.name === partitionBy.column);
    if (!('table' in this.args.target)) {
      throw new ConfigError(
        `PostgreSQL connection "${connection}": "partitionBy" needs a "table:" source, not a query.`,
      );
    }
    if (!column) {
      throw new ConfigError(
        `PostgreSQL connection "${connection}": partitionBy.column "${partitionBy.column}" is not a column of ${this.what}. ` +
          `Columns: ${columns.map((candidate) => candidate.name).join(', ')}.`,
      );
    }
    if (!INTEGER_KINDS.has(column.type.kind)) {
      throw new ConfigError(
        `PostgreSQL connection "${connection}": partitionBy.column "${column.name}" of ${this.what} is ${column.declared}; ` +
          'key-range partitions need an integer column (smallint, integer or bigint).',
      );
    }
  }

  /** The key ranges of a partitioned read, as `partitions()` reports them. */
  private ranges: Promise<KeyRange[]> | undefined;

  private keyRanges(count?: number): Promise<KeyRange[]> {
    const partitionBy = this.args.partitionBy;
    if (!partitionBy) return Promise.resolve([{ from: null, to: null, nulls: true }]);
    if (count !== undefined) return this.computeRanges(partitionBy, count);
    this.ranges ??= this.computeRanges(partitionBy, partitionBy.partitions ?? DEFAULT_PARTITIONS);
    return this.ranges;
  }

  /** `count` key ranges over [min, max] of the key, in this source's snapshot. */
  private computeRanges(partitionBy: PartitionBy, count: number): Promise<KeyRange[]> {
    const ranges = (async () => {
      const session = await this.open();
      const column = quoteIdentifier(partitionBy.column);
      try {
        const result = await session.client.query<{ lo: string | null; hi: string | null }>(
          `SELECT min(${column})::text AS lo, max(${column})::text AS hi FROM ${this.fromClause()}`,
        );
        const { lo, hi } = result.rows[0]!;
        if (lo === null || hi === null) return [{ from: null, to: null, nulls: true }];
        return splitKeyRange(BigInt(lo), BigInt(hi), count);
      } catch (error) {
        throw toPostgresError(error, this.where('finding the key range of'));
      }
    })();
    // A failed look-up may be retried by a later call.
    ranges.catch(() => {
      if (this.ranges === ranges) this.ranges = undefined;
    });
    return ranges;
  }

  /**
   * Key ranges for a partitioned read (with `partitionBy`), each read by its own connection
   * in the snapshot this source exported; without `partitionBy`, one range: everything.
   */
  async partitions(options: PartitionOptions = {}): Promise<SourcePartition[]> {
    if (options.max !== undefined && options.max > 1 && !this.args.partitionBy) {
      throw new ConfigError(
        `PostgreSQL connection "${this.args.context.connectionName}": ${this.what} can only be read in chunks by key ranges: ` +
          'add partitionBy: { column: <an integer key> } to the source, or remove chunks: from the task.',
      );
    }
    return (await this.keyRanges(options.max)).map((range) => ({ ref: { ...range } }));
  }

  /**
   * A chunk of a chunked task: one key range `partitions()` returned, read alone over its own
   * connection in its own snapshot (the plan's snapshot died with its transaction; see
   * {@link checkUnchanged} for why the chunks still add up to one point in time).
   */
  partition(ref: Json): PostgresSource {
    const range = ref as unknown as KeyRange;
    if (typeof range !== 'object' || range === null || typeof range.nulls !== 'boolean') {
      throw new ConfigError(`Not a key range of a PostgreSQL chunked read: ${JSON.stringify(ref)}.`);
    }
    return new PostgresSource({ ...this.args, range: { from: range.from, to: range.to, nulls: range.nulls } });
  }

  /**
   * The source's snapshot (`txid_current_snapshot()`, the transaction `partitions()` ran in):
   * which transactions' rows the plan saw.
   */
  async pin(): Promise<Json> {
    const session = await this.open();
    try {
      const result = await session.client.query<{ snapshot: string }>(
        'SELECT txid_current_snapshot()::text AS snapshot',
      );
      return { snapshot: result.rows[0]!.snapshot };
    } catch (error) {
      this.drop(session, true);
      throw toPostgresError(error, this.where('pinning'));
    }
  }

  /**
   * SOURCE_CHANGED unless the table is as the plan's snapshot saw it: no row now in the table
   * was written (inserted or updated) by a transaction the snapshot did not see, and the table
   * holds exactly the rows the chunks read (so nothing was deleted after its chunk read it).
   * Then every chunk, though read in a snapshot of its own, read exactly the rows the table
   * holds now: the chunks add up to one point in time. One scan of the table, on the server.
   */
  async checkUnchanged(pin: Json, read: { rows: number }): Promise<void> {
    const snapshot = (pin as { snapshot?: unknown } | null)?.snapshot;
    if (typeof snapshot !== 'string') return; // a query source: one chunk, one snapshot
    const target = this.args.target;
    if (!('table' in target)) return;
    const [xmin, xmax, list] = snapshot.split(':');
    const client = await connect(this.args.options, this.args.context, `checking ${this.what} for changes`);
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const next = (
        await client.query<{ next: string }>('SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS next')
      ).rows[0]!.next;
      // A row's 64-bit xid is `next` minus its xmin's distance below `next` (32-bit xmins wrap):
      // rows written since the plan's oldest running transaction are at most `window` below it.
      const result = await client.query<{ total: string; changed: string }>(
        `SELECT count(*)::text AS total,
                count(*) FILTER (WHERE d BETWEEN 1 AND $2::int8 AND ($1::int8 - d >= $3::int8 OR $1::int8 - d = ANY($4::int8[])))::text AS changed
           FROM (SELECT ((($1::int8 % 4294967296) - xmin::text::int8) % 4294967296 + 4294967296) % 4294967296 AS d
                   FROM ${quoteTable(target.table)}) AS rows`,
        [next, String(BigInt(next) - BigInt(xmin!)), xmax, list ? list.split(',').filter(Boolean) : []],
      );
      await client.query('COMMIT');
      const total = Number(result.rows[0]!.total);
      const changed = Number(result.rows[0]!.changed);
      if (changed > 0 || total !== read.rows) {
        throw new TransientError(
          `PostgreSQL connection "${this.args.context.connectionName}": ${this.what} changed while it was read in chunks ` +
            `(${changed > 0 ? `${changed} row(s) written since the chunks were planned` : `${total} rows now, ${read.rows} read`}). ` +
            'Nothing was published; the chunks are planned and read again. Stop writes to the table during a chunked migration, or migrate it unchunked (one snapshot).',
          {
            code: 'SOURCE_CHANGED',
            details: { connection: this.args.context.connectionName, changed, rows: total, read: read.rows },
          },
        );
      }
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toPostgresError(error, this.where('checking for changes'));
    } finally {
      await release(client);
    }
  }

  async count(): Promise<number> {
    const session = await this.open();
    try {
      const result = await session.client.query<{ count: string }>(
        `SELECT count(*)::text AS count FROM ${this.fromClause()}${this.filterWhere()}`,
      );
      return Number(result.rows[0]!.count);
    } catch (error) {
      this.drop(session, true);
      throw toPostgresError(error, this.where('counting'));
    }
  }

  private fromClause(): string {
    const target = this.args.target;
    return 'table' in target ? quoteTable(target.table) : `(${target.query}) AS honk_query`;
  }

  /** ` WHERE <filter>`, or nothing. */
  private filterWhere(): string {
    return this.args.filter === undefined ? '' : ` WHERE ${this.args.filter}`;
  }

  private copySql(columns: readonly DiscoveredColumn[], range?: KeyRange): string {
    const target = this.args.target;
    const filter = this.args.filter;
    if ('query' in target) {
      return filter === undefined
        ? `COPY (${target.query}) TO STDOUT (FORMAT binary)`
        : `COPY (SELECT * FROM (${target.query}) AS honk_query WHERE ${filter}) TO STDOUT (FORMAT binary)`;
    }
    const list = columns.map((column) => quoteIdentifier(column.name)).join(', ');
    const conditions = [
      ...(filter === undefined ? [] : [filter]),
      ...(this.args.blocks ? [blocksWhere(this.args.blocks)] : this.rangeWhere(columns, range)),
    ];
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    return `COPY (SELECT ${list || 'NULL'} FROM ${quoteTable(target.table)}${where}) TO STDOUT (FORMAT binary)`;
  }

  /** The condition of a key range (none or one); bounds are integers we computed (checked again here), cast to the key's type. */
  private rangeWhere(columns: readonly DiscoveredColumn[], range: KeyRange | undefined): string[] {
    const partitionBy = this.args.partitionBy;
    if (!partitionBy || !range || range.from === null || range.to === null) return [];
    const integer = /^-?\d+$/;
    if (!integer.test(range.from) || !integer.test(range.to)) {
      throw new ConfigError(`Not a key range of a PostgreSQL partitioned read: ${JSON.stringify(range)}.`);
    }
    const key = quoteIdentifier(partitionBy.column);
    const type = columns.find((column) => column.name === partitionBy.column)!.type.kind;
    const bounds = `${key} BETWEEN '${range.from}'::${type} AND '${range.to}'::${type}`;
    return [range.nulls ? `(${key} IS NULL OR ${bounds})` : bounds];
  }

  /** Forgets a session; `hard` kills its socket (a COPY in flight cannot be stopped politely). */
  private drop(session: Session, hard: boolean): void {
    this.session = undefined;
    void release(session.client, hard);
  }

  async *read(options: ReadOptions): AsyncIterable<RecordBatch> {
    if (this.args.partitionBy && !this.args.range) {
      yield* this.readPartitioned(options);
      return;
    }
    throwIfAborted(options.signal);
    const session = await this.open();
    const decoder = new CopyBinaryDecoder(session.schema, session.columns, Math.max(1, options.batchRows));
    let finished = false;
    const stream = session.client.query(new CopyOutStream(this.copySql(session.columns, this.args.range)));
    try {
      for await (const chunk of stream as unknown as AsyncIterable<Buffer>) {
        for (const batch of decoder.push(chunk)) {
          yield batch;
          throwIfAborted(options.signal);
        }
      }
      const last = decoder.end();
      finished = true;
      if (last) yield last;
    } catch (error) {
      throw toPostgresError(error, this.where('reading'));
    } finally {
      if (!finished) this.drop(session, true);
    }
  }

  /**
   * All partitions read at once, batches yielded as they come. At most one decoded batch per
   * partition waits, so memory is bounded by partitions × batch size.
   */
  private async *readPartitioned(options: ReadOptions): AsyncIterable<RecordBatch> {
    throwIfAborted(options.signal);
    const ranges = await this.keyRanges();
    const clients = new Set<PgClient>();
    yield* mergeConcurrently(
      ranges.map((range) => this.readRange(range, options, clients)),
      ranges.length,
      () => {
        // A reader stuck in COPY cannot be stopped politely: cut its socket.
        for (const client of clients) void release(client, true);
      },
    );
  }

  /**
   * Reads one key range over its own connection, in the snapshot the coordinating
   * transaction exported, so every partition sees the same data as one plain read would.
   */
  async *readPartition(partition: SourcePartition, options: ReadOptions): AsyncIterable<RecordBatch> {
    yield* this.readRange(partition.ref as unknown as KeyRange, options, new Set());
  }

  /** The coordinating transaction's exported snapshot (exported on first need without partitionBy). */
  private async snapshotId(session: Session): Promise<string> {
    session.snapshotId ??= (await session.client.query<{ id: string }>('SELECT pg_export_snapshot() AS id'))
      .rows[0]!.id;
    return session.snapshotId;
  }

  private async *readRange(range: KeyRange, options: ReadOptions, clients: Set<PgClient>): AsyncIterable<RecordBatch> {
    throwIfAborted(options.signal);
    const session = await this.open();
    const client = await connect(
      this.args.options,
      this.args.context,
      `connecting to read a partition of ${this.what}`,
    );
    clients.add(client);
    let finished = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // SET takes no parameters; the id comes from pg_export_snapshot() and is checked to be one.
      const snapshotId = await this.snapshotId(session);
      if (!/^[0-9A-Fa-f-]+$/.test(snapshotId)) throw new Error(`unexpected snapshot id ${JSON.stringify(snapshotId)}`);
      await client.query(`SET TRANSACTION SNAPSHOT '${snapshotId}'`);
      const decoder = new CopyBinaryDecoder(session.schema, session.columns, Math.max(1, options.batchRows));
      const stream = client.query(new CopyOutStream(this.copySql(session.columns, range)));
      for await (const chunk of stream as unknown as AsyncIterable<Buffer>) {
        for (const batch of decoder.push(chunk)) {
          yield batch;
          throwIfAborted(options.signal);
        }
      }
      const last = decoder.end();
      await client.query('COMMIT');
      finished = true;
      if (last) yield last;
    } catch (error) {
      throw toPostgresError(error, this.where('reading a partition of'));
    } finally {
      clients.delete(client);
      await release(client, !finished);
    }
  }

  /** Worker threads decode forwarded tuples with copy-binary-raw-decoder.ts (see core's `Source.rawDecoder`). */
  async rawDecoder(): Promise<RawDecoderSpec | null> {
    if (this.args.partitionBy && !this.args.range) return null;
    const session = await this.open();
    const init: CopyRawDecoderInit = {
      columns: session.columns.map((column) => ({ name: column.name, type: column.type })),
      batchRows: RAW_DECODE_BATCH_ROWS,
    };
    const estimatedRows = await this.estimatedRows(session);
    const fields = session.columns.length;
    return {
      module: new URL(`./copy-binary-raw-decoder${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
        .href,
      init,
      boundary: (bytes) => lastRowEnd(bytes, fields),
      // Both sides of a PG → PG raw transfer are binary COPY tuples: hashed as they are.
      encoding: COPY_ROW_ENCODING,
      ...(estimatedRows === undefined ? {} : { estimatedRows }),
    };
  }

  /** The planner's row estimate of a table source (free: pg_class), undefined for queries or unanalysed tables. */
  private async estimatedRows(session: Session): Promise<number | undefined> {
    const target = this.args.target;
    if (this.args.filter !== undefined) return this.plannedRows(session);
    if (!('table' in target)) return undefined;
    try {
      const result = await session.client.query<{ rows: string | null }>(
        'SELECT reltuples::int8::text AS rows FROM pg_catalog.pg_class WHERE oid = to_regclass($1)',
        [quoteTable(target.table)],
      );
      const rows = Number(result.rows[0]?.rows ?? -1);
      return rows >= 0 ? rows : undefined;
    } catch (error) {
      this.drop(session, true);
      throw toPostgresError(error, this.where('estimating'));
    }
  }

  /** The planner's estimate of the rows a filtered read yields (EXPLAIN: no rows are read). */
  private async plannedRows(session: Session): Promise<number | undefined> {
    if (this.args.filter === 'false') return 0;
    try {
      const result = await session.client.query<{ plan: Array<{ Plan: { 'Plan Rows': number } }> }>(
        `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${this.fromClause()}${this.filterWhere()}`,
      );
      const rows = (result.rows[0] as unknown as Record<string, Array<{ Plan: { 'Plan Rows': number } }>>)[
        'QUERY PLAN'
      ]?.[0]?.Plan['Plan Rows'];
      return typeof rows === 'number' ? rows : undefined;
    } catch (error) {
      this.drop(session, true);
      throw toPostgresError(error, this.where('estimating'));
    }
  }

  /**
   * An increment (core's `Source.incremental`): the bound and the rows past the stored mark,
   * found in this source's transaction (see postgres-incremental.ts). The returned sources
   * read in this source's session; closing this source ends them.
   */
  async incremental(request: IncrementalRequest): Promise<IncrementalRead> {
    const session = await this.open();
    const column = session.columns.find((candidate) => candidate.name === request.cursor);
    if (!column) {
      throw new ConfigError(
        `PostgreSQL connection "${this.args.context.connectionName}": incremental.cursor "${request.cursor}" is not a column of ${this.what}.`,
        { details: { option: 'incremental.cursor', cursor: request.cursor } },
      );
    }
    const target = this.args.target;
    const from = 'table' in target ? `${quoteTable(target.table)} AS honk_source` : `(${target.query}) AS honk_source`;
    const where = `PostgreSQL connection "${this.args.context.connectionName}", ${this.what}`;
    let planned: Awaited<ReturnType<typeof planIncrement>>;
    try {
      planned = await planIncrement(session.client, from, column, request, where);
    } catch (error) {
      throw toPostgresError(error, this.where('finding the increment of'));
    }
    return {
      mark: planned.mark,
      reread: planned.reread,
      increment: this.narrowed(planned.increment),
      upToMark: () => this.narrowed(planned.upToMark),
      range: planned.range,
    };
  }

  /** A source of the rows matching `filter`, in this source's session (a point in time shared with it). */
  private narrowed(filter: string): PostgresSource {
    const child = new PostgresSource({ ...this.args, filter });
    child.session = this.open();
    child.ownsSession = false;
    return child;
  }

  async rawFormat(): Promise<string | null> {
    // Partitions read at once interleave rows from several streams: they go through Arrow.
    if (this.args.partitionBy && !this.args.range) return null;
    return rawCopyFormat((await this.open()).columns);
  }

  /**
   * The same COPY as `read()`, handed out as tuple bytes (header and trailer stripped, see
   * CopyTupleScanner). With `decode`, the very same chunks also go through the Arrow
   * decoder, so validation hashes exactly what was forwarded.
   */
  async *readRaw(options: RawReadOptions): AsyncIterable<RawChunk> {
    throwIfAborted(options.signal);
    const session = await this.open();
    const scanner = new CopyTupleScanner(session.columns.length);
    const decoder = options.decode
      ? new CopyBinaryDecoder(session.schema, session.columns, Math.max(1, options.batchRows))
      : undefined;
    let finished = false;
    const stream = session.client.query(new CopyOutStream(this.copySql(session.columns, this.args.range)));
    try {
      for await (const chunk of stream as unknown as AsyncIterable<Buffer>) {
        const batches = decoder ? decoder.push(chunk) : [];
        const { parts, rows } = scanner.push(chunk);
        const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        if (bytes.length > 0 || batches.length > 0) yield { bytes, rows, batches };
        throwIfAborted(options.signal);
      }
      scanner.end();
      const last = decoder?.end();
      finished = true;
      if (last) yield { bytes: Buffer.alloc(0), rows: 0, batches: [last] };
    } catch (error) {
      throw toPostgresError(error, this.where('reading'));
    } finally {
      if (!finished) this.drop(session, true);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsSession) return;
    const pending = this.session;
    this.session = undefined;
    if (!pending) return;
    const session = await pending.catch(() => undefined);
    if (!session) return;
    await session.client.query('COMMIT').catch(() => {});
    await release(session.client);
  }
}

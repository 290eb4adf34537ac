/**
 * The PostgreSQL source: one REPEATABLE READ READ ONLY transaction per source, so the schema,
 * `count()` and every `read()` see the same snapshot, and rows committed by others during
 * the read are invisible. Data moves as `COPY (SELECT …) TO STDOUT (FORMAT binary)`, decoded
 * straight into Arrow batches (see copy-binary-decoder.ts).
 */
import {
  type ConnectorContext,
  NotFoundError,
  type RawChunk,
  type RawReadOptions,
  type ReadOptions,
  type Source,
  throwIfAborted,
} from '@honk/core';
import { type RecordBatch, Schema } from 'apache-arrow';
import { to as copyTo } from 'pg-copy-streams';
import { CopyBinaryDecoder, CopyTupleScanner, type DecodeColumn } from './copy-binary-decoder.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';
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
}

export interface PostgresSourceArgs {
  options: PostgresOptions;
  target: SourceTarget;
  context: Pick<ConnectorContext, 'connectionName'>;
}

export class PostgresSource implements Source {
  private session: Promise<Session> | undefined;
  private closed = false;

  constructor(private readonly args: PostgresSourceArgs) {}

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
        return { client, columns, schema: schemaOf(columns) };
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

  async count(): Promise<number> {
    const session = await this.open();
    try {
      const result = await session.client.query<{ count: string }>(
        `SELECT count(*)::text AS count FROM ${this.fromClause()}`,
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

  private copySql(columns: readonly DiscoveredColumn[]): string {
    const target = this.args.target;
    if ('query' in target) return `COPY (${target.query}) TO STDOUT (FORMAT binary)`;
    const list = columns.map((column) => quoteIdentifier(column.name)).join(', ');
    return `COPY (SELECT ${list || 'NULL'} FROM ${quoteTable(target.table)}) TO STDOUT (FORMAT binary)`;
  }

  /** Forgets a session; `hard` kills its socket (a COPY in flight cannot be stopped politely). */
  private drop(session: Session, hard: boolean): void {
    this.session = undefined;
    void release(session.client, hard);
  }

  async *read(options: ReadOptions): AsyncIterable<RecordBatch> {
    throwIfAborted(options.signal);
    const session = await this.open();
    const decoder = new CopyBinaryDecoder(session.schema, session.columns, Math.max(1, options.batchRows));
    let finished = false;
    const stream = session.client.query(copyTo(this.copySql(session.columns)));
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
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

  async rawFormat(): Promise<string | null> {
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
    const stream = session.client.query(copyTo(this.copySql(session.columns)));
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
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
    const pending = this.session;
    this.session = undefined;
    if (!pending) return;
    const session = await pending.catch(() => undefined);
    if (!session) return;
    await session.client.query('COMMIT').catch(() => {});
    await release(session.client);
  }
}

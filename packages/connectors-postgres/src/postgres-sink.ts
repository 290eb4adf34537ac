/**
 * The PostgreSQL sink: describes the target, plans the staging columns (preflight `check()`)
 * and opens a {@link PostgresWriter} (postgres-writer.ts), which stages through binary COPY
 * and publishes in one transaction (replace, append or merge; see README).
 */
import {
  type ChunkedStaging,
  type ChunkedWriteOptions,
  type ConnectorContext,
  type IncrementalMark,
  SchemaMismatchError,
  type Sink,
  type SinkWriter,
  type TargetDescription,
  type WriteOptions,
} from '@honk/core';
import type { Schema } from 'apache-arrow';
import { planColumns } from './arrow-to-postgres.ts';
import { encodable } from './copy-binary-encoder.ts';
import { findTable } from './postgres-catalog.ts';
import { PostgresChunkedStaging } from './postgres-chunked-staging.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';
import { readMark } from './postgres-publish-incremental.ts';
import { type DiscoveredColumn, describeTable, schemaOf } from './postgres-source.ts';
import type { PgType, Queryable } from './postgres-types.ts';
import { PostgresWriter } from './postgres-writer.ts';
import { MAX_IDENTIFIER_BYTES, quoteTable, type TableName } from './table-name.ts';

/** Does a unique, non-partial index cover exactly these columns? */
async function hasUniqueIndexOn(client: Queryable, oid: number, key: readonly string[]): Promise<boolean> {
  const result = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY a.attname) AS columns
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [oid],
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

  /** The high-water mark stored for task `key` at this target (`_honk_incremental`), or null. Reads only. */
  async incrementalMark(key: string): Promise<IncrementalMark | null> {
    return this.withClient('reading the high-water mark of', (client) =>
      readMark(client, this.args.table, key, { connection: this.args.context.connectionName }),
    );
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
    const problems: string[] = [];
    for (const field of schema.fields) {
      if (names.has(field.name)) {
        throw new SchemaMismatchError(`Column "${field.name}" appears twice; PostgreSQL column names must be unique.`);
      }
      names.add(field.name);
      const bytes = Buffer.byteLength(field.name, 'utf8');
      if (bytes > MAX_IDENTIFIER_BYTES) {
        // PostgreSQL would cut it with only a NOTICE: the data would land under another name.
        problems.push(
          `column "${field.name}" is ${bytes} bytes long; PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes ` +
            '(rename it with a transform: rename: { old: new })',
        );
      }
    }
    const target = await describeTable(client, this.args.table);
    if (options.mode === 'merge') {
      const key = options.key ?? [];
      if (key.length === 0) problems.push('merge needs key columns (target.key)');
      for (const column of key) if (!names.has(column)) problems.push(`key column "${column}" is not in the data`);
      const oid = target ? await findTable(client, this.args.table) : null;
      if (oid !== null && key.length > 0 && !(await hasUniqueIndexOn(client, oid, key))) {
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

  /**
   * Chunked staging (see postgres-chunked-staging.ts): the staging columns are planned once,
   * as for `open()`; the table itself is created by the first chunk.
   */
  async openChunked(schema: Schema, options: ChunkedWriteOptions): Promise<ChunkedStaging> {
    const { columns } = await this.withClient('checking', (client) => this.plan(client, schema, options));
    return new PostgresChunkedStaging(this.args, schema, columns, options);
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

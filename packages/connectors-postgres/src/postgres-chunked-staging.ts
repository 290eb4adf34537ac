/**
 * The PostgreSQL sink's chunked staging (see `chunked-staging.ts` in @honk/core): one staging
 * table per task, target and plan (`_honk_stage_<hash>`), shared by every chunk, and the
 * bookkeeping table `_honk_chunks` in the target's schema.
 *
 * A chunk is one transaction: `COPY … FROM STDIN (FORMAT binary)` into the staging table, then
 * the chunk's row in `_honk_chunks` (its rows and result), then COMMIT. The rows and the
 * record of them become visible together or not at all: a chunk cut short (a killed agent, a
 * dropped connection) leaves nothing. The bookkeeping row's key `(staging, chunk)` makes a
 * chunk count once: when two attempts stage one chunk at the same time, the second insert
 * waits for the first transaction and then finds the row, and that attempt rolls back.
 *
 * `finish()` checks that every chunk is recorded, drops the staging of the task's other plans,
 * and publishes the staging table like an unchunked one (replace renames it into place: no
 * copy), forgetting the chunks' bookkeeping in the publish transaction. The staging table is
 * created by the first chunk (under an advisory lock) together with a registry row (chunk
 * `*`), so the task's staging tables can always be found and removed.
 */
import {
  type ChunkedStaging,
  type ChunkedWriteOptions,
  ChunksMissingError,
  type ChunkWriter,
  type CommittedChunk,
  type Json,
  type SinkWriter,
  ValidationFailedError,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { from as copyFrom } from 'pg-copy-streams';
import { CopyBinaryEncoder } from './copy-binary-encoder.ts';
import { advisoryKey, CHUNKS_TABLE, ensureBookkeepingTable, findTable } from './postgres-catalog.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresSinkArgs } from './postgres-sink.ts';
import { rawCopyFormat } from './postgres-source.ts';
import type { PgType } from './postgres-types.ts';
import { PostgresWriter } from './postgres-writer.ts';
import { quoteIdentifier, quoteTable, shortHash, type TableName } from './table-name.ts';

type Columns = Array<{ name: string; type: PgType; ddl: string }>;

/** The registry row of a staging table in `_honk_chunks`. */
const REGISTRY = '*';

/** The staging table of a task's chunks under one plan (28 bytes, like unchunked staging names). */
export function chunkStagingName(taskId: string, target: TableName, plan: string): string {
  return `_honk_stage_${shortHash(`${taskId}\u0000${quoteTable(target)}\u0000${plan}`)}`;
}

export class PostgresChunkedStaging implements ChunkedStaging {
  readonly #args: PostgresSinkArgs;
  readonly #schema: Schema;
  readonly #columns: Columns;
  readonly #options: ChunkedWriteOptions;
  readonly #staging: TableName;
  readonly #chunks: TableName;
  /** The connection of the writer `finish()` returned, until it published or aborted. */
  #finishing: PgClient | undefined;

  constructor(args: PostgresSinkArgs, schema: Schema, columns: Columns, options: ChunkedWriteOptions) {
    this.#args = args;
    this.#schema = schema;
    this.#columns = columns;
    this.#options = options;
    this.#staging = {
      schema: args.table.schema,
      table: chunkStagingName(args.context.taskId, args.table, options.plan),
    };
    this.#chunks = { schema: args.table.schema, table: CHUNKS_TABLE };
  }

  #where(operation: string) {
    return {
      connection: this.#args.context.connectionName,
      operation: `${operation} ${quoteTable(this.#args.table)}`,
    };
  }

  async #with<T>(operation: string, run: (client: PgClient) => Promise<T>): Promise<T> {
    const client = await connect(this.#args.options, this.#args.context, `connecting for ${operation}`);
    try {
      await ensureBookkeepingTable(client, this.#args.table.schema, CHUNKS_TABLE);
      return await run(client);
    } catch (error) {
      throw toPostgresError(error, this.#where(operation));
    } finally {
      await release(client);
    }
  }

  async committed(chunk: string): Promise<CommittedChunk | null> {
    return this.#with('reading the chunks staged for', (client) => this.#committed(client, chunk));
  }

  async #committed(client: PgClient, chunk: string): Promise<CommittedChunk | null> {
    const { rows } = await client.query<{ rows: string; result: Json }>(
      `SELECT rows::text AS rows, result FROM ${quoteTable(this.#chunks)} WHERE staging = $1 AND chunk = $2`,
      [this.#staging.table, chunk],
    );
    const row = rows[0];
    return row === undefined ? null : { result: row.result, rows: Number(row.rows) };
  }

  /** Creates the staging table and its registry row unless they exist (safe when chunks start at once). */
  async #ensureStaging(client: PgClient): Promise<void> {
    if ((await findTable(client, this.#staging)) !== null) return;
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1::int8)', [
        advisoryKey('chunk-staging', quoteTable(this.#staging)),
      ]);
      if ((await findTable(client, this.#staging)) === null) {
        const definition = this.#columns.map((column) => `${quoteIdentifier(column.name)} ${column.ddl}`).join(', ');
        await client.query(`CREATE TABLE ${quoteTable(this.#staging)} (${definition})`);
        await client.query(
          `INSERT INTO ${quoteTable(this.#chunks)} (staging, chunk, task_id, target, plan, rows, result)
           VALUES ($1, $2, $3, $4, $5, 0, 'null') ON CONFLICT DO NOTHING`,
          [this.#staging.table, REGISTRY, this.#args.context.taskId, quoteTable(this.#args.table), this.#options.plan],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  async openChunk(chunk: string): Promise<ChunkWriter> {
    const client = await connect(this.#args.options, this.#args.context, `connecting to stage a chunk of`);
    try {
      await ensureBookkeepingTable(client, this.#args.table.schema, CHUNKS_TABLE);
      await this.#ensureStaging(client);
      const oid = await findTable(client, this.#staging);
      const declared = await client.query<{ declared: string }>(
        `SELECT format_type(atttypid, atttypmod) AS declared FROM pg_catalog.pg_attribute
          WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        [oid],
      );
      const format = rawCopyFormat(
        this.#columns.map((column, c) => ({ name: column.name, declared: declared.rows[c]?.declared ?? '' })),
      );
      await client.query('BEGIN');
      const writer = new ChunkCopy(this, client, chunk, format);
      writer.start();
      return writer;
    } catch (error) {
      await release(client, true);
      throw toPostgresError(error, this.#where('staging a chunk of'));
    }
  }

  /** What a chunk writer needs of its staging (see {@link ChunkCopy}). */
  get parts() {
    return {
      staging: this.#staging,
      chunks: this.#chunks,
      columns: this.#columns,
      schema: this.#schema,
      args: this.#args,
      plan: this.#options.plan,
      where: (operation: string) => this.#where(operation),
      committed: (client: PgClient, chunk: string) => this.#committed(client, chunk),
    };
  }

  async finish(chunks: readonly string[]): Promise<SinkWriter> {
    const client = await connect(this.#args.options, this.#args.context, 'connecting to publish the chunks of');
    try {
      await ensureBookkeepingTable(client, this.#args.table.schema, CHUNKS_TABLE);
      const exists = (await findTable(client, this.#staging)) !== null;
      const { rows } = await client.query<{ chunk: string; rows: string }>(
        `SELECT chunk, rows::text AS rows FROM ${quoteTable(this.#chunks)} WHERE staging = $1 AND chunk <> $2`,
        [this.#staging.table, REGISTRY],
      );
      const recorded = new Map(rows.map((row) => [row.chunk, Number(row.rows)]));
      const missing = exists ? chunks.filter((chunk) => !recorded.has(chunk)) : [...chunks];
      if (missing.length > 0) {
        if (!exists) await this.#forget(client, [this.#staging.table]);
        throw new ChunksMissingError(missing, `PostgreSQL staging of ${quoteTable(this.#args.table)}`);
      }
      await this.#dropPlans(client, (staging) => staging !== this.#staging.table);
      const total = chunks.reduce((sum, chunk) => sum + (recorded.get(chunk) ?? 0), 0);
      const staging = this.#staging;
      const writer = new PostgresWriter(this.#args, client, this.#schema, this.#columns, this.#options, {
        table: staging,
        rows: total,
        // Appends apply once per plan: a re-run of the same plan's publish adds nothing.
        appliedKey: `chunks:${this.#options.plan}`,
        beforeCommit: async (publishing) => {
          await publishing.query(`DELETE FROM ${quoteTable(this.#chunks)} WHERE staging = $1`, [staging.table]);
        },
      });
      await writer.start();
      this.#finishing = client;
      return {
        write: () => Promise.reject(new Error('finished chunked staging takes no rows')),
        stage: () => writer.stage(),
        publish: async () => {
          const published = await writer.publish();
          this.#finishing = undefined;
          return published;
        },
        abort: async (reason) => {
          this.#finishing = undefined;
          await writer.abort(reason);
          await this.abort();
        },
      };
    } catch (error) {
      await release(client);
      throw ChunksMissingError.isInstance(error)
        ? error
        : toPostgresError(error, this.#where('publishing the chunks of'));
    }
  }

  async abort(): Promise<void> {
    await this.#with('removing the chunked staging of', (client) => this.#dropPlans(client, () => true));
  }

  /** Releases the finish writer's connection when it neither published nor aborted (the staging stays). */
  async close(): Promise<void> {
    const client = this.#finishing;
    this.#finishing = undefined;
    if (client) await release(client);
  }

  /** Drops the task's staging tables (every plan) that `which` accepts, and forgets their chunks. */
  async #dropPlans(client: PgClient, which: (staging: string) => boolean): Promise<void> {
    const { rows } = await client.query<{ staging: string }>(
      `SELECT DISTINCT staging FROM ${quoteTable(this.#chunks)} WHERE task_id = $1 AND target = $2`,
      [this.#args.context.taskId, quoteTable(this.#args.table)],
    );
    const dropped = rows.map((row) => row.staging).filter(which);
    for (const staging of dropped) {
      await client.query(`DROP TABLE IF EXISTS ${quoteTable({ schema: this.#args.table.schema, table: staging })}`);
    }
    await this.#forget(client, dropped);
  }

  async #forget(client: PgClient, stagings: readonly string[]): Promise<void> {
    if (stagings.length === 0) return;
    await client.query(`DELETE FROM ${quoteTable(this.#chunks)} WHERE staging = ANY($1::text[])`, [stagings]);
  }
}

/**
 * One chunk's COPY, in the transaction that also records it (see the module comment). The
 * stream handling mirrors PostgresWriter's: one encoded buffer per batch, backpressure on
 * `drain`, the server's own row count checked at the end.
 */
class ChunkCopy implements ChunkWriter {
  readonly #staging: PostgresChunkedStaging['parts'];
  readonly #encoder: CopyBinaryEncoder;
  readonly #chunk: string;
  readonly #format: string;
  #client: PgClient | undefined;
  #stream: ReturnType<typeof copyFrom> | undefined;
  #error: unknown;
  #rows = 0;
  #raw = false;

  constructor(staging: PostgresChunkedStaging, client: PgClient, chunk: string, format: string) {
    this.#staging = staging.parts;
    this.#client = client;
    this.#chunk = chunk;
    this.#format = format;
    this.#encoder = new CopyBinaryEncoder(
      this.#staging.schema.fields.map((field) => field.type),
      this.#staging.columns,
    );
  }

  start(): void {
    const list = this.#staging.columns.map((column) => quoteIdentifier(column.name)).join(', ');
    const stream = (this.#client as PgClient).query(
      copyFrom(`COPY ${quoteTable(this.#staging.staging)} (${list}) FROM STDIN (FORMAT binary)`),
    );
    stream.on('error', (error) => {
      this.#error ??= error;
    });
    this.#stream = stream;
    stream.write(this.#encoder.header());
  }

  #failIfBroken(): void {
    if (this.#error) throw toPostgresError(this.#error, this.#staging.where('staging a chunk of'));
  }

  async #send(bytes: Buffer): Promise<void> {
    this.#failIfBroken();
    const stream = this.#stream as ReturnType<typeof copyFrom>;
    if (!stream.write(bytes)) {
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
    this.#failIfBroken();
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    this.#rows += batch.numRows;
    await this.#send(this.#encoder.encode(batch));
  }

  rawFormat(): string | null {
    return this.#stream ? this.#format : null;
  }

  async writeRaw(bytes: Uint8Array): Promise<void> {
    this.#raw = true;
    if (bytes.byteLength === 0) return;
    await this.#send(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async commit(result: Json): Promise<CommittedChunk> {
    this.#failIfBroken();
    const client = this.#client as PgClient;
    const stream = this.#stream as ReturnType<typeof copyFrom>;
    const { staging, chunks, args, plan, where } = this.#staging;
    try {
      await new Promise<void>((resolve, reject) => {
        stream.once('finish', resolve);
        stream.once('error', reject);
        stream.end(this.#encoder.trailer());
      });
      this.#stream = undefined;
      const stored = stream.rowCount;
      if (!this.#raw && stored !== this.#rows) {
        throw new ValidationFailedError(
          `PostgreSQL connection "${args.context.connectionName}": staging a chunk of ${quoteTable(args.table)}: ` +
            `${this.#rows} rows were sent but COPY stored ${stored}. Nothing was published.`,
          { details: { table: quoteTable(args.table), sent: this.#rows, stored } },
        );
      }
      const inserted = await client.query(
        `INSERT INTO ${quoteTable(chunks)} (staging, chunk, task_id, target, plan, rows, result)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (staging, chunk) DO NOTHING RETURNING 1`,
        [staging.table, this.#chunk, args.context.taskId, quoteTable(args.table), plan, stored, JSON.stringify(result)],
      );
      if ((inserted.rowCount ?? 0) === 0) {
        // Another attempt staged this chunk first: ours is rolled back, theirs counts.
        await client.query('ROLLBACK');
        const winner = await this.#staging.committed(client, this.#chunk);
        if (winner === null) throw new Error(`chunk ${this.#chunk} was recorded by another attempt, then vanished`);
        return winner;
      }
      await client.query('COMMIT');
      return { result, rows: stored };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toPostgresError(error, where('staging a chunk of'));
    } finally {
      this.#client = undefined;
      await release(client);
    }
  }

  async abort(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    // Mid-COPY the connection cannot be used again: closing it rolls the chunk back.
    if (client) await release(client, this.#stream !== undefined);
    this.#stream = undefined;
  }
}

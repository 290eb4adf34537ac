/**
 * The BigQuery source: a table (read with `tabledata.list`, pages decoded into Arrow, or
 * with `readApi: storage` through a Storage Read API session, storage-read.ts) or a query
 * (a query job; its result pages read with `getQueryResults`).
 *
 * One point in time:
 * - a table is pinned on first use (its `lastModifiedTime` and row count); after the last
 *   page the table is looked up again, and a change fails the read as `SOURCE_CHANGED`
 *   (transient: the next attempt reads the new version whole). A table with rows in its
 *   streaming buffer is being written to: read it with `snapshotTime`.
 * - `snapshotTime` reads the table as of that instant (`FOR SYSTEM_TIME AS OF`, a query).
 * - a query runs once per source; every `read()` pages through the same job's results.
 * - `readApi: storage`: one read session per source, which is itself a snapshot: with
 *   `snapshotTime` its `table_modifiers.snapshot_time`; without, the session's creation,
 *   and the table's `lastModifiedTime` must be the same before and after the session is
 *   created (else `SOURCE_CHANGED`). Every `read()` reads that session's streams again;
 *   `partitions()` are its streams.
 *
 * `count()` answers from metadata: the table's `numRows`, or the query result's `totalRows`
 * (with `readApi: storage` and `snapshotTime` or `rowRestriction`, a `COUNT(*)` query).
 */
import {
  ConfigError,
  type Json,
  NotFoundError,
  type PartitionOptions,
  type ReadOptions,
  type Source,
  type SourcePartition,
  TransientError,
  throwIfAborted,
} from '@honk/core';
import { RecordBatch, type Schema } from 'apache-arrow';
import type { BigQueryApi, JobResource, RowsPage, TableResource } from './bigquery-api.ts';
import type { BigQueryEndpointOptions } from './bigquery-options.ts';
import type { BigQueryReadClientLike } from './bigquery-read-client.ts';
import { arrowSchemaOf, type BigQueryField } from './bigquery-types.ts';
import { reorder, selectFields, sessionSchemaOf } from './source-columns.ts';
import {
  chunkRefsOf,
  chunkRefusal,
  parseChunkPin,
  parseChunkRef,
  readChunk,
  type StorageChunkPin,
} from './storage-chunks.ts';
import { createReadSession, readSession, readStream, type StorageSession } from './storage-read.ts';
import { describeTable, parseTableName, quoteIdentifier, quoteTable, type TableReference } from './table-reference.ts';
import { decodeRows } from './tabledata-decoder.ts';

export interface BigQuerySourceArgs {
  api: BigQueryApi;
  endpoint: Pick<BigQueryEndpointOptions, 'table' | 'query' | 'snapshotTime' | 'columns'> &
    Partial<Pick<BigQueryEndpointOptions, 'readApi' | 'rowRestriction'>>;
  /** Rows asked for per page (BigQuery may return fewer). */
  pageRows: number;
  /**
   * `readApi: storage`: the Storage Read API client, or a factory the source calls on first
   * need and closes in `close()`.
   */
  readClient?: BigQueryReadClientLike | (() => Promise<BigQueryReadClientLike>);
  /** `readApi: storage`: the most streams per read session. Default 4. */
  readStreams?: number;
  /** `readApi: storage`: tries per Storage Read API call and per stream. Default 5. */
  retries?: number;
  /** Called once from `close()` (a client the source owns). */
  onClose?: () => Promise<void> | void;
}

/** What a read is pinned to. */
type Pinned =
  | { kind: 'table'; table: TableReference; resource: TableResource; fields: BigQueryField[] }
  | { kind: 'query'; job: JobResource['jobReference']; fields: BigQueryField[]; totalRows: number }
  | {
      kind: 'storage';
      table: TableReference;
      resource: TableResource;
      fields: BigQueryField[];
      session: StorageSession;
      /** Rows a whole read must give (the table's `numRows`), when that is known. */
      expectedRows: number | undefined;
    };

/** The source, with `readPartition` for the partitions it reports (as the PostgreSQL source has). */
export interface BigQuerySource extends Source {
  partitions(options?: PartitionOptions): Promise<SourcePartition[]>;
  partition(ref: Json): Source;
  pin(): Promise<Json>;
  checkUnchanged(pin: Json, read: { rows: number }): Promise<void>;
  /** Reads one partition of `partitions()`, at the same point in time as `read()`. */
  readPartition(partition: SourcePartition, options: ReadOptions): AsyncIterable<RecordBatch>;
}

export function createBigQuerySource(args: BigQuerySourceArgs): BigQuerySource {
  const { api, endpoint } = args;
  const connection = api.connection;
  const table = endpoint.table !== undefined ? parseTableName(endpoint.table, api.projectId) : undefined;
  let pinned: Promise<Pinned> | undefined;
  let schema: Schema | undefined;
  /** Chunked tasks: the instant `pin()` chose; `partitions()` then creates the plan's session at it. */
  let chunkPin: StorageChunkPin | undefined;

  const storage = endpoint.readApi === 'storage';
  let readClient: Promise<BigQueryReadClientLike> | undefined;
  const client = (): Promise<BigQueryReadClientLike> => {
    const given = args.readClient;
    if (!given) {
      throw new ConfigError(
        `BigQuery connection "${connection}": \`readApi: storage\` needs a Storage Read API client, and none was given.`,
      );
    }
    readClient ??= typeof given === 'function' ? given() : Promise.resolve(given);
    return readClient;
  };
  const storageContext = async () => ({
    client: await client(),
    connection,
    table: table as TableReference,
    billingProject: api.projectId,
    retries: args.retries ?? 5,
  });
  const selectList = endpoint.columns ? endpoint.columns.map(quoteIdentifier).join(', ') : '*';

  const queryText = (resource?: TableResource): string | undefined => {
    if (endpoint.query !== undefined) return endpoint.query;
    if (!table) return undefined;
    if (endpoint.snapshotTime !== undefined) {
      return `SELECT ${selectList} FROM ${quoteTable(table)} FOR SYSTEM_TIME AS OF TIMESTAMP '${new Date(endpoint.snapshotTime).toISOString()}'`;
    }
    // Views have no rows of their own for tabledata.list.
    if (resource && resource.type !== 'TABLE' && resource.type !== 'SNAPSHOT' && resource.type !== 'CLONE') {
      return `SELECT ${selectList} FROM ${quoteTable(table)}`;
    }
    return undefined;
  };

  const lookUp = async (signal?: AbortSignal): Promise<TableResource> => {
    const reference = table as TableReference;
    const resource = await api.getTable(reference, signal);
    if (!resource) {
      throw new NotFoundError(
        `BigQuery connection "${connection}": table ${describeTable(reference)} does not exist in project ${reference.projectId}. Check the endpoint's \`table:\` (dataset.table).`,
        { details: { table: describeTable(reference) } },
      );
    }
    return resource;
  };

  /**
   * `readApi: storage`: the columns read, from the table's metadata alone (no read session):
   * the schema at planning and of each chunk. A read checks its session's against it.
   */
  const storageFields = async (signal?: AbortSignal): Promise<BigQueryField[]> => {
    const resource = await lookUp(signal);
    const where = `BigQuery connection "${connection}": table ${describeTable(table as TableReference)}`;
    return selectFields(resource.schema?.fields ?? [], endpoint.columns, where).listed;
  };

  /** The schema of a pinned read: the one already told (else the source changed in between). */
  const schemaOfPinned = (at: Pinned): Schema => {
    const fresh = arrowSchemaOf(at.fields);
    if (schema && at.kind === 'storage' && !sameSchema(schema, fresh)) {
      throw changed(at.table, 'its columns changed after its schema was read');
    }
    schema ??= fresh;
    return schema;
  };

  const runQuery = async (query: string, signal?: AbortSignal): Promise<Pinned> => {
    const done = await api.runJob(
      { query: { query, useLegacySql: false } },
      { operation: 'query', ...(signal ? { signal } : {}) },
    );
    const first = await api.queryPage(done.jobReference, { maxResults: 0 }, signal);
    return {
      kind: 'query',
      job: done.jobReference,
      fields: first.schema?.fields ?? [],
      totalRows: Number(first.totalRows ?? 0),
    };
  };

  const refuseStreamingBuffer = () =>
    new TransientError(
      `BigQuery connection "${connection}": table ${describeTable(table as TableReference)} has rows in its streaming buffer, so it is being written to and cannot be read at one point in time. Set the endpoint's \`snapshotTime\` to read it as of an instant.`,
      { code: 'SOURCE_CHANGED' },
    );

  const changed = (reference: TableReference, what: string) => {
    pinned = undefined;
    schema = undefined;
    return new TransientError(
      `BigQuery connection "${connection}": table ${describeTable(reference)} changed while it was read (${what}). The attempt is retried; set \`snapshotTime\` to read a table that is always being written.`,
      { code: 'SOURCE_CHANGED', details: { table: describeTable(reference) } },
    );
  };

  /** A Storage Read API session: the read's point in time (see the file's comment). */
  const pinStorage = async (
    signal?: AbortSignal,
    chunked?: { snapshotTime: number; maxStreams: number },
  ): Promise<Extract<Pinned, { kind: 'storage' }>> => {
    const reference = table as TableReference;
    const snapshot =
      chunked?.snapshotTime ?? (endpoint.snapshotTime !== undefined ? Date.parse(endpoint.snapshotTime) : undefined);
    const before = await lookUp(signal);
    if (before.type === 'VIEW') {
      throw new ConfigError(
        `BigQuery connection "${connection}": ${describeTable(reference)} is a view, which the Storage Read API does not read. Read it with \`readApi: rest\` (Honk then runs the view as a query).`,
      );
    }
    const where = `BigQuery connection "${connection}": table ${describeTable(reference)}`;
    const { stored, listed } = selectFields(before.schema?.fields ?? [], endpoint.columns, where);
    // Fails at plan time on a type Honk cannot read, before a session is created.
    arrowSchemaOf(listed);
    if (snapshot === undefined && before.streamingBuffer) throw refuseStreamingBuffer();
    const session = await createReadSession(
      await storageContext(),
      {
        ...(endpoint.columns ? { columns: stored.map((field) => field.name) } : {}),
        ...(endpoint.rowRestriction ? { rowRestriction: endpoint.rowRestriction } : {}),
        ...(snapshot !== undefined ? { snapshotTime: snapshot } : {}),
        maxStreams: chunked?.maxStreams ?? args.readStreams ?? 4,
      },
      signal,
    );
    const sent = session.columns.map((name) => name.toLowerCase()).join(',');
    if (sent !== stored.map((field) => field.name.toLowerCase()).join(',')) {
      throw changed(
        reference,
        `the read session has columns ${session.columns.join(', ')}; the table has ${stored.map((field) => field.name).join(', ')}`,
      );
    }
    if (snapshot === undefined) {
      // The session reads the table as of its creation: the version looked up before it
      // when nothing modified the table in between.
      const after = await lookUp(signal);
      if (after.lastModifiedTime !== before.lastModifiedTime) {
        throw changed(reference, `modified at ${after.lastModifiedTime} while the read session was created`);
      }
    }
    const whole = snapshot === undefined && endpoint.rowRestriction === undefined;
    return {
      kind: 'storage',
      table: reference,
      resource: before,
      fields: listed,
      session,
      expectedRows: whole ? Number(before.numRows ?? 0) : undefined,
    };
  };

  const pinRead = (signal?: AbortSignal): Promise<Pinned> => {
    pinned ??= (async (): Promise<Pinned> => {
      if (storage) return pinStorage(signal);
      const resource = table && endpoint.snapshotTime === undefined ? await lookUp(signal) : undefined;
      const query = queryText(resource);
      if (query !== undefined) return runQuery(query, signal);
      const current = resource as TableResource;
      if (current.streamingBuffer) throw refuseStreamingBuffer();
      const { listed } = selectFields(
        current.schema?.fields ?? [],
        endpoint.columns,
        `BigQuery connection "${connection}": table ${describeTable(table as TableReference)}`,
      );
      return { kind: 'table', table: table as TableReference, resource: current, fields: listed };
    })();
    pinned.catch(() => {
      pinned = undefined;
    });
    return pinned;
  };

  const fetchPage = (at: Pinned, maxResults: number, pageToken: string | undefined, signal: AbortSignal) =>
    at.kind === 'table'
      ? api.tablePage(
          at.table,
          {
            maxResults,
            ...(pageToken ? { pageToken } : {}),
            ...(endpoint.columns ? { selectedFields: at.fields.map((field) => field.name) } : {}),
          },
          signal,
        )
      : api.queryPage(
          (at as Extract<Pinned, { kind: 'query' }>).job,
          { maxResults, ...(pageToken ? { pageToken } : {}) },
          signal,
        );

  /** Rows of a `COUNT(*)` query over the table (storage reads with a snapshot time or a row restriction). */
  const countQuery = async (
    at: number | undefined = endpoint.snapshotTime !== undefined ? Date.parse(endpoint.snapshotTime) : undefined,
  ): Promise<number> => {
    const asOf = at !== undefined ? ` FOR SYSTEM_TIME AS OF TIMESTAMP '${new Date(at).toISOString()}'` : '';
    const where = endpoint.rowRestriction ? ` WHERE ${endpoint.rowRestriction}` : '';
    const done = await api.runJob(
      {
        query: {
          query: `SELECT COUNT(*) AS n FROM ${quoteTable(table as TableReference)}${asOf}${where}`,
          useLegacySql: false,
        },
      },
      { operation: 'query (count)' },
    );
    const page = await api.queryPage(done.jobReference, { maxResults: 1 });
    return Number(page.rows?.[0]?.f[0]?.v ?? 0);
  };

  async function* readStorage(
    at: Extract<Pinned, { kind: 'storage' }>,
    arrow: Schema,
    options: ReadOptions,
  ): AsyncGenerator<RecordBatch> {
    let rows = 0;
    // Batches come in the table's column order; the schema is in the order asked for.
    const stored = sessionSchemaOf(at);
    const ordered = stored.fields.every((field, index) => field.name === arrow.fields[index]?.name);
    for await (const batch of readSession(await storageContext(), at.session, { ...options, schema: stored })) {
      rows += batch.numRows;
      yield ordered ? new RecordBatch(arrow, batch.data) : reorder(arrow, batch);
    }
    if (at.expectedRows !== undefined && rows !== at.expectedRows) {
      throw changed(at.table, `${rows} rows read, ${at.expectedRows} when the read began`);
    }
  }

  const source: BigQuerySource = {
    async schema() {
      if (schema) return schema;
      if (!pinned && endpoint.query !== undefined) {
        // Plan time: a dry run tells the result's columns without running the query.
        const { job } = await api.insertJob(
          { dryRun: true, query: { query: endpoint.query, useLegacySql: false } },
          { operation: 'query (dry run)' },
        );
        schema = arrowSchemaOf(job.statistics?.query?.schema?.fields ?? []);
        return schema;
      }
      if (!pinned && storage) {
        // From metadata: planning and each chunk need no read session for it.
        schema = arrowSchemaOf(await storageFields());
        return schema;
      }
      return schemaOfPinned(await pinRead());
    },

    async count() {
      const at = await pinRead();
      if (at.kind === 'storage') return at.expectedRows ?? countQuery();
      return at.kind === 'table' ? Number(at.resource.numRows ?? 0) : at.totalRows;
    },

    /**
     * With `readApi: storage`, the read session's streams; otherwise the whole table or query,
     * as one. After `pin()` (a chunked task's plan): the streams (at most `max`) of a new
     * session as of the pinned instant, each a chunk `partition(ref)` reads.
     */
    async partitions(options?: PartitionOptions): Promise<SourcePartition[]> {
      if (chunkPin) {
        const at = await pinStorage(undefined, {
          snapshotTime: chunkPin.snapshotTime,
          maxStreams: options?.max ?? args.readStreams ?? 4,
        });
        schemaOfPinned(at);
        return chunkRefsOf(at.session, chunkPin.snapshotTime);
      }
      const at = await pinRead();
      if (at.kind !== 'storage') return [{ ref: { whole: true } }];
      const share =
        at.session.streams.length > 0 ? Math.round(at.session.estimatedRows / at.session.streams.length) : 0;
      return at.session.streams.map((stream) => ({ ref: { stream }, estimatedRows: share }));
    },

    /** Reads one partition of `partitions()`: a stream of this source's read session. */
    async *readPartition(partition: SourcePartition, options: ReadOptions): AsyncGenerator<RecordBatch> {
      const ref = partition.ref as { stream?: unknown; whole?: unknown };
      const at = await pinRead(options.signal);
      if (at.kind !== 'storage') {
        if (ref.whole !== true)
          throw new ConfigError(`Not a partition of this BigQuery source: ${JSON.stringify(ref)}.`);
        yield* source.read(options);
        return;
      }
      if (typeof ref.stream !== 'string' || !at.session.streams.includes(ref.stream)) {
        throw new ConfigError(`Not a stream of this BigQuery source's read session: ${JSON.stringify(ref)}.`);
      }
      const arrow = schemaOfPinned(at);
      const stored = sessionSchemaOf(at);
      for await (const batch of readStream(await storageContext(), at.session, ref.stream, {
        ...options,
        schema: stored,
      })) {
        yield reorder(arrow, batch);
      }
    },

    async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
      const at = await pinRead(options.signal);
      const arrow = at.kind === 'storage' ? schemaOfPinned(at) : await source.schema();
      if (at.kind === 'storage') {
        yield* readStorage(at, arrow, options);
        return;
      }
      const maxResults = Math.max(1, Math.min(args.pageRows, options.batchRows));
      // `selectedFields` pages hold the columns in the table's order.
      const tableOrder =
        at.kind === 'table' && endpoint.columns
          ? arrowSchemaOf((at.resource.schema?.fields ?? []).filter((field) => at.fields.includes(field)))
          : arrow;
      let rows = 0;
      let next: Promise<RowsPage> | undefined = fetchPage(at, maxResults, undefined, options.signal);
      // The parsed page (an object per cell) is dropped before the batch is yielded: only
      // this function's frame holds it, so while the batch is used downstream only the
      // page being fetched is alive, not the one already decoded as well.
      const decodeNext = async (): Promise<RecordBatch | null> => {
        const page: RowsPage = await (next as Promise<RowsPage>);
        throwIfAborted(options.signal);
        // The next page is on its way while this one is decoded.
        next = page.pageToken ? fetchPage(at, maxResults, page.pageToken, options.signal) : undefined;
        const pageRows = page.rows ?? [];
        if (pageRows.length === 0) return null;
        const batch =
          at.kind === 'table' && endpoint.columns
            ? reorder(arrow, decodeRows(tableOrder, pageRows, rows + 1))
            : decodeRows(arrow, pageRows, rows + 1);
        rows += pageRows.length;
        return batch;
      };
      try {
        while (next) {
          const batch = await decodeNext();
          if (batch) yield batch;
        }
      } finally {
        // A page still in flight when the reader stops is not waited for, only silenced.
        next?.catch(() => undefined);
      }
      if (at.kind === 'table') {
        const after = await lookUp(options.signal);
        const expected = Number(at.resource.numRows ?? 0);
        if (after.lastModifiedTime !== at.resource.lastModifiedTime || rows !== expected) {
          throw changed(
            at.table,
            `${rows} rows read, ${expected} when the read began; modified at ${after.lastModifiedTime}`,
          );
        }
      }
    },

    /**
     * Chunked tasks: the instant every chunk reads (the endpoint's `snapshotTime`, else the
     * table's `lastModifiedTime`: its current version). `partitions()` then creates the session.
     */
    async pin(): Promise<Json> {
      if (!storage || !table) throw chunkRefusal(connection);
      const resource = await lookUp();
      if (endpoint.snapshotTime === undefined && resource.streamingBuffer) throw refuseStreamingBuffer();
      const lastModifiedTime = String(resource.lastModifiedTime ?? resource.creationTime ?? '');
      chunkPin = {
        table: describeTable(table),
        snapshotTime:
          endpoint.snapshotTime !== undefined ? Date.parse(endpoint.snapshotTime) : Number(lastModifiedTime),
        lastModifiedTime,
        rows:
          endpoint.snapshotTime === undefined && endpoint.rowRestriction === undefined
            ? Number(resource.numRows ?? 0)
            : null,
      };
      return chunkPin;
    },

    /** Chunked tasks: one stream of the plan's session (see storage-chunks.ts). */
    partition(ref: Json): Source {
      if (!storage || !table) throw chunkRefusal(connection);
      const chunk = parseChunkRef(ref, connection);
      return {
        schema: () => source.schema(),
        async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
          const arrow = await source.schema();
          const fields = await storageFields(options.signal);
          yield* readChunk(await storageContext(), chunk, { fields, arrow }, options);
        },
        // The client is the parent source's; it closes it.
        async close() {},
      };
    },

    /**
     * Chunked tasks: every chunk read the same session, so the same instant (the service's
     * guarantee); this proves none lost or doubled rows: `rows` must be the table's rows at
     * that instant — from the pinned metadata when the table was not modified since, else a
     * `COUNT(*) … FOR SYSTEM_TIME AS OF` query.
     */
    async checkUnchanged(pinValue: Json, read: { rows: number }): Promise<void> {
      if (!storage || !table) throw chunkRefusal(connection);
      const pinnedAt = parseChunkPin(pinValue);
      const now = await lookUp();
      const untouched = String(now.lastModifiedTime ?? now.creationTime ?? '') === pinnedAt.lastModifiedTime;
      const expected = untouched && pinnedAt.rows !== null ? pinnedAt.rows : await countQuery(pinnedAt.snapshotTime);
      if (read.rows !== expected) {
        throw changed(
          table,
          `the chunks read ${read.rows} rows; it held ${expected} as of ${new Date(pinnedAt.snapshotTime).toISOString()}`,
        );
      }
    },

    async close() {
      const owned = typeof args.readClient === 'function' ? readClient : undefined;
      readClient = undefined;
      try {
        if (owned) await (await owned.catch(() => undefined))?.close();
      } finally {
        await args.onClose?.();
      }
    },
  };
  return source;
}

/** Same columns, types and nullability. */
function sameSchema(a: Schema, b: Schema): boolean {
  const lines = (schema: Schema) =>
    schema.fields.map((field) => `${field.name}:${field.type}:${field.nullable}`).join('\n');
  return lines(a) === lines(b);
}

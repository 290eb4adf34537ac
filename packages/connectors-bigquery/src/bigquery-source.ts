/**
 * The BigQuery source: a table (read with `tabledata.list`, pages decoded into Arrow) or a
 * query (a query job; its result pages read with `getQueryResults`).
 *
 * One point in time:
 * - a table is pinned on first use (its `lastModifiedTime` and row count); after the last
 *   page the table is looked up again, and a change fails the read as `SOURCE_CHANGED`
 *   (transient: the next attempt reads the new version whole). A table with rows in its
 *   streaming buffer is being written to: read it with `snapshotTime`.
 * - `snapshotTime` reads the table as of that instant (`FOR SYSTEM_TIME AS OF`, a query).
 * - a query runs once per source; every `read()` pages through the same job's results.
 *
 * `count()` answers from metadata: the table's `numRows`, or the query result's `totalRows`.
 */
import { NotFoundError, type ReadOptions, type Source, TransientError, throwIfAborted } from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { BigQueryApi, JobResource, RowsPage, TableResource } from './bigquery-api.ts';
import type { BigQueryEndpointOptions } from './bigquery-options.ts';
import { arrowSchemaOf, type BigQueryField } from './bigquery-types.ts';
import { describeTable, parseTableName, quoteTable, type TableReference } from './table-reference.ts';
import { decodeRows } from './tabledata-decoder.ts';

export interface BigQuerySourceArgs {
  api: BigQueryApi;
  endpoint: Pick<BigQueryEndpointOptions, 'table' | 'query' | 'snapshotTime'>;
  /** Rows asked for per page (BigQuery may return fewer). */
  pageRows: number;
  /** Called once from `close()` (a client the source owns). */
  onClose?: () => Promise<void> | void;
}

/** What a read is pinned to. */
type Pinned =
  | { kind: 'table'; table: TableReference; resource: TableResource; fields: BigQueryField[] }
  | { kind: 'query'; job: JobResource['jobReference']; fields: BigQueryField[]; totalRows: number };

export function createBigQuerySource(args: BigQuerySourceArgs): Source {
  const { api, endpoint } = args;
  const connection = api.connection;
  const table = endpoint.table !== undefined ? parseTableName(endpoint.table, api.projectId) : undefined;
  let pinned: Promise<Pinned> | undefined;
  let schema: Schema | undefined;

  const queryText = (resource?: TableResource): string | undefined => {
    if (endpoint.query !== undefined) return endpoint.query;
    if (!table) return undefined;
    if (endpoint.snapshotTime !== undefined) {
      return `SELECT * FROM ${quoteTable(table)} FOR SYSTEM_TIME AS OF TIMESTAMP '${new Date(endpoint.snapshotTime).toISOString()}'`;
    }
    // Views have no rows of their own for tabledata.list.
    if (resource && resource.type !== 'TABLE' && resource.type !== 'SNAPSHOT' && resource.type !== 'CLONE') {
      return `SELECT * FROM ${quoteTable(table)}`;
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

  const pin = (signal?: AbortSignal): Promise<Pinned> => {
    pinned ??= (async (): Promise<Pinned> => {
      const resource = table && endpoint.snapshotTime === undefined ? await lookUp(signal) : undefined;
      const query = queryText(resource);
      if (query !== undefined) return runQuery(query, signal);
      const current = resource as TableResource;
      if (current.streamingBuffer) {
        throw new TransientError(
          `BigQuery connection "${connection}": table ${describeTable(table as TableReference)} has rows in its streaming buffer, so it is being written to and cannot be read at one point in time. Set the endpoint's \`snapshotTime\` to read it as of an instant.`,
          { code: 'SOURCE_CHANGED' },
        );
      }
      return { kind: 'table', table: table as TableReference, resource: current, fields: current.schema?.fields ?? [] };
    })();
    pinned.catch(() => {
      pinned = undefined;
    });
    return pinned;
  };

  const fetchPage = (at: Pinned, maxResults: number, pageToken: string | undefined, signal: AbortSignal) =>
    at.kind === 'table'
      ? api.tablePage(at.table, { maxResults, ...(pageToken ? { pageToken } : {}) }, signal)
      : api.queryPage(at.job, { maxResults, ...(pageToken ? { pageToken } : {}) }, signal);

  return {
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
      schema = arrowSchemaOf((await pin()).fields);
      return schema;
    },

    async count() {
      const at = await pin();
      return at.kind === 'table' ? Number(at.resource.numRows ?? 0) : at.totalRows;
    },

    async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
      const at = await pin(options.signal);
      const arrow = await this.schema();
      const maxResults = Math.max(1, Math.min(args.pageRows, options.batchRows));
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
        const batch = decodeRows(arrow, pageRows, rows + 1);
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
          pinned = undefined;
          schema = undefined;
          throw new TransientError(
            `BigQuery connection "${connection}": table ${describeTable(at.table)} changed while it was read (${rows} rows read, ${expected} when the read began; modified at ${after.lastModifiedTime}). The attempt is retried; set \`snapshotTime\` to read a table that is always being written.`,
            { code: 'SOURCE_CHANGED', details: { table: describeTable(at.table) } },
          );
        }
      }
    },

    async close() {
      await args.onClose?.();
    },
  };
}

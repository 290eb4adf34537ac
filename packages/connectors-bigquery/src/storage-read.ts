/**
 * Reading a table through the BigQuery Storage Read API: one read session (`ARROW`, the
 * columns asked for, a row restriction, a snapshot time), split by the service into
 * streams; each stream's `ReadRows` responses are Arrow IPC record batches, decoded by
 * apache-arrow against the session's serialized schema and converted to the REST path's
 * types (storage-arrow.ts).
 *
 * A stream that breaks with a transient status (UNAVAILABLE, INTERNAL, a reset …) is read
 * again from the row offset already received, as the API documents: no row is read twice
 * or skipped. Several streams are read at once with one batch waiting per stream, so memory
 * is bounded by the stream count, not the table.
 */
import { AbortedError, HonkError, mergeConcurrently, type ReadOptions, throwIfAborted } from '@honk/core';
import { type RecordBatch, RecordBatchReader, type Schema } from 'apache-arrow';
import { toStorageError, withBigQueryRetry } from './bigquery-errors.ts';
import type { BigQueryReadClientLike, ReadRowsStreamLike, ReadSessionLike } from './bigquery-read-client.ts';
import { conformBatch } from './storage-arrow.ts';
import { describeTable, type TableReference } from './table-reference.ts';

/**
 * Call options for the official client: Honk retries itself (with its error classes, and
 * for ReadRows from the offset received), so google-gax's own retries are off — its stream
 * retry would restart a stream at the offset first asked for, and double every backoff.
 */
const NO_CLIENT_RETRY = { retry: null, retryRequestOptions: { retries: 0, noResponseRetries: 0 } };

/** What a read session gives. */
export interface StorageSession {
  name: string;
  /** `ArrowSchema.serialized_schema`: the IPC schema message every batch is read against. */
  serializedSchema: Uint8Array;
  /** The column names of that schema, in order. */
  columns: string[];
  streams: string[];
  estimatedRows: number;
  /** When the service stops serving the session's streams (ms since the epoch), when it says. */
  expireTime?: number;
}

export interface StorageReadContext {
  client: BigQueryReadClientLike;
  connection: string;
  table: TableReference;
  /** The project the session is created in and billed to (the connection's `projectId`). Default the table's. */
  billingProject?: string;
  /** Tries per call (and per stream, counting from its last progress). */
  retries: number;
  /** First backoff between tries, ms. Default 500. */
  minTimeoutMs?: number;
}

export interface SessionRequest {
  /** Top-level columns to read. Default all. */
  columns?: readonly string[];
  rowRestriction?: string;
  /** Read the table as of this instant (ms since the epoch). Default: when the session is created. */
  snapshotTime?: number;
  maxStreams: number;
}

/** A session over `table`, billed to `billingProject`. */
export async function createReadSession(
  context: StorageReadContext,
  request: SessionRequest,
  signal?: AbortSignal,
): Promise<StorageSession> {
  const { table } = context;
  const readOptions = {
    ...(request.columns ? { selectedFields: [...request.columns] } : {}),
    ...(request.rowRestriction ? { rowRestriction: request.rowRestriction } : {}),
  };
  const snapshot = request.snapshotTime;
  const call = { connection: context.connection, operation: 'CreateReadSession', table: describeTable(table) };
  const [session] = await withBigQueryRetry(
    call,
    {
      retries: context.retries,
      ...(signal ? { signal } : {}),
      ...(context.minTimeoutMs !== undefined ? { minTimeoutMs: context.minTimeoutMs } : {}),
    },
    async () => {
      try {
        return await context.client.createReadSession(
          {
            parent: `projects/${context.billingProject ?? table.projectId}`,
            readSession: {
              table: `projects/${table.projectId}/datasets/${table.datasetId}/tables/${table.tableId}`,
              dataFormat: 'ARROW',
              ...(snapshot !== undefined
                ? {
                    tableModifiers: {
                      snapshotTime: { seconds: Math.floor(snapshot / 1000), nanos: (snapshot % 1000) * 1_000_000 },
                    },
                  }
                : {}),
              ...(Object.keys(readOptions).length > 0 ? { readOptions } : {}),
            },
            maxStreamCount: request.maxStreams,
          },
          { retry: null },
        );
      } catch (error) {
        throw toStorageError(error, call);
      }
    },
  );
  return sessionOf(session, call);
}

function sessionOf(
  session: ReadSessionLike,
  call: { connection: string; operation: string; table: string },
): StorageSession {
  const serializedSchema = session.arrowSchema?.serializedSchema;
  if (!session.name || !serializedSchema || serializedSchema.length === 0) {
    throw toStorageError({ code: 13, details: 'the read session has no name or no Arrow schema', metadata: {} }, call);
  }
  const reader = RecordBatchReader.from([serializedSchema] as Iterable<Uint8Array> as never) as RecordBatchReader;
  reader.open();
  const columns = (reader.schema as Schema).fields.map((field) => field.name);
  return {
    name: session.name,
    serializedSchema,
    columns,
    streams: (session.streams ?? []).map((stream) => stream.name as string),
    estimatedRows: Number(String(session.estimatedRowCount ?? 0)),
    ...(session.expireTime?.seconds != null
      ? {
          expireTime:
            Number(String(session.expireTime.seconds)) * 1000 + Math.floor((session.expireTime.nanos ?? 0) / 1e6),
        }
      : {}),
  };
}

/** The record batches (one, from the service) of a `ReadRows` response's `serialized_record_batch`. */
export function decodeStorageBatches(serializedSchema: Uint8Array, bytes: Uint8Array): RecordBatch[] {
  const reader = RecordBatchReader.from([
    serializedSchema,
    bytes,
  ] as Iterable<Uint8Array> as never) as RecordBatchReader;
  return [...(reader as unknown as Iterable<RecordBatch>)];
}

export interface StreamReadOptions extends ReadOptions {
  /** The REST path's schema of the session's columns: batches are converted to it. */
  schema: Schema;
  /** Calls in flight, so a merged read can cancel them all when it stops. */
  active?: Set<ReadRowsStreamLike>;
}

/**
 * Reads one stream to its end, yielding batches of at most `batchRows` rows. A transient
 * failure resumes `ReadRows` at the offset of the rows already yielded; `retries` failures
 * without progress in between fail the read.
 */
export async function* readStream(
  context: StorageReadContext,
  session: StorageSession,
  stream: string,
  options: StreamReadOptions,
): AsyncGenerator<RecordBatch> {
  const call = { connection: context.connection, operation: 'ReadRows', table: describeTable(context.table) };
  const active = options.active ?? new Set<ReadRowsStreamLike>();
  let offset = 0;
  let failures = 0;
  for (;;) {
    throwIfAborted(options.signal);
    const rows = context.client.readRows({ readStream: stream, offset }, NO_CLIENT_RETRY);
    active.add(rows);
    const cancel = () => rows.cancel();
    options.signal.addEventListener('abort', cancel, { once: true });
    let finished = false;
    try {
      for await (const response of rows) {
        const bytes = response.arrowRecordBatch?.serializedRecordBatch;
        if (!bytes || bytes.length === 0) continue;
        const decoded = decodeStorageBatches(session.serializedSchema, bytes);
        const expected = Number(String(response.rowCount ?? 0));
        const received = decoded.reduce((sum, batch) => sum + batch.numRows, 0);
        if (expected > 0 && received !== expected) {
          throw new HonkError(
            'DATA_CORRUPT',
            `BigQuery connection "${context.connection}": a ReadRows response of stream ${stream} says ${expected} rows but its record batch holds ${received}; Honk refuses to guess which is right.`,
            { details: { table: describeTable(context.table), stream } },
          );
        }
        for (const one of decoded) {
          const batch = conformBatch(options.schema, one, stream, offset + 1);
          // Counted before the batch is yielded: a stream only breaks between responses.
          offset += batch.numRows;
          failures = 0;
          for (let at = 0; at < batch.numRows; at += options.batchRows) {
            yield at === 0 && batch.numRows <= options.batchRows ? batch : batch.slice(at, at + options.batchRows);
          }
        }
      }
      finished = true;
      return;
    } catch (error) {
      if (options.signal.aborted) throw new AbortedError(undefined, { cause: options.signal.reason ?? error });
      const mapped = toStorageError(error, call);
      failures++;
      if (!mapped.retryable || mapped.retryAfterMs !== undefined || failures >= context.retries) throw mapped;
      const delay = Math.min(30_000, (context.minTimeoutMs ?? 500) * 2 ** (failures - 1));
      await new Promise((resolve) => setTimeout(resolve, delay));
    } finally {
      options.signal.removeEventListener('abort', cancel);
      active.delete(rows);
      if (!finished) {
        // A cancelled call may still report CANCELLED after its reader has gone.
        (rows as { on?: (event: string, listener: () => void) => void }).on?.('error', () => undefined);
        rows.cancel();
      }
    }
  }
}

/** Every stream of a session, read at once; at most one batch per stream waits. */
export async function* readSession(
  context: StorageReadContext,
  session: StorageSession,
  options: StreamReadOptions,
): AsyncGenerator<RecordBatch> {
  if (session.streams.length === 1) {
    yield* readStream(context, session, session.streams[0] as string, options);
    return;
  }
  const active = new Set<ReadRowsStreamLike>();
  yield* mergeConcurrently(
    session.streams.map((stream) => readStream(context, session, stream, { ...options, active })),
    session.streams.length,
    () => {
      for (const rows of active) rows.cancel();
    },
  );
}

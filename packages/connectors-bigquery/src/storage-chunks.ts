/**
 * Chunked tasks over the Storage Read API (see README "Chunked tasks"): a chunk is one
 * stream of one read session created when the task plans, with `table_modifiers.snapshot_time`
 * set to the instant `pin()` chose. Every chunk — whichever agent reads it, however much later —
 * therefore reads the table as of that one instant; the service guarantees it (time travel).
 *
 * What this file holds: the pin and the chunk ref (JSON kept in the task store), and the read
 * of one chunk. A chunk carries everything needed to read its stream in another process:
 * the session and stream names, the session's Arrow schema (every batch is decoded against
 * it) and when the session expires. A session lives about 6 hours; a chunk read after that
 * (a retry, a requeue) cannot read the planned instant any more and fails as `SOURCE_CHANGED`
 * (transient), so the task plans again with a new session — it never silently reads another
 * point in time.
 *
 * The REST path (`tabledata.list` pages, a query's result pages) cannot be split this way:
 * a page token belongs to one listing, and rows have no stable order to seek to by offset
 * later, so chunks of it could overlap or miss rows. A chunked task with `readApi: rest`
 * is refused (`CAPABILITY_MISSING`).
 */
import { HonkError, type Json, type ReadOptions, TransientError } from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { BigQueryField } from './bigquery-types.ts';
import { reorder, sessionSchemaOf } from './source-columns.ts';
import { readStream, type StorageReadContext, type StorageSession } from './storage-read.ts';
import { describeTable } from './table-reference.ts';

/** What a chunk plan pins (`Source.pin`). */
export interface StorageChunkPin {
  [key: string]: Json;
  table: string;
  /** The instant every chunk reads (ms since the epoch): the endpoint's `snapshotTime`, else the table's `lastModifiedTime` at planning. */
  snapshotTime: number;
  /** The table's `lastModifiedTime` at planning. */
  lastModifiedTime: string;
  /** The rows the table held at `snapshotTime` when metadata tells it (no `snapshotTime`, no `rowRestriction`). */
  rows: number | null;
}

/** What one chunk carries (`SourcePartition.ref`). */
export interface StorageChunkRef {
  [key: string]: Json;
  session: string;
  /** The stream; null for the one chunk of an empty read (a session without streams). */
  stream: string | null;
  /** The session's columns, in the order it sends them. */
  columns: string[];
  /** The session's serialized Arrow schema, base64. */
  arrowSchema: string;
  snapshotTime: number;
  /** When the session expires (ms since the epoch), null when the service did not say. */
  expires: number | null;
}

/** The refusal of a chunked read the source cannot split (REST tables, queries). */
export function chunkRefusal(connection: string): HonkError {
  return new HonkError(
    'CAPABILITY_MISSING',
    `BigQuery connection "${connection}": only \`readApi: storage\` table sources can be read in chunks (each chunk a stream of one Storage Read API session pinned to one instant). \`readApi: rest\` pages (tabledata.list, query results) cannot be re-read by row later: a page token belongs to one listing and rows have no stable order to seek by. Set \`readApi: storage\` on the source, or remove \`chunks\` from the task.`,
  );
}

/** The chunk refs of a session created for a plan. */
export function chunkRefsOf(session: StorageSession, snapshotTime: number): { ref: Json; estimatedRows: number }[] {
  const common = {
    session: session.name,
    columns: session.columns,
    arrowSchema: Buffer.from(session.serializedSchema).toString('base64'),
    snapshotTime,
    expires: session.expireTime ?? null,
  };
  if (session.streams.length === 0) return [{ ref: { ...common, stream: null }, estimatedRows: 0 }];
  const share = Math.round(session.estimatedRows / session.streams.length);
  return session.streams.map((stream) => ({
    ref: { ...common, stream } satisfies StorageChunkRef,
    estimatedRows: share,
  }));
}

export function parseChunkPin(value: Json): StorageChunkPin {
  const pin = value as Partial<StorageChunkPin> | null;
  if (
    typeof pin !== 'object' ||
    pin === null ||
    typeof pin.snapshotTime !== 'number' ||
    typeof pin.lastModifiedTime !== 'string' ||
    !(typeof pin.rows === 'number' || pin.rows === null)
  ) {
    throw new HonkError('INTERNAL', `Not a BigQuery chunk pin: ${JSON.stringify(value)?.slice(0, 200)}.`);
  }
  return pin as StorageChunkPin;
}

export function parseChunkRef(value: Json, connection: string): StorageChunkRef {
  const ref = value as Partial<StorageChunkRef> | null;
  if (
    typeof ref !== 'object' ||
    ref === null ||
    typeof ref.session !== 'string' ||
    !(typeof ref.stream === 'string' || ref.stream === null) ||
    !Array.isArray(ref.columns) ||
    typeof ref.arrowSchema !== 'string' ||
    typeof ref.snapshotTime !== 'number'
  ) {
    throw new HonkError(
      'INTERNAL',
      `BigQuery connection "${connection}": not a chunk of a Storage Read API session: ${JSON.stringify(value)?.slice(0, 200)}.`,
    );
  }
  return ref as StorageChunkRef;
}

/** The read session of a chunk can no longer be read: the planned instant is gone. */
function sessionGone(context: StorageReadContext, ref: StorageChunkRef, why: string, cause?: unknown): TransientError {
  return new TransientError(
    `BigQuery connection "${context.connection}": the read session the chunks of ${describeTable(context.table)} were planned on (as of ${new Date(ref.snapshotTime).toISOString()}) ${why}; a chunk must not read another point in time, so the task plans again.`,
    { code: 'SOURCE_CHANGED', cause, details: { table: describeTable(context.table), session: ref.session } },
  );
}

/**
 * Reads one chunk: its stream, decoded against the session's schema, converted to `fields`
 * (the endpoint's columns, the REST path's types) and put in `arrow`'s column order.
 */
export async function* readChunk(
  context: StorageReadContext,
  ref: StorageChunkRef,
  at: { fields: BigQueryField[]; arrow: Schema },
  options: ReadOptions,
): AsyncGenerator<RecordBatch> {
  if (ref.stream === null) return;
  if (ref.expires !== null && Date.now() >= ref.expires) {
    throw sessionGone(context, ref, `expired at ${new Date(ref.expires).toISOString()}`);
  }
  const session: StorageSession = {
    name: ref.session,
    serializedSchema: Buffer.from(ref.arrowSchema, 'base64'),
    columns: ref.columns,
    streams: [ref.stream],
    estimatedRows: 0,
  };
  const stored = sessionSchemaOf({ fields: at.fields, session });
  try {
    for await (const batch of readStream(context, session, ref.stream, { ...options, schema: stored })) {
      yield reorder(at.arrow, batch);
    }
  } catch (error) {
    // An expired (or otherwise ended) session answers FAILED_PRECONDITION "session expired
    // at …", or NOT_FOUND once it is gone.
    const status = (error as HonkError).details?.grpcStatus;
    if (status === 'FAILED_PRECONDITION' || status === 'NOT_FOUND') {
      throw sessionGone(context, ref, `can no longer be read (${status})`, error);
    }
    throw error;
  }
}

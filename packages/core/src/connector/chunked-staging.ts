/**
 * Chunked staging, part of the connector contract v1 (additive, optional; see
 * `docs/chunks.md`). A chunked task's data is staged as *chunks* that separate attempts
 * write — one after another, or at the same time on different agents — each committed
 * durably on its own, so a restart or a dead agent costs one chunk, never the whole task:
 *
 *   chunk attempt   `sink.openChunked(schema, { plan, … })` → `committed(chunk)`: when the
 *                   chunk is already staged (an earlier attempt committed it but died before
 *                   the task store heard of it), its stored result is used and nothing is
 *                   written again; else `openChunk(chunk)` → `write`/`writeRaw` →
 *                   `commit(result)`, which makes the rows and `result` (core's source-side
 *                   validation summaries) durable *together*: a chunk is either wholly staged
 *                   with its result, or not at all.
 *   finish          once every chunk is committed, `finish(chunks)` returns an ordinary
 *                   {@link SinkWriter} over all of them: `stage()` reads them back as one
 *                   staged target (validated against the sum of the chunks' results), then
 *                   `publish()` once, atomically, exactly like an unchunked task; `abort()`
 *                   removes everything.
 *
 * Rules a sink keeps:
 * - Staging names derive from the task id, the target and the `plan`: chunks of another plan
 *   of the same task (the source changed, the task was redefined) are never used; `finish()`
 *   and `abort()` remove them.
 * - At most once per chunk: two attempts may write the same chunk at once (one of them
 *   stale, its lease lost). The first `commit` wins; the other's data is discarded and its
 *   `commit` returns the winner's committed chunk. The staged data never holds a chunk twice.
 * - `openChunk` removes what an unfinished earlier attempt of that chunk left; a chunk's
 *   uncommitted data is never visible to `committed()` or `finish()`.
 */
import type { RecordBatch } from 'apache-arrow';
import { HonkError } from '../errors/honk-error.ts';
import type { Json, SinkWriter, WriteOptions } from './connector.ts';

/** Options of {@link Sink.openChunked}. */
export interface ChunkedWriteOptions extends WriteOptions {
  /**
   * The chunk plan this staging belongs to: an opaque id of lowercase letters, digits and
   * `-` (safe in table and file names). Chunks committed under another plan are never used.
   */
  plan: string;
}

/** A chunk as committed. */
export interface CommittedChunk {
  /** The `result` given to {@link ChunkWriter.commit}, exactly. */
  result: Json;
  /** Rows staged for the chunk, as counted by the sink. */
  rows: number;
  /** Bytes staged, where the sink knows. */
  bytes?: number;
}

/** The chunked staging of one task and plan (see the module comment). */
export interface ChunkedStaging {
  /** The chunk when it is committed under this plan; null when it is not (or only partly written). */
  committed(chunk: string): Promise<CommittedChunk | null>;
  /** A writer for one chunk. Removes what an unfinished earlier attempt of this chunk left. */
  openChunk(chunk: string): Promise<ChunkWriter>;
  /**
   * Every chunk of the plan is committed: a writer over all of them (`stage()` → the staged
   * target of every chunk together, `publish()`, `abort()` removing every chunk). Removes
   * staging of other plans of the task. Throws {@link ChunksMissingError} naming the chunks
   * that are not committed (their staged data went missing): core runs those again.
   */
  finish(chunks: readonly string[]): Promise<SinkWriter>;
  /** Removes the task's chunked staging: every chunk of every plan. */
  abort(): Promise<void>;
  /** Releases connections; staged chunks stay. Called once, always. */
  close?(): Promise<void>;
}

/** Writes one chunk: batches or raw bytes (one or the other), then `commit` or `abort`. */
export interface ChunkWriter {
  write(batch: RecordBatch): Promise<void>;
  /** Raw byte fast path, as {@link SinkWriter.rawFormat}. */
  rawFormat?(): string | null;
  /** Raw byte fast path, as {@link SinkWriter.writeRaw}. */
  writeRaw?(bytes: Uint8Array): Promise<void>;
  /**
   * Makes the chunk's rows and `result` durable together (atomically). When another attempt
   * committed this chunk first, this attempt's rows are discarded and the winner's committed
   * chunk is returned: compare `result` to know which one counts.
   */
  commit(result: Json): Promise<CommittedChunk>;
  /** Discards this attempt's uncommitted rows. Safe to call more than once and after commit (then a no-op). */
  abort(reason?: unknown): Promise<void>;
}

/**
 * `finish()` found chunks that are not committed: their staged data went missing (removed
 * by hand, by a stale attempt of a replaced plan, or never written although the task store
 * recorded them). Retryable: core runs exactly those chunks again, then finishes.
 */
export class ChunksMissingError extends HonkError {
  static override readonly kind: string = 'ChunksMissingError';
  /** The chunks that are not committed. */
  readonly chunks: readonly string[];

  constructor(chunks: readonly string[], where: string) {
    super(
      'CHUNKS_MISSING',
      `${where}: ${chunks.length} chunk(s) recorded as staged are not in the staging (${chunks.slice(0, 10).join(', ')}${chunks.length > 10 ? ', …' : ''}); they run again before anything is published.`,
      { retryable: true, details: { chunks: [...chunks] } },
    );
    this.name = 'ChunksMissingError';
    this.chunks = [...chunks];
  }
}

/** The name core gives chunk `index` (zero-padded, so names sort in chunk order). */
export function chunkName(index: number): string {
  return String(index).padStart(5, '0');
}

/**
 * The format seam: one implementation of each file format, shared by every connector that
 * stores files (the local file connector, S3, …). A connector supplies bytes — a
 * {@link ByteInput} to read, a {@link ByteSink} to write — and handles listing, pinning,
 * staging and publishing; a {@link FormatCodec} only turns the bytes of one file into
 * Arrow batches and batches into the bytes of one file.
 *
 * Memory: every codec reads and writes in bounded pieces (a batch, a row group, a chunk of
 * the stream), never a whole file, so a connector's memory follows the batch size.
 */
import type { DataType, RecordBatch, Schema } from 'apache-arrow';
import type { CsvOptions, ParquetOptions } from './format-options.ts';
import type { TextCompression } from './text-compression.ts';

/** The formats core implements. */
export const formatNames = ['parquet', 'csv', 'ndjson', 'arrow'] as const;
export type FormatName = (typeof formatNames)[number];

/**
 * The bytes of one file or object, pinned when the read began: both accessors serve the
 * same `size` bytes, and a connector makes them fail (or its after-read check report
 * `SOURCE_CHANGED`) when the underlying file changes.
 */
export interface ByteInput {
  /** For messages: a path or `s3://bucket/key`. Never holds secrets. */
  readonly name: string;
  /** The pinned size in bytes. */
  readonly size: number;
  /**
   * Random access for formats with a footer or index (Parquet): a Blob whose `slice()`
   * reads only the bytes asked for — `fs.openAsBlob` for local files, ranged GETs for
   * objects ({@link RandomAccessBlob}). Called once per read.
   */
  blob(): Blob | Promise<Blob>;
  /**
   * One sequential pass for streaming formats (CSV, NDJSON, Arrow IPC stream). The codec
   * may stop early (`return()` on the iterator), which must release what the stream holds.
   * Chunks are not modified by the codec.
   */
  stream(): AsyncIterable<Uint8Array>;
}

/**
 * Where a writer puts its bytes: a file handle, a multipart upload. `write` resolves when
 * the chunk is accepted — that is the writer's backpressure. The sink owns each chunk from
 * then on (it may keep it buffered): the codec never reuses or modifies a written chunk.
 */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Options shared by readers and writers: the endpoint's format settings. */
export interface FormatOptions {
  /** CSV settings (reading and writing). */
  csv?: CsvOptions;
  /**
   * Writers: the name of the file or object being written. Its extension picks the variant
   * of a format that has several: Arrow IPC writes the file format for `.arrow` / `.feather`
   * and the stream format otherwise (`.arrows`, `.ipc`, no name).
   */
  name?: string;
  /** Parquet settings (writers; readers: `verifyChecksums`, `int96`). */
  parquet?: ParquetOptions;
  /**
   * Text formats: columns whose type is given, not inferred (a parsed `schema:` option,
   * see {@link parseColumnTypes}, or the schema a sink wrote for staged read-back).
   */
  types?: ReadonlyMap<string, DataType>;
  /**
   * Text formats, writers: compress the file (gzip or zstd). Readers need no option: they
   * find compression by magic bytes and check it against the input's name.
   */
  compression?: TextCompression;
  /**
   * Text formats, writers: rows the target received before this file (earlier part files),
   * so a refused value is named by its row in all the data written (1-based). Default 0.
   */
  precedingRows?: number;
}

/** Options of one read. */
export interface FormatReadOptions extends FormatOptions {
  /** At most this many rows per batch. */
  batchRows: number;
  signal?: AbortSignal;
  /**
   * The dataset's schema (from {@link FormatCodec.readSchema} of its first file): every batch
   * carries exactly this Schema object, and text formats parse into its types. Default: the
   * schema of this input.
   */
  schema?: Schema;
}

/** What a finished file holds. */
export interface WrittenFile {
  /** Bytes handed to the sink. */
  bytes: number;
  rows: number;
}

/** Encodes batches into one file. Not reusable: `finish()` or `abort()` ends it. */
export interface FormatWriter {
  /**
   * Encodes one batch; resolves when the writer can take the next one (backpressure). An
   * encoder on another thread may still be working on it: a failure of this batch then
   * rejects a later `write()` or `finish()`, never silently.
   */
  write(batch: RecordBatch): Promise<void>;
  /** Bytes handed to the sink so far (what an encoder still buffers is not counted). */
  readonly bytes: number;
  /** Rows written so far. */
  readonly rows: number;
  /**
   * Writes what remains (last row group and footer, end-of-stream marker). A writer that
   * saw no rows still writes a valid file that carries the schema. The sink is not closed:
   * that is the connector's part (fsync, completing an upload).
   */
  finish(): Promise<WrittenFile>;
  /** Stops without finishing and frees what the encoder holds; the connector discards the bytes. */
  abort(): Promise<void>;
}

/** One file format. Stateless: one codec serves any number of concurrent reads and writes. */
export interface FormatCodec {
  readonly name: FormatName;
  /** File name extensions, lower case with the dot; the first is the one writers use. */
  readonly extensions: readonly string[];
  /** MIME type for uploaded objects. */
  readonly contentType: string;
  /** The schema of one file (text formats: `types` plus inference from a sample of rows). */
  readSchema(input: ByteInput, options?: FormatOptions): Promise<Schema>;
  /** The batches of one file. Releases what it opened when the iteration ends or breaks. */
  read(input: ByteInput, options: FormatReadOptions): AsyncIterable<RecordBatch>;
  /**
   * Preflight: throws a SchemaMismatchError naming the first column the format cannot hold,
   * before any data moves (sinks call it from `check()`). Absent: every schema is writable.
   */
  checkWritable?(schema: Schema): void;
  /** A writer of one file into `sink`. Throws a SchemaMismatchError when the format cannot hold `schema`. */
  createWriter(sink: ByteSink, schema: Schema, options?: FormatOptions): FormatWriter;
  /** Rows without reading the data (formats that store the count: Parquet). */
  count?(input: ByteInput): Promise<number>;
}

/** Ends an iterator early so its stream is released; errors of an already failed stream are ignored. */
export async function closeIterator(iterator: AsyncIterator<unknown> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } catch {
    // Releasing after a failure: the first error is what matters.
  }
}

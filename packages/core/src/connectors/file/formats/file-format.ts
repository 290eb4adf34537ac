/**
 * What each file format implements. The source and sink handle listing, pinning, staging
 * and publishing; a format only turns one file into batches and batches into one file.
 */
import type { FileHandle } from 'node:fs/promises';
import type { RecordBatch, Schema } from 'apache-arrow';

/** Options for reading one file. */
export interface FormatReadOptions {
  signal: AbortSignal;
  batchRows: number;
  /** The pinned size: readers never read past it, so bytes appended mid-read are not mixed in. */
  size: number;
}

/** Reads files of one format with one endpoint's options. */
export interface FormatReader {
  /** The schema of one file (text formats: explicit types plus inference from a sample). */
  schema(file: string): Promise<Schema>;
  /** The batches of one file, conforming to `schema`. Closes what it opens in `finally`. */
  read(file: string, schema: Schema, options: FormatReadOptions): AsyncGenerator<RecordBatch>;
  /** Rows without reading data (Parquet metadata). */
  count?(file: string): Promise<number>;
}

/** Writes one file. */
export interface FormatWriter {
  write(batch: RecordBatch): Promise<void>;
  /** Bytes written to the file so far (buffered bytes not yet flushed may be missing). */
  readonly bytes: number;
  /** Flushes, fsyncs and closes; returns the final size. */
  finish(): Promise<number>;
  /** Closes without finishing (the caller removes the file). */
  destroy(): Promise<void>;
}

/** A small helper shared by writers: writes every byte of `chunk` at the end of `handle`. */
export async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

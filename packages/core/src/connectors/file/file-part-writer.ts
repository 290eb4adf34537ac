/**
 * Writes batches as part files in one format, starting a new part once the current one
 * holds `partBytes`; each part is synced when finished. Shared by the file sink's writer (an
 * attempt's staging) and its chunked staging (one chunk's parts).
 */
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { throwIfAborted } from '../../errors/honk-error.ts';
import { codecFor } from '../../formats/codec-for.ts';
import type { FormatWriter } from '../../formats/format-codec.ts';
import type { TextCompression } from '../../formats/text-compression.ts';
import { createFileForWrite, fileByteSink } from './file-bytes.ts';
import type { FileEndpoint, FileFormatName } from './file-options.ts';

export interface PartFileWriterOptions {
  /** Where parts are written. */
  directory: string;
  /** The file name of part `index` (0-based). */
  name: (index: number) => string;
  format: FileFormatName;
  schema: Schema;
  endpoint: FileEndpoint;
  signal: AbortSignal;
  compression: TextCompression | undefined;
  /** Start a new part once one holds this many bytes (Infinity: one part). */
  partBytes: number;
}

export class PartFileWriter {
  readonly #options: PartFileWriterOptions;
  #current: { writer: FormatWriter; handle: FileHandle } | undefined;
  #parts: string[] = [];
  #rows = 0;
  #bytes = 0;

  constructor(options: PartFileWriterOptions) {
    this.#options = options;
  }

  /** The part files so far (absolute paths), in order. */
  get parts(): readonly string[] {
    return this.#parts;
  }

  get rows(): number {
    return this.#rows;
  }

  /** Bytes of the finished parts. */
  get bytes(): number {
    return this.#bytes;
  }

  async #startPart(): Promise<FormatWriter> {
    const { directory, format, schema, endpoint, compression } = this.#options;
    const name = this.#options.name(this.#parts.length);
    const file = path.join(directory, name);
    this.#parts.push(file);
    const handle = await createFileForWrite(file);
    try {
      const writer = codecFor(format).createWriter(fileByteSink(handle), schema, {
        name,
        ...(endpoint.csv ? { csv: endpoint.csv } : {}),
        ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
        ...(compression ? { compression } : {}),
        precedingRows: this.#rows,
      });
      this.#current = { writer, handle };
      return writer;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async #finishPart(): Promise<void> {
    const current = this.#current;
    if (!current) return;
    this.#current = undefined;
    try {
      this.#bytes += (await current.writer.finish()).bytes;
      await current.handle.sync();
    } finally {
      await current.handle.close();
    }
  }

  async write(batch: RecordBatch): Promise<void> {
    throwIfAborted(this.#options.signal);
    const writer = this.#current?.writer ?? (await this.#startPart());
    await writer.write(batch);
    this.#rows += batch.numRows;
    if (writer.bytes >= this.#options.partBytes) await this.#finishPart();
  }

  /**
   * Finishes the last part and returns every part. No rows still makes one (empty) part, so
   * the data exists and carries its schema.
   */
  async finish(): Promise<string[]> {
    if (this.#parts.length === 0) await this.#startPart();
    await this.#finishPart();
    return [...this.#parts];
  }

  /** Stops writing the current part (its file stays; the caller removes what it owns). */
  async abort(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.writer.abort();
    await current?.handle.close().catch(() => undefined);
  }
}

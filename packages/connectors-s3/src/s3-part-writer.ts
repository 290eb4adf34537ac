/**
 * Encodes batches into part objects, each a streaming multipart upload, rolling to a new
 * part after `partFileBytes` (never, for a single-object target). Shared by the sink's
 * staging of an attempt and by the staging of one chunk of a chunked task.
 */
import { codecFor, type FormatOptions, type FormatWriter } from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { S3Location } from './s3-listing.ts';
import type { StagedPart } from './s3-manifest.ts';
import { createS3ObjectWriter, type S3ObjectWriter } from './s3-object-writer.ts';
import type { S3ConnectionOptions, S3Format } from './s3-options.ts';

/** A part object written, with its key. */
export interface WrittenPart extends StagedPart {
  key: string;
}

export interface S3PartWriterOptions {
  location: S3Location;
  /** The key of part `index`. */
  keyOf: (index: number) => string;
  format: S3Format;
  schema: Schema;
  formatOptions: FormatOptions;
  /** The name the codec sees (it picks the variant, e.g. Arrow file vs stream). */
  name: string;
  contentType: string;
  connection: Pick<S3ConnectionOptions, 'partSizeBytes' | 'uploadConcurrency'>;
  /** Roll to a new part past this many bytes. */
  partFileBytes: number;
}

export class S3PartWriter {
  readonly parts: WrittenPart[] = [];
  readonly #options: S3PartWriterOptions;
  #current: { index: number; object: S3ObjectWriter; encoder: FormatWriter; rows: number } | undefined;
  rows = 0;

  constructor(options: S3PartWriterOptions) {
    this.#options = options;
  }

  /** Bytes of the finished parts. */
  get bytes(): number {
    return this.parts.reduce((sum, part) => sum + part.size, 0);
  }

  #start() {
    const { location, keyOf, schema, formatOptions, name, contentType, connection } = this.#options;
    const index = this.parts.length;
    const object = createS3ObjectWriter(location, keyOf(index), {
      partSizeBytes: connection.partSizeBytes,
      uploadConcurrency: connection.uploadConcurrency,
      contentType,
    });
    const encoder = codecFor(this.#options.format).createWriter(object, schema, {
      ...formatOptions,
      name,
      precedingRows: this.rows,
    });
    this.#current = { index, object, encoder, rows: 0 };
    return this.#current;
  }

  async #finishPart(): Promise<void> {
    const part = this.#current;
    if (!part) return;
    this.#current = undefined;
    try {
      await part.encoder.finish();
    } catch (error) {
      await part.object.abort();
      throw error;
    }
    const written = await part.object.finish();
    this.parts.push({
      index: part.index,
      key: written.key,
      size: written.size,
      rows: part.rows,
      sha256: written.sha256,
    });
  }

  async write(batch: RecordBatch): Promise<void> {
    const part = this.#current ?? this.#start();
    await part.encoder.write(batch);
    part.rows += batch.numRows;
    this.rows += batch.numRows;
    if (part.object.bytesWritten >= this.#options.partFileBytes) await this.#finishPart();
  }

  /** Finishes the last part; an empty dataset still gets one part, so its schema survives. */
  async finish(): Promise<WrittenPart[]> {
    if (this.parts.length === 0 && !this.#current) this.#start();
    await this.#finishPart();
    return this.parts;
  }

  /** Drops the part being written (finished parts stay: the caller removes its prefix). */
  async abort(): Promise<void> {
    const part = this.#current;
    this.#current = undefined;
    await part?.encoder.abort();
    await part?.object.abort();
  }
}

/**
 * Encodes batches into part files of one directory, each streamed CREATE through a data
 * node, rolling to a new part after `partBytes`. Shared by the sink's staging of an attempt
 * and by the staging of one chunk of a chunked task.
 */
import { posix } from 'node:path';
import { codecFor, type FormatOptions, type FormatWriter } from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { HdfsFormat } from './hdfs-options.ts';
import type { PinnedHdfsFile } from './hdfs-paths.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';
import type { WebHdfsUpload } from './webhdfs-upload.ts';

export interface HdfsPartWriterOptions {
  client: WebHdfsClient;
  directory: string;
  /** The file name of part `index`. */
  nameOf: (index: number) => string;
  format: HdfsFormat;
  schema: Schema;
  /** Format options besides the name and preceding rows. */
  formatOptions: FormatOptions;
  partBytes: number;
  signal: AbortSignal;
}

export class HdfsPartWriter {
  readonly parts: PinnedHdfsFile[] = [];
  rows = 0;
  bytes = 0;
  readonly #options: HdfsPartWriterOptions;
  #current: { path: string; upload: WebHdfsUpload; encoder: FormatWriter } | undefined;

  constructor(options: HdfsPartWriterOptions) {
    this.#options = options;
  }

  async #start() {
    const { client, directory, nameOf, format, schema, formatOptions, signal } = this.#options;
    const name = nameOf(this.parts.length);
    const path = posix.join(directory, name);
    const upload = await client.create(path, { overwrite: false, signal });
    const encoder = codecFor(format).createWriter(upload, schema, {
      ...formatOptions,
      name,
      precedingRows: this.rows,
    });
    this.#current = { path, upload, encoder };
    return this.#current;
  }

  async #finishPart(): Promise<void> {
    const part = this.#current;
    if (!part) return;
    this.#current = undefined;
    try {
      await part.encoder.finish();
      await part.upload.finish();
    } catch (error) {
      await part.upload.abort();
      throw error;
    }
    const status = await this.#options.client.getFileStatus(part.path, this.#options.signal);
    this.bytes += status.length;
    this.parts.push({ path: part.path, length: status.length, modificationTime: status.modificationTime });
  }

  async write(batch: RecordBatch): Promise<void> {
    const part = this.#current ?? (await this.#start());
    await part.encoder.write(batch);
    this.rows += batch.numRows;
    if (part.upload.bytesWritten >= this.#options.partBytes) await this.#finishPart();
  }

  /** Closes the last part. No rows still makes one (empty) part, so the data carries its schema. */
  async finish(): Promise<PinnedHdfsFile[]> {
    if (this.parts.length === 0 && !this.#current) await this.#start();
    await this.#finishPart();
    return this.parts;
  }

  /** Drops the part being written (finished parts stay: the caller removes its directory). */
  async abort(): Promise<void> {
    const part = this.#current;
    this.#current = undefined;
    await part?.encoder.abort().catch(() => undefined);
    await part?.upload.abort().catch(() => undefined);
  }
}

/**
 * One load file: batches encoded by core's Parquet writer (on its worker threads) and
 * streamed as the body of a multipart load-job upload (`jobs.insert` on the upload
 * endpoint), into a staging table. Memory stays at what the encoder and the socket buffer
 * hold: `write()` waits while the upload stream is full.
 *
 * A failed upload cannot be replayed without keeping the file, so it fails the attempt
 * (transient failures are retried by the agent as a whole attempt, from a clean staging table).
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { type FormatWriter, parquetCodec } from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { BigQueryApi, JobResource } from './bigquery-api.ts';
import { toBigQueryError } from './bigquery-errors.ts';
import { describeTable, type TableReference } from './table-reference.ts';

export interface LoadFile {
  /** Bytes handed to the upload so far. */
  readonly bytes: number;
  readonly rows: number;
  write(batch: RecordBatch): Promise<void>;
  /** Finishes the file and waits for the load job; returns the file's sha256 (hex). */
  finish(signal?: AbortSignal): Promise<{ sha256: string; job: JobResource }>;
  abort(): Promise<void>;
}

export function startLoadFile(api: BigQueryApi, table: TableReference, schema: Schema, location?: string): LoadFile {
  const hash = createHash('sha256');
  let bytes = 0;
  let failure: unknown;
  const context = { connection: api.connection, operation: 'load job upload', table: describeTable(table) };
  const stream = (
    api.client
      .dataset(table.datasetId, location ? { location } : {})
      .table(table.tableId, location ? { location } : {}) as unknown as {
      createWriteStream_(metadata: Record<string, unknown>): Writable;
    }
  ).createWriteStream_({
    sourceFormat: 'PARQUET',
    writeDisposition: 'WRITE_APPEND',
    createDisposition: 'CREATE_NEVER',
    parquetOptions: { enableListInference: true },
    decimalTargetTypes: ['NUMERIC', 'BIGNUMERIC'],
    jobPrefix: 'honk_load_',
  });
  const job = new Promise<JobResource>((resolve, reject) => {
    stream.once('job', (created: { metadata: JobResource } | null) => {
      if (created?.metadata) resolve(created.metadata);
      else reject(new Error('the upload answered without a job reference'));
    });
    stream.once('error', reject);
  });
  job.catch((error: unknown) => {
    failure ??= error;
  });

  const sink = {
    write(chunk: Uint8Array): Promise<void> {
      if (failure) return Promise.reject(toBigQueryError(failure, context));
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (stream.write(chunk)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          cleanup();
          resolve();
        };
        const onError = (error: unknown) => {
          cleanup();
          reject(toBigQueryError(error, context));
        };
        const cleanup = () => {
          stream.off('drain', onDrain);
          stream.off('error', onError);
        };
        stream.on('drain', onDrain);
        stream.on('error', onError);
      });
    },
  };
  const encoder: FormatWriter = parquetCodec.createWriter(sink, schema);

  return {
    get bytes() {
      return bytes;
    },
    get rows() {
      return encoder.rows;
    },
    write: (batch) => encoder.write(batch),
    async finish(signal) {
      await encoder.finish();
      const ended = new Promise<void>((resolve) => stream.end(resolve));
      let created: JobResource;
      try {
        created = await job;
      } catch (error) {
        throw toBigQueryError(error, context);
      }
      await ended;
      const done = await api.waitForJob(created, { operation: 'load', table: describeTable(table) }, signal);
      return { sha256: hash.digest('hex'), job: done };
    },
    async abort() {
      await encoder.abort().catch(() => undefined);
      // The job promise is not awaited: a stream destroyed before the upload answered never settles it.
      stream.destroy();
    },
  };
}

/**
 * The seam between object storage and file formats. The S3 connector supplies bytes
 * (random access through ranged GETs, or a sequential stream); a codec turns them into
 * Arrow record batches and back. Parquet, CSV and NDJSON codecs belong to core's file
 * connector (one implementation for local files and objects); this module only adapts
 * them. Arrow IPC is a thin wrapper over apache-arrow's own reader and writer.
 */

import { ConfigError, HonkError } from '@honk/core';
import {
  AsyncByteQueue,
  type RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema,
  Table,
} from 'apache-arrow';
import type { RandomAccessReader } from './s3-object-reader.ts';
import type { S3EndpointOptions, S3Format } from './s3-options.ts';

/** The bytes of one object, offered both ways; a codec uses whichever suits its format. */
export interface ByteInput {
  /** For formats with a footer or an index (Parquet): read only what is needed. */
  random: RandomAccessReader;
  /** For sequential formats (CSV, NDJSON, Arrow IPC stream): one pass, chunk by chunk. */
  stream(): AsyncIterable<Uint8Array>;
  /** For messages, e.g. `s3://bucket/key`. */
  name: string;
}

/**
 * Where a format writer puts its bytes: a multipart upload here, a file handle in the file
 * connector. `write` resolves when the chunk is accepted, which is the writer's backpressure.
 */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Encodes batches into one object (the file connector's FormatWriter, over a ByteSink). */
export interface FormatWriter {
  write(batch: RecordBatch): Promise<void>;
  /** Writes what remains (footer, last row group, end-of-stream marker). */
  finish(): Promise<void>;
}

export interface FormatCodec {
  readSchema(input: ByteInput, options: FormatOptions): Promise<Schema>;
  read(input: ByteInput, options: FormatOptions & { batchRows: number }): AsyncIterable<RecordBatch>;
  createWriter(sink: ByteSink, schema: Schema, options: FormatOptions): FormatWriter;
  /** Content-Type for uploaded objects. */
  contentType: string;
}

/** Format options, shaped like the file connector's endpoint options. */
export type FormatOptions = Pick<S3EndpointOptions, 'csv' | 'parquet' | 'schema'>;

/** apache-arrow's writer pushes into an AsyncByteQueue; this one hands the chunks over synchronously. */
class CapturingQueue extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: ArrayBufferView | Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  takeAll(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }
}

/** Arrow IPC streaming format (`.arrow`). */
export const arrowIpcCodec: FormatCodec = {
  contentType: 'application/vnd.apache.arrow.stream',
  async readSchema(input) {
    const reader = await (await RecordBatchReader.from(input.stream())).open();
    try {
      return reader.schema;
    } finally {
      await reader.cancel();
    }
  },
  async *read(input) {
    let reader: { cancel(): Promise<void> } | undefined;
    try {
      const opened = await (await RecordBatchReader.from(input.stream())).open();
      reader = opened;
      for await (const batch of opened) yield batch;
    } catch (error) {
      if ((error as { code?: string }).code) throw error;
      throw new HonkError(
        'DATA_CORRUPT',
        `${input.name} is not a valid Arrow IPC stream: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    } finally {
      await reader?.cancel();
    }
  },
  createWriter(sink, schema) {
    const queue = new CapturingQueue();
    const writer = new RecordBatchStreamWriter({ autoDestroy: false });
    writer.reset(queue, schema);
    let empty = true;
    return {
      async write(batch) {
        empty = false;
        writer.write(batch);
        for (const chunk of queue.takeAll()) await sink.write(chunk);
      },
      async finish() {
        // An IPC stream without batches has no schema message either: write an empty table
        // so a dataset of zero rows keeps its schema.
        if (empty) writer.write(new Table(schema));
        writer.finish();
        for (const chunk of queue.takeAll()) await sink.write(chunk);
      },
    };
  },
};

const codecs = new Map<S3Format, FormatCodec>([['arrow', arrowIpcCodec]]);

/**
 * Registers the codec of a format. Core's file connector provides Parquet, CSV and NDJSON
 * over the same {@link ByteInput}/{@link FormatWriter} shapes; wiring them here keeps one
 * implementation of each format.
 */
export function registerFormatCodec(format: S3Format, codec: FormatCodec): void {
  codecs.set(format, codec);
}

/** The codec of a format; a ConfigError when none is registered. */
export function codecFor(format: S3Format, connection: string): FormatCodec {
  const codec = codecs.get(format);
  if (!codec) {
    throw new ConfigError(
      `S3 connection "${connection}": format "${format}" has no codec registered in this build. Use format "arrow", or register core's ${format} codec with registerFormatCodec().`,
    );
  }
  return codec;
}

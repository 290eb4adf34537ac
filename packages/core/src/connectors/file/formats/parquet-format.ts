/**
 * Parquet through parquet-wasm (the node build). Reading streams batch by batch from a
 * file-backed Blob (`fs.openAsBlob`), so only the row group being decoded is in memory.
 * Writing streams too: apache-arrow batches cross into wasm as IPC, `transformParquetStream`
 * encodes them row group by row group, and the bytes are appended to the file as they come.
 * The Arrow schema travels in the file's metadata, so every Arrow type parquet-wasm knows
 * (decimal128, zoned timestamps, lists …) reads back exactly.
 */
import { promises as fs, openAsBlob } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { throwIfAborted } from '../../../errors/honk-error.ts';
import { DEFAULT_ROW_GROUP_ROWS, type ParquetOptions } from '../file-options.ts';
import type { FormatReader, FormatReadOptions, FormatWriter } from './file-format.ts';
import { writeAll } from './file-format.ts';

async function openParquet(file: string): Promise<parquet.ParquetFile> {
  return parquet.ParquetFile.fromFile(await openAsBlob(file));
}

/** Reads Parquet files. */
export class ParquetReader implements FormatReader {
  async schema(file: string): Promise<Schema> {
    const handle = await openParquet(file);
    try {
      return tableFromIPC(handle.schema().intoIPCStream()).schema;
    } finally {
      handle.free();
    }
  }

  async count(file: string): Promise<number> {
    const handle = await openParquet(file);
    try {
      const metadata = handle.metadata();
      return metadata.fileMetadata().numRows();
    } finally {
      handle.free();
    }
  }

  async *read(file: string, schema: Schema, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
    const handle = await openParquet(file);
    let reader: ReadableStreamDefaultReader<parquet.RecordBatch> | undefined;
    try {
      const stream = (await handle.stream({ batchSize: options.batchRows })) as ReadableStream<parquet.RecordBatch>;
      reader = stream.getReader();
      while (true) {
        throwIfAborted(options.signal);
        const { done, value } = await reader.read();
        if (done) return;
        const table = tableFromIPC(value.intoIPCStream());
        for (const batch of table.batches) {
          // Re-badge with the dataset schema: same types, one Schema object for every batch.
          yield new RecordBatch(schema, batch.data);
        }
      }
    } finally {
      if (reader) {
        await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
      handle.free();
    }
  }
}

function compressionOf(options: ParquetOptions | undefined): parquet.Compression {
  switch (options?.compression ?? 'snappy') {
    case 'zstd':
      return parquet.Compression.ZSTD;
    case 'uncompressed':
      return parquet.Compression.UNCOMPRESSED;
    default:
      return parquet.Compression.SNAPPY;
  }
}

function writerProperties(options: ParquetOptions | undefined): parquet.WriterProperties {
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(compressionOf(options))
    .setMaxRowGroupSize(options?.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    // Column-chunk statistics serve pruning; page-level ones cost ~30% of write time for little.
    .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
    .setCreatedBy('honk file connector (parquet-wasm)');
  const dictionary = options?.dictionary ?? true;
  if (Array.isArray(dictionary)) {
    builder = builder.setDictionaryEnabled(false);
    for (const column of dictionary) builder = builder.setColumnDictionaryEnabled(column, true);
  } else builder = builder.setDictionaryEnabled(dictionary);
  return builder.build();
}

/** Converts apache-arrow batches to wasm batches through the IPC stream format. */
function toWasmBatches(batch: RecordBatch): parquet.RecordBatch[] {
  const table = parquet.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
  return table.recordBatches();
}

/**
 * Writes one Parquet file as a stream. `write()` waits until the encoder has taken the
 * previous batch, so at most a couple of batches plus the open row group are in memory.
 */
export class ParquetWriter implements FormatWriter {
  #handle: FileHandle;
  #bytes = 0;
  #batches = 0;
  readonly #schema: Schema;
  readonly #options: ParquetOptions | undefined;
  #controller!: ReadableStreamDefaultController<parquet.RecordBatch>;
  #waiter: (() => void) | undefined;
  #pump: Promise<void>;
  #failure: unknown;
  #finished = false;

  private constructor(handle: FileHandle, schema: Schema, options: ParquetOptions | undefined) {
    this.#handle = handle;
    this.#schema = schema;
    this.#options = options;
    const input = new ReadableStream<parquet.RecordBatch>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          const waiter = this.#waiter;
          this.#waiter = undefined;
          waiter?.();
        },
      },
      { highWaterMark: 1 },
    );
    const properties = writerProperties(options);
    this.#pump = (async () => {
      const output = (await parquet.transformParquetStream(input, properties)) as ReadableStream<Uint8Array>;
      const reader = output.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) return;
          await writeAll(handle, value);
          this.#bytes += value.length;
        }
      } finally {
        reader.releaseLock();
      }
    })().catch((error: unknown) => {
      this.#failure = error;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.();
    });
  }

  static async open(file: string, schema: Schema, options: ParquetOptions | undefined): Promise<ParquetWriter> {
    return new ParquetWriter(await fs.open(file, 'wx'), schema, options);
  }

  get bytes(): number {
    return this.#bytes;
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#check();
    if (batch.numRows === 0) return;
    for (const wasmBatch of toWasmBatches(batch)) {
      while ((this.#controller.desiredSize ?? 0) <= 0 && this.#failure === undefined) {
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
      this.#check();
      this.#controller.enqueue(wasmBatch);
      this.#batches++;
    }
  }

  async finish(): Promise<number> {
    this.#check();
    if (this.#batches === 0) {
      // The stream encoder learns the schema from the first batch; with no rows at all, write
      // a schema-only file in one go instead.
      this.#controller.close();
      await this.#pump.catch(() => undefined);
      this.#failure = undefined;
      await this.#handle.truncate(0);
      const empty = parquet.Table.fromIPCStream(tableToIPC(new Table(this.#schema), 'stream'));
      const bytes = parquet.writeParquet(empty, writerProperties(this.#options));
      await this.#handle.write(bytes, 0, bytes.length, 0);
      this.#bytes = bytes.length;
    } else {
      this.#controller.close();
      await this.#pump;
      this.#check();
    }
    this.#finished = true;
    await this.#handle.sync();
    await this.#handle.close();
    return this.#bytes;
  }

  async destroy(): Promise<void> {
    if (!this.#finished) {
      try {
        this.#controller.error(new Error('aborted'));
      } catch {
        // already closed
      }
      await this.#pump.catch(() => undefined);
    }
    await this.#handle.close().catch(() => undefined);
  }
}

/**
 * Parquet through parquet-wasm (the node build). Reading streams batch by batch from the
 * input's random-access Blob (a local file, ranged GETs), so only the row group being decoded
 * is fetched, and batches of wide rows are cut to ~4 MiB as they leave wasm. Writing streams
 * too: apache-arrow batches cross into wasm as IPC in ~1 MiB pieces, `transformParquetStream`
 * encodes them row group by row group (a row group closes at `rowGroupRows` rows or
 * `rowGroupBytes` bytes, whichever comes first), and the bytes go to the sink as they come.
 *
 * Memory: wasm linear memory grows to the high-water mark of the open row group plus the
 * pieces in flight and never shrinks, so both are kept small (measured: 700k rows of
 * ~0.5 KB wrote with ~33 MiB of wasm memory instead of ~600 MiB with 131 072-row groups).
 * The Arrow schema travels in the file's metadata, so every Arrow type parquet-wasm knows
 * (decimal128, zoned timestamps, lists …) reads back exactly.
 */
import { RecordBatch, type Schema, Table, Type, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { throwIfAborted } from '../errors/honk-error.ts';
import type { ByteInput, ByteSink, FormatCodec, FormatReadOptions, FormatWriter, WrittenFile } from './format-codec.ts';
import { DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_ROWS, type ParquetOptions } from './format-options.ts';

async function openParquet(input: ByteInput): Promise<parquet.ParquetFile> {
  return parquet.ParquetFile.fromFile(await input.blob());
}

async function readSchema(input: ByteInput): Promise<Schema> {
  const handle = await openParquet(input);
  try {
    return tableFromIPC(handle.schema().intoIPCStream()).schema;
  } finally {
    handle.free();
  }
}

async function count(input: ByteInput): Promise<number> {
  const handle = await openParquet(input);
  try {
    const metadata = handle.metadata();
    return metadata.fileMetadata().numRows();
  } finally {
    handle.free();
  }
}

/** Decoded bytes per batch when reading: each batch is copied out of wasm whole. */
const READ_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Rows per decoded batch: `batchRows`, fewer for wide rows so one batch stays near
 * {@link READ_BATCH_BYTES} (the widest row group's uncompressed bytes per row decide).
 */
function readBatchRows(handle: parquet.ParquetFile, batchRows: number): number {
  const metadata = handle.metadata();
  let widest = 0;
  try {
    for (let index = 0; index < metadata.numRowGroups(); index++) {
      const group = metadata.rowGroup(index);
      const rows = group.numRows();
      if (rows > 0) widest = Math.max(widest, group.totalByteSize() / rows);
      group.free();
    }
  } finally {
    metadata.free();
  }
  if (widest === 0) return batchRows;
  return Math.max(1, Math.min(batchRows, Math.floor(READ_BATCH_BYTES / widest)));
}

async function* read(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
  throwIfAborted(options.signal);
  const handle = await openParquet(input);
  let reader: ReadableStreamDefaultReader<parquet.RecordBatch> | undefined;
  try {
    const schema = options.schema ?? tableFromIPC(handle.schema().intoIPCStream()).schema;
    const batchSize = readBatchRows(handle, options.batchRows);
    const stream = (await handle.stream({ batchSize })) as ReadableStream<parquet.RecordBatch>;
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

/**
 * Columns dictionary-encoded by default: text and binary, where values tend to repeat and
 * dictionaries shrink files. Numbers and timestamps are rarely worth it, and dictionary
 * encoding every column was measured as the largest single cost of writing (2–6× slower).
 */
function defaultDictionaryColumns(schema: Schema): string[] {
  return schema.fields
    .filter((field) =>
      [Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary, Type.Dictionary].includes(field.typeId),
    )
    .map((field) => field.name);
}

function writerProperties(options: ParquetOptions | undefined, schema: Schema): parquet.WriterProperties {
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(compressionOf(options))
    .setMaxRowGroupSize(options?.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    // Wide rows reach the byte cap first: the open row group lives in wasm memory, which never shrinks.
    .setMaxRowGroupBytes(options?.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES)
    // Column-chunk statistics serve pruning; page-level ones cost ~30% of write time for little.
    .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
    .setCreatedBy('honk file connector (parquet-wasm)');
  const dictionary = options?.dictionary ?? defaultDictionaryColumns(schema);
  if (Array.isArray(dictionary)) {
    builder = builder.setDictionaryEnabled(false);
    for (const column of dictionary) builder = builder.setColumnDictionaryEnabled(column, true);
  } else builder = builder.setDictionaryEnabled(dictionary);
  return builder.build();
}

/**
 * Bytes of Arrow data handed to wasm at a time. Every allocation inside wasm grows its
 * linear memory for good (it never shrinks), so the pieces crossing over stay small.
 */
const WASM_BATCH_BYTES = 1024 * 1024;

/** Rows per piece so a piece of `batch` holds about {@link WASM_BATCH_BYTES}. */
function rowsPerPiece(batch: RecordBatch): number {
  let bytes = 0;
  for (const child of batch.data.children) bytes += child.byteLength;
  const perRow = bytes / Math.max(1, batch.numRows);
  return Math.max(1, Math.floor(WASM_BATCH_BYTES / Math.max(1, perRow)));
}

/**
 * Copies apache-arrow rows into wasm (through the IPC stream format). The wasm Table is
 * freed at once: left to JS garbage collection, it would keep every batch's buffers alive
 * in wasm memory until a finaliser happens to run.
 */
function toWasmBatches(batch: RecordBatch): parquet.RecordBatch[] {
  const table = parquet.Table.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
  try {
    return table.recordBatches();
  } finally {
    table.free();
  }
}

/**
 * Writes one Parquet file as a stream. `write()` waits until the encoder has taken the
 * previous batch, so at most a couple of batches plus the open row group are in memory.
 * The encoder starts with the first non-empty batch: with no rows at all, `finish()` writes
 * a schema-only file in one go instead (the stream encoder learns the schema from a batch).
 */
class ParquetWriter implements FormatWriter {
  readonly #sink: ByteSink;
  readonly #schema: Schema;
  readonly #options: ParquetOptions | undefined;
  #bytes = 0;
  #rows = 0;
  #controller: ReadableStreamDefaultController<parquet.RecordBatch> | undefined;
  #waiter: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #failure: unknown;
  #state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(sink: ByteSink, schema: Schema, options: ParquetOptions | undefined) {
    this.#sink = sink;
    this.#schema = schema;
    this.#options = options;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get rows(): number {
    return this.#rows;
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #start(): ReadableStreamDefaultController<parquet.RecordBatch> {
    let controller!: ReadableStreamDefaultController<parquet.RecordBatch>;
    const input = new ReadableStream<parquet.RecordBatch>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => this.#wake(),
      },
      { highWaterMark: 1 },
    );
    const properties = writerProperties(this.#options, this.#schema);
    this.#pump = (async () => {
      const output = (await parquet.transformParquetStream(input, properties)) as ReadableStream<Uint8Array>;
      const reader = output.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) return;
          this.#bytes += value.byteLength;
          await this.#sink.write(value);
        }
      } finally {
        reader.releaseLock();
      }
    })().catch((error: unknown) => {
      this.#failure ??= error;
      this.#wake();
    });
    this.#controller = controller;
    return controller;
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#check();
    if (batch.numRows === 0) return;
    const controller = this.#controller ?? this.#start();
    const step = rowsPerPiece(batch);
    for (let offset = 0; offset < batch.numRows; offset += step) {
      // Convert a piece only once the encoder wants it, so wasm holds one piece in flight.
      while ((controller.desiredSize ?? 0) <= 0 && this.#failure === undefined) {
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
      this.#check();
      const piece = offset === 0 && step >= batch.numRows ? batch : batch.slice(offset, offset + step);
      for (const wasmBatch of toWasmBatches(piece)) controller.enqueue(wasmBatch);
    }
    this.#rows += batch.numRows;
  }

  async finish(): Promise<WrittenFile> {
    this.#check();
    if (!this.#controller) {
      const empty = parquet.Table.fromIPCStream(tableToIPC(new Table(this.#schema), 'stream'));
      const bytes = parquet.writeParquet(empty, writerProperties(this.#options, this.#schema));
      this.#bytes = bytes.byteLength;
      await this.#sink.write(bytes);
    } else {
      this.#controller.close();
      await this.#pump;
      this.#check();
    }
    this.#state = 'finished';
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    try {
      this.#controller?.error(new Error('aborted'));
    } catch {
      // already closed
    }
    await this.#pump?.catch(() => undefined);
  }
}

/** Apache Parquet through parquet-wasm, see the module comment. */
export const parquetCodec: FormatCodec = {
  name: 'parquet',
  extensions: ['.parquet', '.pq'],
  contentType: 'application/vnd.apache.parquet',
  readSchema,
  read,
  count,
  createWriter: (sink, schema, options) => new ParquetWriter(sink, schema, options?.parquet),
};

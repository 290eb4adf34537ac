/**
 * Writing Parquet through parquet-wasm as a stream: apache-arrow batches cross into wasm as
 * IPC in ~1 MiB pieces, `transformParquetStream` encodes them row group by row group (a row
 * group closes at `rowGroupRows` rows or `rowGroupBytes` bytes, whichever comes first), and
 * the bytes go to the sink as they come.
 *
 * Memory: wasm linear memory grows to the high-water mark of the open row group plus the
 * pieces in flight and never shrinks, so both are kept small (measured: 700k rows of
 * ~0.5 KB wrote with ~33 MiB of wasm memory instead of ~600 MiB with 131 072-row groups).
 *
 * Types are planned before any byte is written ({@link planParquetWrite}): columns Parquet
 * cannot hold are refused, and the few types arrow-rs would store without a Parquet logical
 * type are converted exactly, so other engines read them with their meaning.
 */
import { type RecordBatch, type Schema, Table, Type, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { HonkError, isHonkError } from '../errors/honk-error.ts';
import { releaseBytes } from '../workers/batch-transport.ts';
import type { ByteSink, FormatWriter, WrittenFile } from './format-codec.ts';
import { DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_ROWS, type ParquetOptions } from './format-options.ts';
import { FooterAnnotator } from './parquet-footer-annotations.ts';
import { geoLogicalType } from './parquet-read-schema.ts';
import { type ParquetWritePlan, planParquetWrite } from './parquet-write-types.ts';
import type { ThriftStruct } from './thrift-compact.ts';

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

/**
 * The schema's metadata as the file's key-value metadata (GeoParquet `geo`, pandas …).
 * arrow-rs keeps schema metadata only inside `ARROW:schema`, which engines other than Arrow
 * ignore; writing the pairs themselves keeps them visible to every reader, as the source
 * file had them. `ARROW:` keys belong to the encoder.
 */
function fileMetadataOf(schema: Schema): Map<string, string> {
  const metadata = new Map<string, string>();
  for (const [key, value] of schema.metadata) if (!key.startsWith('ARROW:')) metadata.set(key, value);
  return metadata;
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
  const metadata = fileMetadataOf(schema);
  if (metadata.size > 0) builder = builder.setKeyValueMetadata(metadata);
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
  const bytes = tableToIPC(new Table([batch]), 'stream');
  const table = parquet.Table.fromIPCStream(bytes);
  // Copied into wasm memory: free the piece now rather than at the next collection.
  releaseBytes(bytes);
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
 *
 * Any failure of the encoder surfaces as an error of the next `write()` or of `finish()`:
 * an error of its output stream, and also an output stream that ends before the input was
 * closed (the encoder gave up without saying why), which would otherwise leave `write()`
 * waiting forever for the encoder to ask for more.
 */
export class ParquetWriter implements FormatWriter {
  readonly #sink: ByteSink;
  readonly #plan: ParquetWritePlan;
  readonly #options: ParquetOptions | undefined;
  #bytes = 0;
  #rows = 0;
  #controller: ReadableStreamDefaultController<parquet.RecordBatch> | undefined;
  #waiter: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #failure: unknown;
  #closing = false;
  #tail = new Uint8Array(0);
  readonly #annotator: FooterAnnotator | undefined;
  #state: 'open' | 'finished' | 'aborted' = 'open';

  /** Throws a SchemaMismatchError when Parquet cannot hold a column of `schema`. */
  constructor(sink: ByteSink, schema: Schema, options: ParquetOptions | undefined) {
    this.#sink = sink;
    this.#plan = planParquetWrite(schema);
    this.#options = options;
    const annotations = new Map<string, ThriftStruct>();
    for (const field of this.#plan.schema.fields) {
      const logicalType = geoLogicalType(field);
      if (logicalType) annotations.set(field.name, logicalType);
    }
    if (annotations.size > 0) this.#annotator = new FooterAnnotator(annotations);
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

  #fail(error: unknown): void {
    // Sink errors (I/O, uploads) keep their identity and retryability; the encoder's own are deterministic.
    const keep = isHonkError(error) || (error as { code?: unknown } | null)?.code !== undefined;
    this.#failure ??= keep
      ? error
      : new HonkError(
          'INTERNAL',
          `The Parquet encoder failed: ${error instanceof Error ? error.message : String(error)}. This is a defect; please report it with the column types of the dataset.`,
          { cause: error, retryable: false },
        );
    this.#wake();
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
    const properties = writerProperties(this.#options, this.#plan.schema);
    this.#pump = (async () => {
      const output = (await parquet.transformParquetStream(input, properties)) as ReadableStream<Uint8Array>;
      const reader = output.getReader();
      try {
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          await this.#emit(this.#annotator ? this.#annotator.push(value) : [value]);
        }
      } finally {
        reader.releaseLock();
      }
      if (!this.#closing) throw new Error('the encoder ended its output before the input was complete');
    })().catch((error: unknown) => this.#fail(error));
    this.#controller = controller;
    return controller;
  }

  async #emit(chunks: Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      if (chunk.byteLength === 0) continue;
      this.#bytes += chunk.byteLength;
      this.#keepTail(chunk);
      await this.#sink.write(chunk);
    }
  }

  /** Keeps the last 4 bytes written, to check the file ends with the Parquet magic. */
  #keepTail(chunk: Uint8Array): void {
    if (chunk.byteLength >= 4) this.#tail = chunk.slice(chunk.byteLength - 4);
    else {
      const joined = new Uint8Array(this.#tail.length + chunk.length);
      joined.set(this.#tail);
      joined.set(chunk, this.#tail.length);
      this.#tail = joined.slice(Math.max(0, joined.length - 4));
    }
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#check();
    if (batch.numRows === 0) return;
    const converted = this.#plan.convert(batch, this.#rows);
    const controller = this.#controller ?? this.#start();
    const step = rowsPerPiece(converted);
    for (let offset = 0; offset < converted.numRows; offset += step) {
      // Convert a piece only once the encoder wants it, so wasm holds one piece in flight.
      while ((controller.desiredSize ?? 0) <= 0 && this.#failure === undefined) {
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
      this.#check();
      const piece = offset === 0 && step >= converted.numRows ? converted : converted.slice(offset, offset + step);
      for (const wasmBatch of toWasmBatches(piece)) controller.enqueue(wasmBatch);
    }
    this.#rows += batch.numRows;
  }

  async finish(): Promise<WrittenFile> {
    this.#check();
    if (!this.#controller) {
      const empty = parquet.Table.fromIPCStream(tableToIPC(new Table(this.#plan.schema), 'stream'));
      const bytes = parquet.writeParquet(empty, writerProperties(this.#options, this.#plan.schema));
      await this.#emit(this.#annotator ? this.#annotator.push(bytes) : [bytes]);
    } else {
      this.#closing = true;
      this.#controller.close();
      await this.#pump;
      this.#check();
    }
    if (this.#annotator) await this.#emit(this.#annotator.finish());
    if (new TextDecoder().decode(this.#tail) !== 'PAR1') {
      this.#fail(new Error('the encoder ended without writing the Parquet footer'));
      this.#check();
    }
    this.#state = 'finished';
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    this.#closing = true;
    try {
      this.#controller?.error(new Error('aborted'));
    } catch {
      // already closed
    }
    await this.#pump?.catch(() => undefined);
  }
}

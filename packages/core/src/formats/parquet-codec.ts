/**
 * Apache Parquet through parquet-wasm (arrow-rs compiled to WebAssembly, the node build).
 * Reading is in parquet-reader.ts (with Honk's own footer, row-count, page-checksum and INT96
 * checks around the decoder), writing in parquet-writer.ts (streaming, with the type plan of
 * parquet-write-types.ts). This object is the whole interface to the rest of core.
 *
 * Both run on worker threads (parquet-worker.ts), never on the main thread: a WebAssembly
 * trap or a runaway decoder ends one read or write as DATA_CORRUPT instead of the process,
 * and encoding and decoding use another core while the main thread moves data. Batches
 * cross as Arrow IPC bytes, handed over without copying; the main thread serves the file's
 * bytes by range, so every connector's inputs (local files, ranged GETs) work unchanged.
 * One call is kept in flight ahead: the worker decodes the next batch (or encodes this one)
 * while the main thread handles the previous.
 */
import { RecordBatch, type Schema } from 'apache-arrow';
import { HonkError, isHonkError, throwIfAborted } from '../errors/honk-error.ts';
import { batchesFromBytes, batchToBytes, schemaFromBytes, schemaToBytes } from '../workers/batch-transport.ts';
import { serveRanges } from '../workers/remote-blob.ts';
import { sharedWorkerPool, WorkerCrashedError, type WorkerSession } from '../workers/worker-pool.ts';
import type { ByteInput, ByteSink, FormatCodec, FormatReadOptions, FormatWriter, WrittenFile } from './format-codec.ts';
import type { ParquetOptions } from './format-options.ts';
import { countParquet } from './parquet-metadata.ts';
import type { ParquetInputInit, ParquetWorkerInit } from './parquet-worker.ts';
import { checkParquetWritable } from './parquet-write-types.ts';

/** The codec memory cap of one read or write (`HONK_PARQUET_MEMORY_MB`, default 1024 MiB). */
function parquetMemoryCapMb(): number {
  const configured = Number(process.env.HONK_PARQUET_MEMORY_MB);
  return Number.isFinite(configured) && configured > 0 ? configured : 1024;
}

/** A dead codec thread is the data's doing (a trap, a decoder past its memory cap): DATA_CORRUPT, not retried. */
function codecFailure(what: string, error: unknown): unknown {
  if (!(error instanceof WorkerCrashedError) && !(isHonkError(error) && error.name === 'WorkerCrashedError'))
    return error;
  return new HonkError(
    'DATA_CORRUPT',
    `${what} ended the Parquet codec's thread (${error instanceof Error ? error.message : String(error)}): the data is damaged, or needs more memory than the codec may use (HONK_PARQUET_MEMORY_MB). Nothing was published.`,
    { cause: error },
  );
}

/** Opens a `parquet` session for `input`, its bytes served from this thread. */
async function openForInput(
  input: ByteInput,
  init: ParquetInputInit,
): Promise<{ session: WorkerSession; close(): Promise<void> }> {
  const served = serveRanges(input);
  try {
    const session = await sharedWorkerPool().open(
      'parquet',
      { ...init, port: served.port, name: input.name, size: input.size, maxMemoryMb: parquetMemoryCapMb() },
      [served.port],
    );
    return {
      session,
      close: async () => {
        await session.close();
        served.close();
      },
    };
  } catch (error) {
    served.close();
    throw error;
  }
}

async function readSchema(input: ByteInput, options?: { parquet?: ParquetOptions }): Promise<Schema> {
  const opened = await openForInput(input, {
    kind: 'schema',
    ...(options?.parquet ? { parquet: options.parquet } : {}),
  });
  try {
    return schemaFromBytes(await opened.session.call<Uint8Array>('schema', null));
  } catch (error) {
    throw codecFailure(`Reading the schema of ${input.name}`, error);
  } finally {
    await opened.close();
  }
}

async function* read(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
  throwIfAborted(options.signal);
  const opened = await openForInput(input, {
    kind: 'read',
    batchRows: options.batchRows,
    ...(options.parquet ? { parquet: options.parquet } : {}),
    ...(options.schema ? { schema: schemaToBytes(options.schema) } : {}),
  });
  let pending: Promise<Uint8Array | null> | undefined;
  try {
    let schema = options.schema;
    pending = opened.session.call<Uint8Array | null>('next', null);
    while (true) {
      const bytes = await pending;
      pending = undefined;
      if (bytes === null) return;
      // Ask for the next batch now: the worker decodes it while this one is consumed.
      pending = opened.session.call<Uint8Array | null>('next', null);
      pending.catch(() => undefined);
      for (const batch of batchesFromBytes(bytes)) {
        throwIfAborted(options.signal);
        // One Schema object for every batch of the read (the dataset's, or the first batch's).
        schema ??= batch.schema;
        yield batch.schema === schema ? batch : new RecordBatch(schema, batch.data);
      }
    }
  } catch (error) {
    throw codecFailure(`Reading ${input.name}`, error);
  } finally {
    await pending?.catch(() => undefined);
    await opened.close();
  }
}

/**
 * Encodes on a worker: `write()` hands the batch over and returns at once while the previous
 * one has been encoded and its bytes written to the sink, so the caller prepares the next
 * batch while this one is encoded.
 */
class ParquetWorkerWriter implements FormatWriter {
  readonly #sink: ByteSink;
  readonly #schema: Schema;
  readonly #options: ParquetOptions | undefined;
  #session: Promise<WorkerSession> | undefined;
  /** The call in flight and the sink writes of its output. */
  #previous: Promise<void> = Promise.resolve();
  #failure: unknown;
  #bytes = 0;
  #rows = 0;
  #state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(sink: ByteSink, schema: Schema, options: ParquetOptions | undefined) {
    checkParquetWritable(schema);
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

  #open(): Promise<WorkerSession> {
    this.#session ??= sharedWorkerPool().open('parquet', {
      kind: 'write',
      schema: schemaToBytes(this.#schema),
      maxMemoryMb: parquetMemoryCapMb(),
      ...(this.#options ? { parquet: this.#options } : {}),
    } satisfies ParquetWorkerInit);
    return this.#session;
  }

  async #emit(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      this.#bytes += chunk.byteLength;
      await this.#sink.write(chunk);
    }
  }

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#check();
    if (batch.numRows === 0) return;
    const bytes = batchToBytes(batch);
    await this.#previous;
    this.#check();
    const session = await this.#open();
    this.#previous = session
      .call<Uint8Array[]>('write', bytes, [bytes.buffer as ArrayBuffer])
      .then((chunks) => this.#emit(chunks))
      .catch((error: unknown) => {
        this.#failure ??= codecFailure('Writing Parquet', error);
      });
    this.#rows += batch.numRows;
  }

  async finish(): Promise<WrittenFile> {
    await this.#previous;
    this.#check();
    const session = await this.#open();
    try {
      const { chunks } = await session.call<{ chunks: Uint8Array[]; written: WrittenFile }>('finish', null);
      await this.#emit(chunks);
    } catch (error) {
      this.#failure ??= codecFailure('Writing Parquet', error);
      this.#check();
    } finally {
      await session.close();
    }
    this.#state = 'finished';
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    await this.#previous.catch(() => undefined);
    const session = await this.#session?.catch(() => undefined);
    if (!session) return;
    await session.call('abort', null).catch(() => undefined);
    await session.close();
  }
}

/** Apache Parquet, see the module comment. */
export const parquetCodec: FormatCodec = {
  name: 'parquet',
  extensions: ['.parquet', '.pq'],
  contentType: 'application/vnd.apache.parquet',
  readSchema: (input, options) => readSchema(input, options),
  read,
  count: countParquet,
  checkWritable: checkParquetWritable,
  createWriter: (sink, schema, options) => new ParquetWorkerWriter(sink, schema, options?.parquet),
};

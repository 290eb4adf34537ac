/**
 * Arrow IPC, stream format. Reading streams messages from the input; writing serialises
 * each batch as it comes. Arrow is Honk's own representation, so every type survives.
 */
import {
  AsyncByteQueue,
  RecordBatch,
  RecordBatchReader,
  RecordBatchStreamWriter,
  type Schema,
  Table,
} from 'apache-arrow';
import { HonkError, isHonkError, throwIfAborted } from '../errors/honk-error.ts';
import {
  type ByteInput,
  type ByteSink,
  closeIterator,
  type FormatCodec,
  type FormatReadOptions,
  type FormatWriter,
  type WrittenFile,
} from './format-codec.ts';

/** The input's stream, with a handle to release it whatever apache-arrow's reader does. */
function openStream(input: ByteInput): { chunks: AsyncIterable<Uint8Array>; close(): Promise<void> } {
  const iterator = input.stream()[Symbol.asyncIterator]();
  return {
    chunks: { [Symbol.asyncIterator]: () => iterator },
    close: () => closeIterator(iterator),
  };
}

function corrupt(input: ByteInput, error: unknown): unknown {
  // I/O errors (ENOENT, an abort, SOURCE_CHANGED) keep their identity; parse errors are data corruption.
  if (isHonkError(error) || (error as { code?: unknown }).code !== undefined) return error;
  return new HonkError(
    'DATA_CORRUPT',
    `${input.name} is not a valid Arrow IPC stream: ${(error as Error).message}. Check that the file is an Arrow IPC *stream* (not the file/Feather format) and was written completely.`,
    { cause: error, details: { file: input.name } },
  );
}

async function readSchema(input: ByteInput): Promise<Schema> {
  const stream = openStream(input);
  try {
    const reader = await (await RecordBatchReader.from(stream.chunks)).open();
    const schema = reader.schema;
    await reader.cancel();
    return schema;
  } catch (error) {
    throw corrupt(input, error);
  } finally {
    await stream.close();
  }
}

async function* read(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
  throwIfAborted(options.signal);
  const stream = openStream(input);
  let reader: { cancel(): Promise<void> } | undefined;
  try {
    const opened = await (await RecordBatchReader.from(stream.chunks)).open();
    reader = opened;
    const schema = options.schema ?? opened.schema;
    for await (const batch of opened) {
      throwIfAborted(options.signal);
      // Writers may use any batch size; hand out at most batchRows rows at a time.
      for (let offset = 0; offset < batch.numRows; offset += options.batchRows) {
        const slice =
          offset === 0 && batch.numRows <= options.batchRows ? batch : batch.slice(offset, offset + options.batchRows);
        // Re-badge with the dataset schema: same types, one Schema object for every batch.
        yield new RecordBatch(schema, slice.data);
      }
    }
  } catch (error) {
    throw corrupt(input, error);
  } finally {
    await reader?.cancel().catch(() => undefined);
    await stream.close();
  }
}

/**
 * apache-arrow's writer pushes into an AsyncByteQueue; this one hands every chunk to us
 * synchronously, so the writer can await the sink per batch (backpressure) instead of
 * piping into an unbounded queue.
 */
class CollectingQueue extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: ArrayBufferView | Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  drain(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

/** Writes one Arrow IPC stream. */
class ArrowIpcWriter implements FormatWriter {
  readonly #sink: ByteSink;
  readonly #schema: Schema;
  readonly #queue = new CollectingQueue();
  readonly #writer = new RecordBatchStreamWriter({ autoDestroy: false });
  #bytes = 0;
  #rows = 0;
  #started = false;

  constructor(sink: ByteSink, schema: Schema) {
    this.#sink = sink;
    this.#schema = schema;
    this.#writer.reset(this.#queue as never, schema);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get rows(): number {
    return this.#rows;
  }

  async #flush(): Promise<void> {
    for (const chunk of this.#queue.drain()) {
      this.#bytes += chunk.byteLength;
      await this.#sink.write(chunk);
    }
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    this.#started = true;
    this.#writer.write(batch);
    this.#rows += batch.numRows;
    await this.#flush();
  }

  async finish(): Promise<WrittenFile> {
    // A stream without batches has no schema message either: write an empty table, so a
    // dataset of zero rows still reads back with its schema.
    if (!this.#started) this.#writer.write(new Table(this.#schema));
    this.#writer.finish();
    await this.#flush();
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    this.#queue.drain();
  }
}

/** Arrow IPC stream format (`.arrows`, `.arrow`, `.ipc`). */
export const arrowIpcCodec: FormatCodec = {
  name: 'arrow',
  extensions: ['.arrows', '.arrow', '.ipc'],
  contentType: 'application/vnd.apache.arrow.stream',
  readSchema,
  read,
  createWriter: (sink, schema) => new ArrowIpcWriter(sink, schema),
};

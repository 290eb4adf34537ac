/**
 * Arrow IPC, both framings. The *file* format (Feather v2, what `pyarrow.ipc.new_file` and
 * `RecordBatchFileWriter` write) starts and ends with the magic `ARROW1` and has a footer
 * holding the schema and each batch's offset; the *stream* format is a plain sequence of
 * messages. Readers tell them apart by the first bytes: a file is read batch by batch
 * through random access to the input's Blob (one batch in memory at a time), a stream is
 * read sequentially. Writers write the file format for `.arrow` / `.feather` and the stream
 * format for `.arrows` / `.ipc` (and when no name is given). Arrow is Honk's own
 * representation, so every type survives.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  AsyncByteQueue,
  RecordBatch,
  RecordBatchFileWriter,
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

function corrupt(input: ByteInput, error: unknown, framing: 'file' | 'stream'): unknown {
  // I/O errors (ENOENT, an abort, SOURCE_CHANGED) keep their identity; parse errors are data corruption.
  if (isHonkError(error) || (error as { code?: unknown } | null)?.code !== undefined) return error;
  return new HonkError(
    'DATA_CORRUPT',
    `${input.name} is not a valid Arrow IPC ${framing === 'file' ? 'file (Feather v2)' : 'stream'}: ${error instanceof Error ? error.message : String(error)}. Check that it was written completely by an Arrow IPC writer.`,
    { cause: error, details: { file: input.name } },
  );
}

const MAGIC = 'ARROW1';
/** Smallest file-format file: magic, padding, a footer length and the magic again. */
const SMALLEST_FILE = 6 + 2 + 4 + 6;

/** True when the input starts with the file-format magic `ARROW1`. */
async function isFileFormat(input: ByteInput): Promise<boolean> {
  if (input.size < SMALLEST_FILE) return false;
  const blob = await input.blob();
  const head = new Uint8Array(await blob.slice(0, MAGIC.length).arrayBuffer());
  return new TextDecoder().decode(head) === MAGIC;
}

/**
 * The input's Blob as the file handle apache-arrow's random-access reader takes (it reads
 * the footer, then each batch at its offset), so a file is never loaded whole.
 */
async function blobHandle(input: ByteInput) {
  const blob = await input.blob();
  return {
    fd: -1,
    stat: async () => ({ size: input.size }),
    read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
      const bytes = new Uint8Array(await blob.slice(position, position + length).arrayBuffer());
      buffer.set(bytes, offset);
      return { bytesRead: bytes.byteLength, buffer };
    },
    close: async () => undefined,
  };
}

/** An opened reader (file or stream framing) and how to release what it holds. */
async function openReader(input: ByteInput) {
  if (await isFileFormat(input)) {
    const handle = (await blobHandle(input)) as unknown as FileHandle;
    const reader = await (await RecordBatchReader.from(handle)).open();
    return { reader, framing: 'file' as const, close: async () => undefined };
  }
  const stream = openStream(input);
  try {
    const reader = await (await RecordBatchReader.from(stream.chunks)).open();
    return { reader, framing: 'stream' as const, close: () => stream.close() };
  } catch (error) {
    await stream.close();
    throw corrupt(input, error, 'stream');
  }
}

async function readSchema(input: ByteInput): Promise<Schema> {
  let framing: 'file' | 'stream' = 'stream';
  let opened: Awaited<ReturnType<typeof openReader>> | undefined;
  try {
    opened = await openReader(input);
    framing = opened.framing;
    const schema = opened.reader.schema;
    await opened.reader.cancel();
    return schema;
  } catch (error) {
    throw corrupt(input, error, framing);
  } finally {
    await opened?.close();
  }
}

async function* read(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
  throwIfAborted(options.signal);
  let framing: 'file' | 'stream' = 'stream';
  let reader: { cancel(): Promise<void> } | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    const openedReader = await openReader(input);
    framing = openedReader.framing;
    close = openedReader.close;
    const opened = openedReader.reader;
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
    throw corrupt(input, error, framing);
  } finally {
    await reader?.cancel().catch(() => undefined);
    await close?.();
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

/** The framing a file of this name is written in: see the module comment. */
export function arrowFramingOf(name: string | undefined): 'file' | 'stream' {
  return name !== undefined && /\.(arrow|feather)$/i.test(name) ? 'file' : 'stream';
}

/** Writes one Arrow IPC file or stream. */
class ArrowIpcWriter implements FormatWriter {
  readonly #sink: ByteSink;
  readonly #schema: Schema;
  readonly #queue = new CollectingQueue();
  readonly #writer: RecordBatchStreamWriter | RecordBatchFileWriter;
  #bytes = 0;
  #rows = 0;
  #started = false;

  constructor(sink: ByteSink, schema: Schema, framing: 'file' | 'stream') {
    this.#sink = sink;
    this.#schema = schema;
    this.#writer =
      framing === 'file'
        ? new RecordBatchFileWriter({ autoDestroy: false })
        : new RecordBatchStreamWriter({ autoDestroy: false });
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

/** Arrow IPC: file format (`.arrow`, `.feather`) and stream format (`.arrows`, `.ipc`). */
export const arrowIpcCodec: FormatCodec = {
  name: 'arrow',
  extensions: ['.arrows', '.arrow', '.feather', '.ipc'],
  contentType: 'application/vnd.apache.arrow.stream',
  readSchema,
  read,
  createWriter: (sink, schema, options) => new ArrowIpcWriter(sink, schema, arrowFramingOf(options?.name)),
};

/**
 * Arrow IPC, stream format. Reading streams messages from the file; writing serialises
 * each batch as it comes. Arrow is Honk's own representation, so every type survives.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { AsyncByteQueue, RecordBatch, RecordBatchReader, RecordBatchStreamWriter, type Schema } from 'apache-arrow';
import { throwIfAborted } from '../../../errors/honk-error.ts';
import type { FormatReader, FormatReadOptions, FormatWriter } from './file-format.ts';
import { writeAll } from './file-format.ts';

async function openReader(file: string, size: number, signal?: AbortSignal) {
  const stream = createReadStream(file, size > 0 ? { start: 0, end: size - 1, signal } : { start: 0, end: 0, signal });
  const reader = await RecordBatchReader.from(stream);
  await reader.open();
  return { reader, stream };
}

/** Reads Arrow IPC stream files. */
export class ArrowIpcReader implements FormatReader {
  async schema(file: string): Promise<Schema> {
    const { size } = await fs.stat(file);
    const { reader, stream } = await openReader(file, size);
    try {
      return reader.schema;
    } finally {
      await reader.cancel();
      stream.destroy();
    }
  }

  async *read(file: string, schema: Schema, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
    const { reader, stream } = await openReader(file, options.size, options.signal);
    try {
      for await (const batch of reader) {
        throwIfAborted(options.signal);
        // Writers may use any batch size; hand out at most batchRows rows at a time.
        for (let offset = 0; offset < batch.numRows; offset += options.batchRows) {
          const slice =
            offset === 0 && batch.numRows <= options.batchRows
              ? batch
              : batch.slice(offset, offset + options.batchRows);
          yield new RecordBatch(schema, slice.data);
        }
      }
    } finally {
      await reader.cancel();
      stream.destroy();
    }
  }
}

/**
 * A byte queue that hands every chunk the IPC writer produces to us synchronously, so the
 * writer can await the disk per batch instead of piping without backpressure.
 */
class CollectingQueue extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }
  drain(): Uint8Array[] {
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }
}

/** Writes one Arrow IPC stream file. */
export class ArrowIpcWriter implements FormatWriter {
  #handle: FileHandle;
  #bytes = 0;
  readonly #queue = new CollectingQueue();
  readonly #writer: RecordBatchStreamWriter;

  private constructor(handle: FileHandle, schema: Schema) {
    this.#handle = handle;
    this.#writer = new RecordBatchStreamWriter();
    this.#writer.reset(this.#queue as never, schema);
  }

  static async open(file: string, schema: Schema): Promise<ArrowIpcWriter> {
    return new ArrowIpcWriter(await fs.open(file, 'wx'), schema);
  }

  get bytes(): number {
    return this.#bytes;
  }

  async #flush(): Promise<void> {
    for (const chunk of this.#queue.drain()) {
      await writeAll(this.#handle, chunk);
      this.#bytes += chunk.length;
    }
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#writer.write(batch);
    await this.#flush();
  }

  async finish(): Promise<number> {
    this.#writer.finish();
    await this.#flush();
    await this.#handle.sync();
    await this.#handle.close();
    return this.#bytes;
  }

  async destroy(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }
}

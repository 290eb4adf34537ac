/**
 * A `Blob` over random-access reads, for {@link ByteInput.blob} of storage that is not a
 * local file. parquet-wasm's `ParquetFile.fromFile(blob)` reads the footer through a few
 * small slices and then one slice per column chunk it decodes, so a Parquet file behind
 * this Blob is read by ranges (an object store: ranged GETs), never whole.
 */

/** Random access to the bytes of one file or object. */
export interface RandomAccessReader {
  /** Total size in bytes, fixed when the reader was opened. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (fewer only at the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A lazily read Blob: bytes are fetched only when a slice of it is read. */
export class RandomAccessBlob extends Blob {
  readonly #reader: RandomAccessReader;
  readonly #start: number;

  constructor(reader: RandomAccessReader, start = 0, end = reader.size) {
    super([]);
    this.#reader = reader;
    this.#start = start;
    // Blob's `size` is a prototype getter over its own (empty) bytes; shadow it.
    Object.defineProperty(this, 'size', { value: Math.max(0, end - start) });
  }

  override slice(start = 0, end = this.size): Blob {
    const from = Math.max(0, start < 0 ? this.size + start : start);
    const to = Math.min(this.size, end < 0 ? this.size + end : end);
    return new RandomAccessBlob(this.#reader, this.#start + from, this.#start + Math.max(from, to));
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.#reader.read(this.#start, this.size);
    // A Buffer's slice() is a view, not a copy: copy through Uint8Array's own slice.
    return bytes.buffer.byteLength === bytes.byteLength && bytes.byteOffset === 0
      ? (bytes.buffer as ArrayBuffer)
      : (Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer);
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return new ReadableStream({
      pull: async (controller) => {
        controller.enqueue(new Uint8Array(await this.arrayBuffer()));
        controller.close();
      },
    });
  }
}

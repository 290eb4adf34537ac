/**
 * A growable window over the text of an input for the text parsers: chunks are appended as
 * the parser asks for more and dropped once a batch has been built, so memory follows the
 * batch size (plus one row), never the file size. The text is the input's pinned bytes,
 * decompressed when they are gzip or zstd (text-compression.ts).
 */
import type { ByteInput } from './format-codec.ts';
import { type TextCompression, TextInput } from './text-compression.ts';

/** Bytes appended per `fill()` at least (unless the stream ends): fewer, larger rescans. */
const FILL_BYTES = 1024 * 1024;

export class ByteWindow {
  bytes: Uint8Array = new Uint8Array(FILL_BYTES * 2);
  /** Valid bytes in `bytes`. */
  length = 0;
  /** No more bytes will come. */
  eof = false;
  /** Text bytes read so far (after decompression), including those compacted away. */
  total = 0;
  readonly #text: TextInput;

  constructor(input: ByteInput, signal?: AbortSignal) {
    this.#text = new TextInput(input, signal);
  }

  /** The compression of the input, known after the first `fill()`. */
  get compression(): TextCompression | undefined {
    return this.#text.compression;
  }

  #append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.bytes.length) {
      let capacity = this.bytes.length * 2;
      while (capacity < this.length + chunk.length) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.length);
    this.length += chunk.length;
    this.total += chunk.length;
  }

  /** Appends the next chunks. Returns false (and sets `eof`) when the input is exhausted. */
  async fill(): Promise<boolean> {
    if (this.eof) return false;
    let added = 0;
    while (added < FILL_BYTES) {
      const chunk = await this.#text.next();
      if (chunk === undefined) {
        this.eof = true;
        break;
      }
      this.#append(chunk);
      added += chunk.length;
    }
    if (this.eof) await this.close();
    return added > 0;
  }

  /** Drops bytes before `from`; returns how far offsets moved. */
  compact(from: number): number {
    if (from === 0) return 0;
    this.bytes.copyWithin(0, from, this.length);
    this.length -= from;
    return from;
  }

  /** Releases the stream (idempotent). */
  async close(): Promise<void> {
    await this.#text.close();
  }
}

/**
 * A growable window over a byte stream for the text parsers: chunks are appended as the
 * parser asks for more and dropped once a batch has been built, so memory follows the batch
 * size (plus one row), never the file size. Never reads past the input's pinned size.
 */
import { throwIfAborted } from '../errors/honk-error.ts';
import { type ByteInput, closeIterator } from './format-codec.ts';

/** Bytes appended per `fill()` at least (unless the stream ends): fewer, larger rescans. */
const FILL_BYTES = 1024 * 1024;

export class ByteWindow {
  bytes: Uint8Array = new Uint8Array(FILL_BYTES * 2);
  /** Valid bytes in `bytes`. */
  length = 0;
  /** No more bytes will come. */
  eof = false;
  #iterator: AsyncIterator<Uint8Array> | undefined;
  #position = 0;
  readonly #limit: number;
  readonly #signal: AbortSignal | undefined;

  constructor(input: ByteInput, signal?: AbortSignal) {
    this.#limit = input.size;
    this.#signal = signal;
    if (input.size > 0) this.#iterator = input.stream()[Symbol.asyncIterator]();
    else this.eof = true;
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
  }

  /** Appends the next chunks. Returns false (and sets `eof`) when the input is exhausted. */
  async fill(): Promise<boolean> {
    throwIfAborted(this.#signal);
    if (this.eof || !this.#iterator) return false;
    let added = 0;
    while (added < FILL_BYTES) {
      const { done, value } = await this.#iterator.next();
      throwIfAborted(this.#signal);
      if (done) {
        // Shorter than pinned means the file shrank; the connector's after-read check says so.
        this.eof = true;
        break;
      }
      const room = this.#limit - this.#position;
      const chunk = value.length > room ? value.subarray(0, room) : value;
      this.#append(chunk);
      this.#position += chunk.length;
      added += chunk.length;
      if (this.#position >= this.#limit) {
        this.eof = true;
        break;
      }
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
    const iterator = this.#iterator;
    this.#iterator = undefined;
    await closeIterator(iterator);
  }
}

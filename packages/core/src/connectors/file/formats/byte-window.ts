/**
 * A growable window over a file for the text parsers: bytes are appended as the parser asks
 * for more and dropped once a batch has been built, so memory follows the batch size, never
 * the file size. Reads stop at the pinned size.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { throwIfAborted } from '../../../errors/honk-error.ts';

const CHUNK_BYTES = 1024 * 1024;

export class ByteWindow {
  bytes: Uint8Array = new Uint8Array(CHUNK_BYTES * 2);
  /** Valid bytes in `bytes`. */
  length = 0;
  /** No more bytes will come. */
  eof = false;
  #handle: FileHandle | undefined;
  #position = 0;
  readonly #limit: number;
  readonly #signal: AbortSignal | undefined;

  private constructor(handle: FileHandle, limit: number, signal?: AbortSignal) {
    this.#handle = handle;
    this.#limit = limit;
    this.#signal = signal;
  }

  /** Opens `file` for reading at most `limit` bytes (the size pinned when the read began). */
  static async open(file: string, limit: number, signal?: AbortSignal): Promise<ByteWindow> {
    return new ByteWindow(await fs.open(file, 'r'), limit, signal);
  }

  /** Appends the next chunk. Returns false (and sets `eof`) when the file is exhausted. */
  async fill(): Promise<boolean> {
    throwIfAborted(this.#signal);
    if (this.eof || !this.#handle) return false;
    const wanted = Math.min(CHUNK_BYTES, this.#limit - this.#position);
    if (wanted <= 0) {
      this.eof = true;
      return false;
    }
    if (this.length + wanted > this.bytes.length) {
      let capacity = this.bytes.length * 2;
      while (capacity < this.length + wanted) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    const { bytesRead } = await this.#handle.read(this.bytes, this.length, wanted, this.#position);
    if (bytesRead === 0) {
      // Shorter than pinned: the file shrank. The source's after-read check reports it.
      this.eof = true;
      return false;
    }
    this.length += bytesRead;
    this.#position += bytesRead;
    if (this.#position >= this.#limit) this.eof = true;
    return true;
  }

  /** Drops bytes before `from`; returns how far offsets moved. */
  compact(from: number): number {
    if (from === 0) return 0;
    this.bytes.copyWithin(0, from, this.length);
    this.length -= from;
    return from;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

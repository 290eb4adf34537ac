/**
 * gzip and zstd for the text formats (CSV, NDJSON), in one place for every connector that
 * uses core's codecs: readers detect compression by magic bytes (so a `.csv` that is really
 * gzip reads too) and check it against the name (`.csv.gz`, `.jsonl.zst` …); writers
 * compress when the format options ask (a connector asks when the target name ends in a
 * compression extension). Both directions stream through `node:zlib` with backpressure, so
 * memory stays at a chunk or two whatever the compression ratio.
 *
 * A stream that does not decompress (truncated, corrupt, not what its name says) is
 * `DATA_CORRUPT` naming the file: the bytes are wrong, so a retry cannot help.
 */
import zlib from 'node:zlib';
import { ConfigError, HonkError, throwIfAborted } from '../errors/honk-error.ts';
import { type ByteInput, type ByteSink, closeIterator } from './format-codec.ts';

/** The compressions text formats read and write. */
export const textCompressions = ['gzip', 'zstd'] as const;
export type TextCompression = (typeof textCompressions)[number];

/** Name suffixes of each compression (lower case); the first is the one writers use. */
export const compressionExtensions: Readonly<Record<TextCompression, readonly string[]>> = {
  gzip: ['.gz', '.gzip'],
  zstd: ['.zst', '.zstd'],
};

/** The compression a file name's last extension names (`orders.csv.gz` → gzip), or undefined. */
export function compressionOfName(name: string): TextCompression | undefined {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const extension = name.slice(dot).toLowerCase();
  return textCompressions.find((compression) => compressionExtensions[compression].includes(extension));
}

/** The name without its compression extension (`orders.csv.gz` → `orders.csv`); unchanged when it has none. */
export function withoutCompressionExtension(name: string): string {
  return compressionOfName(name) ? name.slice(0, name.lastIndexOf('.')) : name;
}

/** The compression the first bytes of a stream announce: gzip `1f 8b`, zstd `28 b5 2f fd`. */
export function sniffCompression(bytes: Uint8Array): TextCompression | undefined {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd) return 'zstd';
  return undefined;
}

type Codec = zlib.Gunzip | zlib.Gzip | zlib.ZstdDecompress | zlib.ZstdCompress;

function zstdMissing(): ConfigError {
  return new ConfigError(
    `zstd needs Node.js 22.15 or later (node:zlib has no zstd in ${process.version}); upgrade Node.js or use gzip.`,
    { details: { option: 'compression' } },
  );
}

function decompressor(compression: TextCompression): Codec {
  if (compression === 'gzip') return zlib.createGunzip();
  if (typeof zlib.createZstdDecompress !== 'function') throw zstdMissing();
  return zlib.createZstdDecompress();
}

function compressor(compression: TextCompression): Codec {
  if (compression === 'gzip') return zlib.createGzip();
  if (typeof zlib.createZstdCompress !== 'function') throw zstdMissing();
  // A content checksum, so corruption inside a frame is found on read, as gzip's CRC finds it.
  return zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_checksumFlag]: 1 } });
}

function corrupt(name: string, compression: TextCompression, why: string, cause?: unknown): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${name} is not a readable ${compression} stream (${why}). The file is truncated or damaged: re-export or re-upload it.`,
    { details: { file: name, compression }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** The input's bytes as it was pinned: never more than `size`, so bytes appended mid-read are not mixed in. */
async function* pinnedChunks(input: ByteInput): AsyncGenerator<Uint8Array> {
  if (input.size === 0) return;
  let position = 0;
  for await (const chunk of input.stream()) {
    const room = input.size - position;
    yield chunk.length > room ? chunk.subarray(0, room) : chunk;
    position += Math.min(chunk.length, room);
    // Shorter than pinned means the file shrank; the connector's after-read check says so.
    if (position >= input.size) return;
  }
}

/** Decompressed output held before the decompressor is paused. */
const OUTPUT_HIGH_BYTES = 1024 * 1024;

/**
 * Decompresses `raw` (whose first chunks are `head`). Concatenated gzip members and zstd
 * frames are read as one stream: node:zlib's zstd decoder ends at the end of a frame, so
 * the input it left unread starts a new decoder instead of being dropped. Errors of the
 * raw stream (a changed source, a broken connection) pass through as they are; errors of
 * the decoder are DATA_CORRUPT.
 */
async function* decompressed(
  raw: AsyncIterator<Uint8Array>,
  head: Uint8Array,
  compression: TextCompression,
  name: string,
): AsyncGenerator<Uint8Array> {
  const output: Buffer[] = [];
  let outputBytes = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  /** Bytes written to the current decoder; a write in flight; what it left unread. */
  let written = 0;
  let writing = false;
  let leftover: Uint8Array | undefined;
  const start = (): Codec => {
    const current = decompressor(compression);
    // Events of a decoder already replaced (a finished frame) are not this stream's.
    current.on('data', (chunk: Buffer) => {
      if (current !== stream) return;
      output.push(chunk);
      outputBytes += chunk.length;
      if (outputBytes >= OUTPUT_HIGH_BYTES) current.pause();
      signal();
    });
    current.on('end', () => {
      if (current !== stream) return;
      ended = true;
      signal();
    });
    current.on('error', (error: Error) => {
      if (current !== stream) return;
      failure ??= error;
      signal();
    });
    written = 0;
    ended = false;
    return current;
  };
  const write = (chunk: Uint8Array) => {
    const current = stream;
    writing = true;
    written += chunk.length;
    const total = written;
    current.write(chunk, (error) => {
      writing = false;
      if (!error && current.bytesWritten < total)
        leftover = chunk.subarray(chunk.length - (total - current.bytesWritten));
      signal();
    });
  };
  let stream = start();
  let rawDone = false;
  let pendingHead: Uint8Array | undefined = head;
  try {
    while (true) {
      if (output.length > 0) {
        const chunk = output.shift() as Buffer;
        outputBytes -= chunk.length;
        if (outputBytes < OUTPUT_HIGH_BYTES && stream.isPaused()) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw corrupt(name, compression, failure.message, failure);
      if (ended && !writing) {
        const rest = leftover;
        leftover = undefined;
        if (rest && rest.length > 0) {
          // The decoder stopped at the end of a frame inside this chunk: the rest is the next frame.
          if (stream.bytesWritten === 0) throw corrupt(name, compression, 'trailing bytes that do not decompress');
          stream.destroy();
          stream = start();
          write(rest);
          continue;
        }
        if (rawDone) return;
        stream.destroy();
        stream = start();
      }
      if (!writing && !ended && !rawDone) {
        if (pendingHead) {
          write(pendingHead);
          pendingHead = undefined;
          continue;
        }
        const next = await raw.next();
        if (next.done) {
          rawDone = true;
          stream.end();
        } else if (next.value.length > 0) write(next.value);
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.destroy();
  }
}

/**
 * The text of one input, decompressed when its first bytes (or its name) say so. Reads the
 * pinned size, one chunk at a time; `close()` releases the input's stream.
 */
export class TextInput {
  /** The compression found, once the first chunk has been read. */
  compression: TextCompression | undefined;
  readonly #input: ByteInput;
  readonly #signal: AbortSignal | undefined;
  #raw: AsyncIterator<Uint8Array> | undefined;
  #chunks: AsyncIterator<Uint8Array> | undefined;

  constructor(input: ByteInput, signal?: AbortSignal) {
    this.#input = input;
    this.#signal = signal;
  }

  /** The next chunk of text, or undefined at the end. */
  async next(): Promise<Uint8Array | undefined> {
    throwIfAborted(this.#signal);
    this.#chunks ??= await this.#open();
    const { done, value } = await this.#chunks.next();
    throwIfAborted(this.#signal);
    return done ? undefined : value;
  }

  async #open(): Promise<AsyncIterator<Uint8Array>> {
    const raw = pinnedChunks(this.#input)[Symbol.asyncIterator]();
    this.#raw = raw;
    // Enough bytes to tell the magic numbers apart (a stream may deliver them one by one).
    let head: Uint8Array = new Uint8Array(0);
    while (head.length < 4) {
      const { done, value } = await raw.next();
      if (done) break;
      head = head.length === 0 ? value : Buffer.concat([head, value]);
    }
    const named = compressionOfName(this.#input.name);
    const found = sniffCompression(head);
    if (named && head.length > 0 && found !== named) {
      throw new HonkError(
        'DATA_CORRUPT',
        `${this.#input.name} is named as ${named} but its bytes are ${found ? `${found} data` : 'not compressed'}. Rename the file to match its content.`,
        { details: { file: this.#input.name, compression: named } },
      );
    }
    this.compression = found;
    if (found) return decompressed(raw, head, found, this.#input.name);
    return (async function* () {
      if (head.length > 0) yield head;
      while (true) {
        const { done, value } = await raw.next();
        if (done) return;
        yield value;
      }
    })();
  }

  /** Releases the input's stream (idempotent). */
  async close(): Promise<void> {
    const chunks = this.#chunks;
    const raw = this.#raw;
    this.#chunks = undefined;
    this.#raw = undefined;
    await closeIterator(chunks);
    await closeIterator(raw);
  }
}

/**
 * A ByteSink that compresses into `sink`. `write` resolves when the compressor took the
 * chunk (its output goes to `sink` in order, one write at a time); `finish()` writes the
 * compressed tail; `abort()` drops what is buffered. `bytes` counts what reached `sink`.
 */
export class CompressingSink implements ByteSink {
  bytes = 0;
  readonly #stream: Codec;
  readonly #pump: Promise<void>;
  #failure: unknown;

  constructor(sink: ByteSink, compression: TextCompression) {
    const stream = compressor(compression);
    this.#stream = stream;
    this.#pump = (async () => {
      for await (const chunk of stream) {
        await sink.write(chunk as Buffer);
        this.bytes += (chunk as Buffer).length;
      }
    })();
    this.#pump.catch((error: unknown) => {
      this.#failure ??= error;
    });
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (!this.#stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#stream.off('drain', done);
          this.#stream.off('close', done);
          resolve();
        };
        this.#stream.on('drain', done);
        this.#stream.on('close', done);
      });
    }
    if (this.#failure) throw this.#failure;
  }

  /** Ends the compressed stream and waits until all of it reached the sink. */
  async finish(): Promise<void> {
    this.#stream.end();
    await this.#pump;
  }

  abort(): void {
    this.#stream.destroy();
  }
}

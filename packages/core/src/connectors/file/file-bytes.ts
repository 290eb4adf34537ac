/**
 * Local files as the byte inputs and sinks of core's format codecs (src/formats): reads go
 * through `fs.openAsBlob` (random access, Parquet) or a read stream (text and Arrow IPC),
 * both limited to the size pinned when the read began, so bytes appended mid-read are
 * never mixed in.
 */
import { createReadStream, promises as fs, openAsBlob } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ByteInput, ByteSink } from '../../formats/format-codec.ts';

/** Read-stream chunk size: large chunks mean fewer rescans of a row split across chunks. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

/** The first `size` bytes of `file` (the size pinned by the source). */
export function fileByteInput(file: string, size: number, signal?: AbortSignal): ByteInput {
  return {
    name: file,
    size,
    async blob() {
      const blob = await openAsBlob(file);
      return blob.size === size ? blob : blob.slice(0, size);
    },
    async *stream() {
      if (size === 0) return;
      const stream = createReadStream(file, {
        start: 0,
        end: size - 1,
        highWaterMark: STREAM_CHUNK_BYTES,
        ...(signal ? { signal } : {}),
      });
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } finally {
        stream.destroy();
      }
    },
  };
}

/** A sink appending to an open file handle; `bytes` counts what was written. */
export function fileByteSink(handle: FileHandle): ByteSink {
  return {
    async write(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    },
  };
}

/** Opens a new file for a writer (`wx`: never overwrites). */
export function createFileForWrite(file: string): Promise<FileHandle> {
  return fs.open(file, 'wx');
}

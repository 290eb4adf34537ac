/**
 * Pinned HDFS files as the byte inputs of core's format codecs: `blob()` is random access
 * through OPEN with `offset`/`length` (Parquet reads its footer, then only the column chunks
 * it decodes), `stream()` one streamed OPEN that resumes from the last byte delivered after
 * a transient failure. Both stop at the length pinned at listing, so bytes appended
 * mid-read are never mixed in; {@link verifyUnchanged} after the read catches the rest.
 */
import { type ByteInput, RandomAccessBlob, TransientError, throwIfAborted } from '@honk/core';
import type { PinnedHdfsFile } from './hdfs-paths.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

function changed(client: WebHdfsClient, file: PinnedHdfsFile, why: string): TransientError {
  return new TransientError(
    `HDFS connection "${client.connection}": source file "${file.path}" changed during the read (${why}). The attempt is retried from a fresh listing; if the file is still being written, schedule the task after the writer finishes.`,
    { code: 'SOURCE_CHANGED', details: { path: file.path } },
  );
}

/** Throws `SOURCE_CHANGED` when the file's length or modification time moved since it was pinned. */
export async function verifyUnchanged(
  client: WebHdfsClient,
  file: PinnedHdfsFile,
  signal?: AbortSignal,
): Promise<void> {
  const status = await client.statusIfExists(file.path, signal);
  if (!status) throw changed(client, file, 'it disappeared');
  if (status.length !== file.length) throw changed(client, file, `length ${file.length} → ${status.length}`);
  if (status.modificationTime !== file.modificationTime) throw changed(client, file, 'its modification time moved');
}

/** Streams the pinned bytes of a file; resumes after transient failures, up to `retries` times in a row. */
export async function* streamHdfsFile(
  client: WebHdfsClient,
  file: PinnedHdfsFile,
  retries: number,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let delivered = 0;
  let failures = 0;
  while (delivered < file.length) {
    throwIfAborted(signal);
    try {
      const remaining = file.length - delivered;
      for await (const chunk of await client.open(file.path, { offset: delivered, length: remaining, signal })) {
        const bytes = chunk.byteLength > file.length - delivered ? chunk.subarray(0, file.length - delivered) : chunk;
        delivered += bytes.byteLength;
        failures = 0;
        if (bytes.byteLength > 0) yield bytes;
        if (delivered >= file.length) break;
      }
      if (delivered < file.length) {
        throw new TransientError(
          `HDFS connection "${client.connection}": "${file.path}" ended after ${delivered} of ${file.length} bytes.`,
        );
      }
    } catch (error) {
      throwIfAborted(signal);
      failures += 1;
      if ((error as { code?: string }).code !== 'TRANSIENT' || failures >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** (failures - 1))));
    }
  }
}

/** One pinned file for the codecs. */
export function hdfsByteInput(
  client: WebHdfsClient,
  file: PinnedHdfsFile,
  retries: number,
  signal?: AbortSignal,
): ByteInput {
  return {
    name: `hdfs://${file.path}`,
    size: file.length,
    blob: () =>
      new RandomAccessBlob({
        size: file.length,
        read: (offset, length) =>
          length <= 0 || offset >= file.length
            ? Promise.resolve(new Uint8Array(0))
            : client.read(file.path, offset, Math.min(length, file.length - offset), signal),
      }),
    stream: () => streamHdfsFile(client, file, retries, signal),
  };
}

/**
 * Reads pinned objects: random access through ranged GETs (Parquet: footer first, then
 * only the row groups needed) and sequential streams (CSV, NDJSON, Arrow IPC). Every GET
 * carries `If-Match` with the pinned ETag, and the ETag of the response is compared too,
 * because some S3-compatible servers ignore the header. A stream that breaks mid-object
 * resumes with a `Range` from the last byte delivered, so a connection reset costs one
 * request, not the whole object, and memory stays at one chunk.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { type ByteInput, RandomAccessBlob, type RandomAccessReader, TransientError, throwIfAborted } from '@honk/core';
import { type S3CallContext, toS3Error, withS3Retry } from './s3-errors.ts';
import type { PinnedObject, S3Location } from './s3-listing.ts';

function callContext(location: S3Location, object: PinnedObject): S3CallContext {
  return { connection: location.connection, bucket: location.bucket, operation: 'GetObject', key: object.key };
}

function checkEtag(location: S3Location, object: PinnedObject, output: GetObjectCommandOutput): void {
  if (object.etag && output.ETag && output.ETag !== object.etag) {
    (output.Body as Readable | undefined)?.destroy?.();
    throw new TransientError(
      `S3 connection "${location.connection}": s3://${location.bucket}/${object.key} changed since it was listed (ETag ${object.etag} → ${output.ETag}). The attempt is retried from a fresh listing.`,
      { code: 'SOURCE_CHANGED', details: { key: object.key } },
    );
  }
}

async function get(location: S3Location, object: PinnedObject, range: string | undefined) {
  const output = await location.client.send(
    new GetObjectCommand({
      Bucket: location.bucket,
      Key: object.key,
      ...(object.etag ? { IfMatch: object.etag } : {}),
      ...(range ? { Range: range } : {}),
    }),
    location.signal ? { abortSignal: location.signal } : {},
  );
  checkEtag(location, object, output);
  return output;
}

/** A {@link RandomAccessReader} over one pinned object; each `read` is one ranged GET. */
export function createS3RangeReader(location: S3Location, object: PinnedObject): RandomAccessReader {
  return {
    size: object.size,
    async read(offset, length) {
      const end = Math.min(object.size, offset + length) - 1;
      if (length <= 0 || end < offset) return new Uint8Array(0);
      return withS3Retry(callContext(location, object), location, async () => {
        const output = await get(location, object, `bytes=${offset}-${end}`);
        const bytes = await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
        if (bytes.byteLength !== end - offset + 1) {
          throw new TransientError(
            `S3 connection "${location.connection}": short read of s3://${location.bucket}/${object.key} (${bytes.byteLength} of ${end - offset + 1} bytes at ${offset}).`,
          );
        }
        return bytes;
      });
    },
  };
}

/**
 * Streams one pinned object as byte chunks. Breaking out of the loop, an abort or an error
 * destroys the HTTP response. Transient failures (also mid-body) resume from the last
 * byte delivered, up to `location.retries` times in a row.
 */
export async function* streamS3Object(location: S3Location, object: PinnedObject): AsyncGenerator<Uint8Array> {
  let delivered = 0;
  let failures = 0;
  while (delivered < object.size) {
    throwIfAborted(location.signal);
    let body: Readable | undefined;
    try {
      const range = delivered > 0 ? `bytes=${delivered}-` : undefined;
      const output = await get(location, object, range);
      body = output.Body as Readable;
      for await (const chunk of body) {
        const bytes = chunk as Uint8Array;
        delivered += bytes.byteLength;
        failures = 0;
        yield bytes;
      }
      if (delivered !== object.size) {
        throw new TransientError(
          `S3 connection "${location.connection}": s3://${location.bucket}/${object.key} ended after ${delivered} of ${object.size} bytes.`,
        );
      }
    } catch (error) {
      throwIfAborted(location.signal);
      const mapped = toS3Error(error, callContext(location, object));
      failures += 1;
      if (mapped.code !== 'TRANSIENT' || failures >= location.retries || location.signal?.aborted) throw mapped;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** (failures - 1))));
    } finally {
      body?.destroy();
    }
  }
}

/**
 * The bytes of one pinned object for core's format codecs: `blob()` is random access by
 * ranged GETs (Parquet reads the footer, then only the column chunks it decodes), `stream()`
 * one streamed GET that resumes after transient failures. Every request carries the pinned
 * ETag, so a replaced object fails the read with `SOURCE_CHANGED` instead of mixing versions.
 */
export function s3ByteInput(location: S3Location, object: PinnedObject): ByteInput {
  return {
    name: `s3://${location.bucket}/${object.key}`,
    size: object.size,
    blob: () => new RandomAccessBlob(createS3RangeReader(location, object)),
    stream: () => streamS3Object(location, object),
  };
}

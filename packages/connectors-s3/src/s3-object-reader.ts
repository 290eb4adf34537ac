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

/** The most a read-ahead fetches beyond what was asked for. */
const READ_AHEAD_MAX_BYTES = 16 * 1024 * 1024;
/** Reads smaller than this (footers, indexes) start no read-ahead. */
const READ_AHEAD_MIN_BYTES = 256 * 1024;

function fetchRange(location: S3Location, object: PinnedObject, offset: number, end: number): Promise<Uint8Array> {
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
}

/**
 * A {@link RandomAccessReader} over one pinned object; each `read` is a ranged GET.
 *
 * Read-ahead: Parquet reads its footer (at the tail) first, then the row groups front to
 * back, one range each, decoding one before asking for the next. After a data read of at
 * least 256 KiB, the range that follows it (an eighth longer than the read, at most 16 MiB,
 * never into the footer) is fetched at once, so the next row group is on its way while this
 * one is decoded. A read the read-ahead covers is served from it (the rest, if the next row
 * group is larger still, with one more GET); a read elsewhere cancels it. Memory: one extra
 * range.
 */
export function createS3RangeReader(location: S3Location, object: PinnedObject): RandomAccessReader {
  // Where the tail reads (footer, indexes) begin: read-ahead stops there.
  let tailStart = object.size;
  let sawData = false;
  let ahead: { offset: number; end: number; bytes: Promise<Uint8Array>; cancel: AbortController } | undefined;

  /**
   * Fetches `[from, from + length × 9/8)` (clipped): row groups differ in size a little,
   * and a margin lets the next one usually come from this one request. `carry` is what the
   * previous read-ahead fetched beyond the read it served: it is kept, not fetched again.
   */
  const startReadAhead = (from: number, length: number, carry?: Uint8Array) => {
    const end = Math.min(tailStart, from + Math.min(length + (length >> 3), READ_AHEAD_MAX_BYTES)) - 1;
    if (end < from) return;
    const kept = carry && carry.byteLength <= end - from + 1 ? carry : undefined;
    const start = from + (kept?.byteLength ?? 0);
    const cancel = new AbortController();
    const signal = location.signal ? AbortSignal.any([location.signal, cancel.signal]) : cancel.signal;
    let bytes: Promise<Uint8Array>;
    if (start > end) {
      bytes = Promise.resolve(kept as Uint8Array);
    } else {
      const fetched = fetchRange({ ...location, signal }, object, start, end);
      bytes = kept
        ? fetched.then((rest) => {
            const joined = new Uint8Array(kept.byteLength + rest.byteLength);
            joined.set(kept, 0);
            joined.set(rest, kept.byteLength);
            return joined;
          })
        : fetched;
    }
    // Consumed (and its failure handled) only if the next read wants it.
    bytes.catch(() => undefined);
    ahead = { offset: from, end, bytes, cancel };
  };

  return {
    size: object.size,
    async read(offset, length) {
      const end = Math.min(object.size, offset + length) - 1;
      if (length <= 0 || end < offset) return new Uint8Array(0);
      if (!sawData && end + 1 >= tailStart) {
        // Still reading the tail, from the end backwards: the footer and what it points at.
        tailStart = Math.min(tailStart, offset);
        return fetchRange(location, object, offset, end);
      }
      sawData = true;
      const hit = ahead && offset >= ahead.offset && offset <= ahead.end ? ahead : undefined;
      if (!hit) ahead?.cancel.abort();
      ahead = undefined;
      let bytes: Uint8Array;
      let carry: Uint8Array | undefined;
      if (hit) {
        const head = await hit.bytes.catch(() => undefined);
        if (!head) {
          // A failed read-ahead is retried as an ordinary read, with its own retries and errors.
          bytes = await fetchRange(location, object, offset, end);
        } else if (end <= hit.end) {
          bytes = head.subarray(offset - hit.offset, end - hit.offset + 1);
          if (end < hit.end) carry = head.subarray(end + 1 - hit.offset);
        } else {
          const rest = await fetchRange(location, object, hit.end + 1, end);
          bytes = new Uint8Array(end - offset + 1);
          bytes.set(head.subarray(offset - hit.offset), 0);
          bytes.set(rest, hit.end + 1 - offset);
        }
      } else {
        bytes = await fetchRange(location, object, offset, end);
      }
      if (end - offset + 1 >= READ_AHEAD_MIN_BYTES && !location.signal?.aborted) {
        startReadAhead(end + 1, end - offset + 1, carry);
      }
      return bytes;
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

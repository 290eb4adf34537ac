/**
 * Writes one object as a streaming multipart upload. Bytes are cut into parts of
 * `partSizeBytes`; up to `uploadConcurrency` parts upload at once (p-limit) and `write()`
 * waits when that many are in flight, so memory stays near
 * `partSizeBytes × (uploadConcurrency + 1)` whatever the object's size. A part is the
 * encoder's own chunks, held by reference (a written chunk must not be modified afterwards)
 * and sent as one stream, never copied into a part-sized buffer. An object smaller than one
 * part is sent as a single PutObject. Each part is retried on transient failures;
 * `abort()` (or any failure) aborts the multipart upload so no invisible parts are billed.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { HonkError } from '@honk/core';
import pLimit from 'p-limit';
import { type S3CallContext, withS3Retry } from './s3-errors.ts';
import type { S3Location } from './s3-listing.ts';

/** A finished object. */
export interface WrittenObject {
  key: string;
  size: number;
  etag: string;
  /** Hex SHA-256 of the content, computed while streaming. */
  sha256: string;
}

export interface S3ObjectWriter {
  readonly key: string;
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /** Resolves when the chunk is buffered; waits while `uploadConcurrency` parts are in flight. */
  write(chunk: Uint8Array): Promise<void>;
  /** Uploads the rest and completes the object. */
  finish(): Promise<WrittenObject>;
  /** Drops everything uploaded for this object. Safe to call twice. */
  abort(): Promise<void>;
}

export interface S3ObjectWriterOptions {
  partSizeBytes: number;
  uploadConcurrency: number;
  contentType?: string;
}

/** The bytes of one part (or of a single PutObject): views of the encoder's chunks, in order. */
interface PartBody {
  chunks: Uint8Array[];
  byteLength: number;
}

/**
 * A request body for one try. One chunk goes as it is; several go as a fresh stream over
 * the same views (built per try, so a retried part replays from its first byte) instead of
 * being concatenated into a new buffer.
 */
function bodyOf(body: PartBody): Uint8Array | Readable {
  if (body.chunks.length === 1) return body.chunks[0] as Uint8Array;
  if (body.chunks.length === 0) return new Uint8Array(0);
  return Readable.from(body.chunks, { objectMode: false });
}

export function createS3ObjectWriter(
  location: S3Location,
  key: string,
  options: S3ObjectWriterOptions,
): S3ObjectWriter {
  const limit = pLimit(options.uploadConcurrency);
  const hash = createHash('sha256');
  const inFlight = new Set<Promise<void>>();
  const parts: { PartNumber: number; ETag: string }[] = [];
  let buffered: Uint8Array[] = [];
  let bufferedBytes = 0;
  let total = 0;
  let uploadId: string | undefined;
  let creating: Promise<string> | undefined;
  let nextPart = 1;
  let failure: unknown;
  let state: 'open' | 'finished' | 'aborted' = 'open';
  const sendOptions = location.signal ? { abortSignal: location.signal } : {};

  const ctx = (operation: string): S3CallContext => ({
    connection: location.connection,
    bucket: location.bucket,
    operation,
    key,
  });

  /**
   * Detaches the first `bytes` buffered bytes as a list of views: whole chunks move over by
   * reference and a chunk that straddles the boundary is split with `subarray`, so no byte
   * is copied between the encoder's output and the socket.
   */
  function take(bytes: number): PartBody {
    const chunks: Uint8Array[] = [];
    let taken = 0;
    while (taken < bytes) {
      const head = buffered[0] as Uint8Array;
      const need = bytes - taken;
      if (head.byteLength <= need) {
        chunks.push(head);
        taken += head.byteLength;
        buffered.shift();
      } else {
        chunks.push(head.subarray(0, need));
        buffered[0] = head.subarray(need);
        taken += need;
      }
    }
    bufferedBytes -= bytes;
    return { chunks, byteLength: bytes };
  }

  /**
   * Starts the multipart upload once; every part awaits the same promise, so parallel parts
   * never race to create it and the encoder never waits for it (the first part's request
   * follows CreateMultipartUpload while encoding goes on).
   */
  function ensureUpload(): Promise<string> {
    creating ??= createUpload();
    return creating;
  }

  async function createUpload(): Promise<string> {
    const created = await withS3Retry(ctx('CreateMultipartUpload'), location, () =>
      location.client.send(
        new CreateMultipartUploadCommand({
          Bucket: location.bucket,
          Key: key,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
        }),
        sendOptions,
      ),
    );
    if (!created.UploadId)
      throw new HonkError('INTERNAL', `S3 returned no UploadId for s3://${location.bucket}/${key}.`);
    uploadId = created.UploadId;
    return uploadId;
  }

  function schedule(body: PartBody): void {
    const partNumber = nextPart;
    nextPart += 1;
    const task = limit(async () => {
      const id = await ensureUpload();
      const result = await withS3Retry(ctx('UploadPart'), location, () =>
        location.client.send(
          new UploadPartCommand({
            Bucket: location.bucket,
            Key: key,
            UploadId: id,
            PartNumber: partNumber,
            Body: bodyOf(body),
            ContentLength: body.byteLength,
          }),
          sendOptions,
        ),
      );
      parts.push({ PartNumber: partNumber, ETag: result.ETag ?? '' });
    }).catch((error: unknown) => {
      failure ??= error;
    });
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  function checkOpen(): void {
    if (failure) throw failure;
    if (state !== 'open') {
      throw new HonkError('CONNECTOR_MISUSE', `S3 object writer for s3://${location.bucket}/${key} is ${state}.`);
    }
  }

  return {
    key,
    get bytesWritten() {
      return total;
    },
    async write(chunk) {
      checkOpen();
      if (chunk.byteLength === 0) return;
      hash.update(chunk);
      total += chunk.byteLength;
      buffered.push(chunk);
      bufferedBytes += chunk.byteLength;
      while (bufferedBytes >= options.partSizeBytes) {
        schedule(take(options.partSizeBytes));
        while (inFlight.size >= options.uploadConcurrency) await Promise.race(inFlight);
        checkOpen();
      }
    },
    async finish() {
      checkOpen();
      try {
        if (!creating) {
          const body = take(bufferedBytes);
          const put = await withS3Retry(ctx('PutObject'), location, () =>
            location.client.send(
              new PutObjectCommand({
                Bucket: location.bucket,
                Key: key,
                Body: bodyOf(body),
                ContentLength: body.byteLength,
                ...(options.contentType ? { ContentType: options.contentType } : {}),
              }),
              sendOptions,
            ),
          );
          state = 'finished';
          return { key, size: total, etag: put.ETag ?? '', sha256: hash.digest('hex') };
        }
        if (bufferedBytes > 0) schedule(take(bufferedBytes));
        await Promise.all(inFlight);
        if (failure) throw failure;
        const id = await creating;
        parts.sort((a, b) => a.PartNumber - b.PartNumber);
        const done = await withS3Retry(ctx('CompleteMultipartUpload'), location, () =>
          location.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: location.bucket,
              Key: key,
              UploadId: id,
              MultipartUpload: { Parts: parts },
            }),
            sendOptions,
          ),
        );
        state = 'finished';
        return { key, size: total, etag: done.ETag ?? '', sha256: hash.digest('hex') };
      } catch (error) {
        await this.abort();
        throw error;
      }
    },
    async abort() {
      if (state === 'aborted') return;
      const wasFinished = state === 'finished';
      state = 'aborted';
      buffered = [];
      bufferedBytes = 0;
      await Promise.allSettled(inFlight);
      await creating?.catch(() => undefined);
      if (uploadId && !wasFinished) {
        const id = uploadId;
        // Best effort, without the task's signal: cleanup must run also after an abort.
        await withS3Retry(ctx('AbortMultipartUpload'), { ...location, signal: undefined }, () =>
          location.client.send(new AbortMultipartUploadCommand({ Bucket: location.bucket, Key: key, UploadId: id })),
        ).catch(() => undefined);
      }
    },
  };
}

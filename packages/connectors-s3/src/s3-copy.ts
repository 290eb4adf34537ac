/**
 * Server-side copies and deletes. Objects up to 5 GiB are copied with one CopyObject; larger
 * ones (CopyObject's limit) with a multipart upload of UploadPartCopy ranges. Neither s3rver
 * nor fauxqs implements UploadPartCopy, so that branch is exercised only against real S3.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { HonkError } from '@honk/core';
import pLimit from 'p-limit';
import { withS3Retry } from './s3-errors.ts';
import { listPinned, type S3Location } from './s3-listing.ts';

const GiB = 1024 ** 3;
/** CopyObject handles objects up to this size. */
export const COPY_OBJECT_LIMIT = 5 * GiB;
/** Range per UploadPartCopy for large objects. */
const COPY_PART_BYTES = 512 * 1024 ** 2;

/** `bucket/key[?versionId=…]`, URL-encoded as CopySource requires (slashes kept). */
function copySource(bucket: string, key: string, versionId?: string): string {
  const encoded = encodeURIComponent(key).replace(/%2F/g, '/');
  return `${bucket}/${encoded}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ''}`;
}

export interface CopyRequest {
  from: string;
  to: string;
  size: number;
  /** Copy this version of `from` (versioned buckets). */
  versionId?: string;
}

/** Copies one object server-side; the data never passes through this process. */
export async function copyObject(location: S3Location, request: CopyRequest, concurrency = 4): Promise<void> {
  const ctx = { connection: location.connection, bucket: location.bucket, key: request.to };
  const sendOptions = location.signal ? { abortSignal: location.signal } : {};
  const source = copySource(location.bucket, request.from, request.versionId);
  if (request.size <= COPY_OBJECT_LIMIT) {
    await withS3Retry({ ...ctx, operation: 'CopyObject' }, location, () =>
      location.client.send(
        new CopyObjectCommand({ Bucket: location.bucket, Key: request.to, CopySource: source }),
        sendOptions,
      ),
    );
    return;
  }
  const created = await withS3Retry({ ...ctx, operation: 'CreateMultipartUpload' }, location, () =>
    location.client.send(new CreateMultipartUploadCommand({ Bucket: location.bucket, Key: request.to }), sendOptions),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new HonkError('INTERNAL', `S3 returned no UploadId for s3://${location.bucket}/${request.to}.`);
  const limit = pLimit(concurrency);
  const count = Math.ceil(request.size / COPY_PART_BYTES);
  try {
    const parts = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        limit(async () => {
          const start = index * COPY_PART_BYTES;
          const end = Math.min(request.size, start + COPY_PART_BYTES) - 1;
          const result = await withS3Retry({ ...ctx, operation: 'UploadPartCopy' }, location, () =>
            location.client.send(
              new UploadPartCopyCommand({
                Bucket: location.bucket,
                Key: request.to,
                UploadId: uploadId,
                PartNumber: index + 1,
                CopySource: source,
                CopySourceRange: `bytes=${start}-${end}`,
              }),
              sendOptions,
            ),
          );
          return { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag ?? '' };
        }),
      ),
    );
    await withS3Retry({ ...ctx, operation: 'CompleteMultipartUpload' }, location, () =>
      location.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: location.bucket,
          Key: request.to,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
        sendOptions,
      ),
    );
  } catch (error) {
    await location.client
      .send(new AbortMultipartUploadCommand({ Bucket: location.bucket, Key: request.to, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}

/** Copies many objects, `concurrency` at a time. */
export async function copyObjects(
  location: S3Location,
  requests: readonly CopyRequest[],
  concurrency: number,
): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(requests.map((request) => limit(() => copyObject(location, request, concurrency))));
}

/**
 * Deletes keys one DeleteObject each (`concurrency` at a time). DeleteObjects would batch
 * 1000, but it requires a Content-MD5/checksum header that some S3-compatibles reject in
 * combination with `checksums: 'when-required'`; deletes are few per publish.
 */
export async function deleteKeys(location: S3Location, keys: readonly string[], concurrency: number): Promise<void> {
  const limit = pLimit(concurrency);
  await Promise.all(
    keys.map((key) =>
      limit(() =>
        withS3Retry(
          { connection: location.connection, bucket: location.bucket, operation: 'DeleteObject', key },
          location,
          () =>
            location.client.send(
              new DeleteObjectCommand({ Bucket: location.bucket, Key: key }),
              location.signal ? { abortSignal: location.signal } : {},
            ),
        ),
      ),
    ),
  );
}

/** Removes everything under a prefix (a task's staging area, a chunk plan, a snapshot). */
export async function deletePrefix(location: S3Location, prefix: string, concurrency: number): Promise<void> {
  const objects = await listPinned(location, prefix);
  await deleteKeys(
    location,
    objects.map((object) => object.key),
    concurrency,
  );
}

/**
 * Listing with pagination and ETag pinning. What a read will see is fixed here: each object
 * is recorded with its size and ETag, and every later GET sends `If-Match` with that ETag
 * (and checks the ETag of the response, for servers that ignore the header), so an object
 * replaced mid-read fails the attempt as `SOURCE_CHANGED` instead of mixing versions.
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError } from '@honk/core';
import { type S3CallContext, withS3Retry } from './s3-errors.ts';

/** One object as it was when listed. */
export interface PinnedObject {
  key: string;
  size: number;
  /** Quoted, as S3 returns it, e.g. `"9b2cf535f27731c974343645a3985328"`. */
  etag: string;
}

/** What the listing helpers need besides the client. */
export interface S3Location {
  client: S3Client;
  bucket: string;
  connection: string;
  retries: number;
  signal?: AbortSignal;
}

function context(location: S3Location, operation: string, key?: string): S3CallContext {
  return { connection: location.connection, bucket: location.bucket, operation, ...(key ? { key } : {}) };
}

/**
 * Converts a glob to a RegExp over keys relative to the prefix: `**` crosses `/`, `*` and
 * `?` do not; everything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index] as string;
    if (char === '*') {
      if (glob[index + 1] === '*') {
        index += 1;
        // `**/` also matches zero directories.
        if (glob[index + 1] === '/') {
          index += 1;
          source += '(?:.*/)?';
        } else source += '.*';
      } else source += '[^/]*';
    } else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Every object under `prefix` (ListObjectsV2, all pages), optionally filtered by a glob
 * relative to the prefix, sorted by key. Zero-byte "directory marker" keys ending in `/`
 * are skipped.
 */
export async function listPinned(
  location: S3Location,
  prefix: string,
  filter?: (relativeKey: string) => boolean,
): Promise<PinnedObject[]> {
  const out: PinnedObject[] = [];
  let token: string | undefined;
  do {
    const page = await withS3Retry(context(location, 'ListObjectsV2', prefix), location, () =>
      location.client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        location.signal ? { abortSignal: location.signal } : {},
      ),
    );
    for (const item of page.Contents ?? []) {
      if (!item.Key || item.Key.endsWith('/')) continue;
      if (filter && !filter(item.Key.slice(prefix.length))) continue;
      out.push({ key: item.Key, size: Number(item.Size ?? 0), etag: item.ETag ?? '' });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

/** HEAD one object and pin it. Throws NotFoundError when it does not exist. */
export async function headPinned(location: S3Location, key: string): Promise<PinnedObject> {
  const head = await withS3Retry(context(location, 'HeadObject', key), location, () =>
    location.client.send(
      new HeadObjectCommand({ Bucket: location.bucket, Key: key }),
      location.signal ? { abortSignal: location.signal } : {},
    ),
  );
  return { key, size: Number(head.ContentLength ?? 0), etag: head.ETag ?? '' };
}

/** HEAD that answers `undefined` instead of throwing when the object is missing. */
export async function headIfExists(location: S3Location, key: string): Promise<PinnedObject | undefined> {
  try {
    return await headPinned(location, key);
  } catch (error) {
    if (error instanceof NotFoundError && error.details.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
}

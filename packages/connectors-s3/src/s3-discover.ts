/**
 * Discovery for the `s3` connector: the datasets under a key prefix, from listings only (no
 * object is read).
 *
 * Like the file connector: a dataset is a single object of a known format (by its extension)
 * or a dataset prefix, one whose objects are data files of one format directly under it with
 * no deeper keys (what a source with `prefix:` reads as one dataset). Other prefixes are
 * walked into, one delimited listing per prefix. Hidden names (`.…`, `_…`: `_SUCCESS`,
 * Spark's `_temporary/`) and the connection's `workPrefix` (staging, snapshots) are skipped.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DatasetInfo, type DiscoverScope, formatOfExtension, NotFoundError, throwIfAborted } from '@honk/core';
import { withS3Retry } from './s3-errors.ts';
import { normalisePrefix, type S3ConnectionOptions } from './s3-options.ts';

interface Listing {
  objects: Array<{ key: string; size: number; modified: Date | undefined }>;
  prefixes: string[];
}

interface Walk {
  client: S3Client;
  options: S3ConnectionOptions;
  connection: string;
  found: DatasetInfo[];
  limit: number;
  signal: AbortSignal | undefined;
}

async function listLevel(walk: Walk, prefix: string): Promise<Listing> {
  const listing: Listing = { objects: [], prefixes: [] };
  let token: string | undefined;
  do {
    throwIfAborted(walk.signal);
    const page = await withS3Retry(
      { connection: walk.connection, bucket: walk.options.bucket, operation: 'ListObjectsV2', key: prefix },
      { retries: walk.options.retries, ...(walk.signal ? { signal: walk.signal } : {}) },
      () =>
        walk.client.send(
          new ListObjectsV2Command({
            Bucket: walk.options.bucket,
            Prefix: prefix,
            Delimiter: '/',
            ...(token ? { ContinuationToken: token } : {}),
          }),
          walk.signal ? { abortSignal: walk.signal } : {},
        ),
    );
    for (const item of page.Contents ?? []) {
      if (item.Key && item.Key !== prefix) {
        listing.objects.push({ key: item.Key, size: Number(item.Size ?? 0), modified: item.LastModified });
      }
    }
    for (const common of page.CommonPrefixes ?? []) if (common.Prefix) listing.prefixes.push(common.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  listing.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  listing.prefixes.sort();
  return listing;
}

const hidden = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

async function walkPrefix(walk: Walk, prefix: string, isStart: boolean, listed?: Listing): Promise<void> {
  const listing = listed ?? (await listLevel(walk, prefix));
  const work = normalisePrefix(walk.options.workPrefix);
  const folders = listing.prefixes.filter((sub) => !hidden(sub.slice(prefix.length)) && (work === '' || sub !== work));
  const visible = listing.objects.filter((object) => !hidden(object.key.slice(prefix.length)));
  const files = visible.flatMap((object) => {
    const format = formatOfExtension(object.key);
    return format === undefined ? [] : [{ ...object, format }];
  });
  const formats = new Set(files.map((file) => file.format));
  if (!isStart && files.length > 0 && files.length === visible.length && folders.length === 0 && formats.size === 1) {
    const modified = files.flatMap((file) => (file.modified ? [file.modified.getTime()] : []));
    walk.found.push({
      name: prefix,
      kind: 'prefix',
      endpoint: { prefix, format: files[0]!.format },
      bytes: files.reduce((sum, file) => sum + file.size, 0),
      ...(modified.length > 0 ? { modifiedAt: new Date(Math.max(...modified)).toISOString() } : {}),
    });
    return;
  }
  for (const file of files) {
    if (walk.found.length >= walk.limit) return;
    walk.found.push({
      name: file.key,
      kind: 'object',
      endpoint: { key: file.key, format: file.format },
      bytes: file.size,
      ...(file.modified ? { modifiedAt: file.modified.toISOString() } : {}),
    });
  }
  for (const folder of folders) {
    if (walk.found.length >= walk.limit) return;
    await walkPrefix(walk, folder, false);
  }
}

/** The datasets under `scope.within` (a key prefix; default the bucket root). */
export async function discoverS3(
  client: S3Client,
  options: S3ConnectionOptions,
  scope: DiscoverScope,
  connection: string,
): Promise<DatasetInfo[]> {
  const start = normalisePrefix(scope.within);
  const walk: Walk = {
    client,
    options,
    connection,
    found: [],
    limit: scope.limit ?? Number.POSITIVE_INFINITY,
    signal: scope.signal,
  };
  const listing = await listLevel(walk, start);
  if (start !== '' && listing.objects.length === 0 && listing.prefixes.length === 0) {
    throw new NotFoundError(
      `S3 connection "${connection}": nothing is stored under s3://${options.bucket}/${start}. Check \`within\` (a key prefix, case-sensitive).`,
      { details: { option: 'within', bucket: options.bucket, prefix: start } },
    );
  }
  await walkPrefix(walk, start, true, listing);
  return walk.found;
}

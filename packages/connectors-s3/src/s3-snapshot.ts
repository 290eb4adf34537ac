/**
 * Snapshots of an S3 target, so a failed or unwanted publish can be rolled back.
 *
 * Unversioned buckets (the default, and every local test server): `take()` copies the
 * current version's objects server-side under `<workPrefix>snapshots/<task>/<id>/` (objects
 * over 5 GiB with UploadPartCopy); `restore()` publishes them back with the same protocol as
 * a normal publish (copy → manifest → delete stale); `discard()` deletes the copies.
 *
 * Versioned buckets (`GetBucketVersioning` says `Enabled`): nothing is copied. `take()`
 * records the version id of each object, `restore()` copies those versions back into
 * place, `discard()` has nothing to delete (old versions expire by the bucket's lifecycle
 * rules). Neither s3rver nor fauxqs implements versioning, so this branch is exercised only
 * against real S3.
 */
import { randomUUID } from 'node:crypto';
import { GetBucketVersioningCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, type Snapshot, type SnapshotRef } from '@honk/core';
import { copyObject, copyObjects, deletePrefix } from './s3-copy.ts';
import { withS3Retry } from './s3-errors.ts';
import { headIfExists, type S3Location } from './s3-listing.ts';
import { MANIFEST_NAME, readManifest, s3ManifestSchema } from './s3-manifest.ts';
import { normalisePrefix, type S3ConnectionOptions, type S3EndpointOptions } from './s3-options.ts';
import { publishDataset } from './s3-publish.ts';

export interface S3SnapshotArgs {
  client: S3Client;
  options: S3ConnectionOptions;
  endpoint: S3EndpointOptions;
  connection: string;
  taskId: string;
}

/** The JSON stored on the task record. */
interface S3SnapshotData {
  bucket: string;
  /** `prefix` datasets keep their manifest; `key` targets are one object. */
  target: { prefix: string } | { key: string };
  /** Where the copies are (unversioned buckets). */
  snapshotPrefix?: string;
  /** Object key (relative to the target prefix, or the key) → version id (versioned buckets). */
  versions?: Record<string, string>;
  /** Relative key → size. */
  sizes: Record<string, number>;
}

async function isVersioned(location: S3Location): Promise<boolean> {
  try {
    const answer = await withS3Retry(
      { connection: location.connection, bucket: location.bucket, operation: 'GetBucketVersioning' },
      location,
      () => location.client.send(new GetBucketVersioningCommand({ Bucket: location.bucket })),
    );
    return answer.Status === 'Enabled';
  } catch {
    // S3-compatibles without versioning support answer NotImplemented: treat as unversioned.
    return false;
  }
}

async function versionOf(location: S3Location, key: string): Promise<string | undefined> {
  const head = await withS3Retry(
    { connection: location.connection, bucket: location.bucket, operation: 'HeadObject', key },
    location,
    () => location.client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: key })),
  );
  return head.VersionId ?? undefined;
}

export function createS3Snapshot(args: S3SnapshotArgs): Snapshot {
  const { options, endpoint } = args;
  const location: S3Location = {
    client: args.client,
    bucket: options.bucket,
    connection: args.connection,
    retries: options.retries,
  };
  const prefix = endpoint.prefix !== undefined ? normalisePrefix(endpoint.prefix) : undefined;
  const concurrency = options.uploadConcurrency;

  const dataOf = (ref: SnapshotRef): S3SnapshotData => ref as unknown as S3SnapshotData;

  return {
    async take() {
      const sizes: Record<string, number> = {};
      if (prefix !== undefined) {
        const current = await readManifest(location, `${prefix}${MANIFEST_NAME}`);
        if (!current) return null;
        for (const file of current.manifest.files) sizes[file.key] = file.size;
        sizes[MANIFEST_NAME] = (await headIfExists(location, `${prefix}${MANIFEST_NAME}`))?.size ?? 0;
      } else {
        const object = await headIfExists(location, endpoint.key as string);
        if (!object) return null;
        sizes[endpoint.key as string] = object.size;
      }
      const absolute = (relative: string) => (prefix !== undefined ? `${prefix}${relative}` : relative);
      const data: S3SnapshotData = {
        bucket: options.bucket,
        target: prefix !== undefined ? { prefix } : { key: endpoint.key as string },
        sizes,
      };
      if (await isVersioned(location)) {
        data.versions = {};
        for (const relative of Object.keys(sizes)) {
          const version = await versionOf(location, absolute(relative));
          if (version) data.versions[relative] = version;
        }
      } else {
        const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
        data.snapshotPrefix = `${normalisePrefix(options.workPrefix)}snapshots/${encodeURIComponent(args.taskId)}/${id}/`;
        await copyObjects(
          location,
          Object.entries(sizes).map(([relative, size]) => ({
            from: absolute(relative),
            to: `${data.snapshotPrefix}${encodeURIComponent(relative)}`,
            size,
          })),
          concurrency,
        );
      }
      return { connector: 's3', takenAt: new Date().toISOString(), ...(data as unknown as Record<string, never>) };
    },

    async restore(ref) {
      const data = dataOf(ref);
      const sourceOf = (relative: string) =>
        data.versions
          ? {
              key: 'prefix' in data.target ? `${data.target.prefix}${relative}` : data.target.key,
              versionId: data.versions[relative] as string,
            }
          : { key: `${data.snapshotPrefix}${encodeURIComponent(relative)}` };
      // A discarded (or never completed) snapshot must fail loudly, not restore half a dataset.
      for (const relative of Object.keys(data.sizes)) {
        const source = sourceOf(relative);
        if (!source.versionId && !(await headIfExists(location, source.key))) {
          throw new NotFoundError(
            `S3 connection "${args.connection}": snapshot object s3://${data.bucket}/${source.key} is missing; the snapshot was discarded or is incomplete and cannot be restored.`,
          );
        }
      }
      if ('prefix' in data.target) {
        const manifestSource = sourceOf(MANIFEST_NAME);
        const saved = await readManifest(location, manifestSource.key, undefined, manifestSource.versionId);
        if (!saved) throw new NotFoundError(`S3 connection "${args.connection}": the snapshot's manifest is missing.`);
        const manifest = s3ManifestSchema.parse(saved.manifest);
        await publishDataset(location, { prefix: data.target.prefix, manifest, sourceOf, concurrency });
      } else {
        const source = sourceOf(data.target.key);
        await copyObject(location, {
          from: source.key,
          to: data.target.key,
          size: data.sizes[data.target.key] ?? 0,
          ...(source.versionId ? { versionId: source.versionId } : {}),
        });
      }
    },

    async discard(ref) {
      const data = dataOf(ref);
      if (data.snapshotPrefix) await deletePrefix(location, data.snapshotPrefix, concurrency);
    },
  };
}

/**
 * `_honk_manifest.json`: the commit point of a dataset under a prefix. It lists the part
 * files of one version (relative keys, sizes, row counts, SHA-256 of each) and a checksum
 * over that list. Honk's readers read exactly the files it lists; writing it (one
 * PutObject, atomic in S3) is what makes a new version visible to them.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HonkError, NotFoundError } from '@honk/core';
import { z } from 'zod';
import { withS3Retry } from './s3-errors.ts';
import type { S3Location } from './s3-listing.ts';
import { s3FormatSchema } from './s3-options.ts';

export const MANIFEST_NAME = '_honk_manifest.json';

const manifestFileSchema = z.object({
  /** Key relative to the dataset prefix, e.g. `part-00000-1a2b3c4d5e6f7a8b.parquet`. */
  key: z.string().min(1),
  size: z.number().int().min(0),
  rows: z.number().int().min(0),
  /** Hex SHA-256 of the object's bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const s3ManifestSchema = z.object({
  honkManifest: z.literal(1),
  /** 16 hex digits derived from the content: the same data always gives the same version. */
  version: z.string().regex(/^[0-9a-f]{16}$/),
  format: s3FormatSchema,
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** Hex SHA-256 over the file list (keys, sizes, rows, SHA-256s). */
  checksum: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(manifestFileSchema),
});

export type S3Manifest = z.infer<typeof s3ManifestSchema>;
export type S3ManifestFile = z.infer<typeof manifestFileSchema>;

/** A staged part before it has its published name. */
export interface StagedPart {
  /** Zero-based part index. */
  index: number;
  size: number;
  rows: number;
  sha256: string;
}

/** Published name of a part: the version in the name keeps old and new versions apart during publish. */
export function partName(index: number, version: string, extension: string): string {
  return `part-${String(index).padStart(5, '0')}-${version}.${extension}`;
}

/** Matches names {@link partName} produces (used to clean up after crashed publishes). */
export const PART_NAME = /^part-\d{5,}-[0-9a-f]{16}\.[a-z]+$/;

/** Builds the manifest for staged parts. Deterministic: the same parts give byte-identical JSON. */
export function buildManifest(
  parts: readonly StagedPart[],
  format: S3Manifest['format'],
  extension: string,
): S3Manifest {
  const content = createHash('sha256');
  for (const part of parts) content.update(`${part.index}:${part.size}:${part.rows}:${part.sha256}\n`);
  const version = content.digest('hex').slice(0, 16);
  const files = parts.map((part) => ({
    key: partName(part.index, version, extension),
    size: part.size,
    rows: part.rows,
    sha256: part.sha256,
  }));
  const checksum = createHash('sha256');
  for (const file of files) checksum.update(`${file.key}:${file.size}:${file.rows}:${file.sha256}\n`);
  return {
    honkManifest: 1,
    version,
    format,
    rows: parts.reduce((sum, part) => sum + part.rows, 0),
    bytes: parts.reduce((sum, part) => sum + part.size, 0),
    checksum: checksum.digest('hex'),
    files,
  };
}

/** Reads and validates a manifest; `undefined` when there is none. `etag` pins the read. */
export async function readManifest(
  location: S3Location,
  key: string,
  etag?: string,
  versionId?: string,
): Promise<{ manifest: S3Manifest; etag: string } | undefined> {
  let text: string;
  let found: string;
  try {
    ({ text, found } = await withS3Retry(
      { connection: location.connection, bucket: location.bucket, operation: 'GetObject', key },
      location,
      async () => {
        const output = await location.client.send(
          new GetObjectCommand({
            Bucket: location.bucket,
            Key: key,
            ...(etag ? { IfMatch: etag } : {}),
            ...(versionId ? { VersionId: versionId } : {}),
          }),
          location.signal ? { abortSignal: location.signal } : {},
        );
        return {
          text: await (output.Body as { transformToString(): Promise<string> }).transformToString(),
          found: output.ETag ?? '',
        };
      },
    ));
  } catch (error) {
    if (error instanceof NotFoundError && error.details.s3Code !== 'NoSuchBucket') return undefined;
    throw error;
  }
  const parsed = s3ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new HonkError(
      'DATA_CORRUPT',
      `s3://${location.bucket}/${key} is not a valid Honk manifest: ${parsed.error.message}`,
    );
  }
  return { manifest: parsed.data, etag: found };
}

/** Writes a manifest in one PutObject: the commit point of a publish. */
export async function writeManifest(location: S3Location, key: string, manifest: S3Manifest): Promise<void> {
  const body = `${JSON.stringify(manifest, null, 2)}\n`;
  await withS3Retry(
    { connection: location.connection, bucket: location.bucket, operation: 'PutObject', key },
    location,
    () =>
      location.client.send(
        new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: body, ContentType: 'application/json' }),
        location.signal ? { abortSignal: location.signal } : {},
      ),
  );
}

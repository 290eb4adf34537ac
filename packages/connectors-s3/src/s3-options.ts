/**
 * Options of the S3 connector: the connection (`connections.<name>` in a spec) and the
 * endpoint (a task's `source:`/`target:` besides `connection`).
 *
 * Credentials are either absent (the AWS SDK's default provider chain: environment, shared
 * config/credentials files, SSO, container and instance metadata) or given explicitly,
 * as `${env:…}` references that the agent running the task resolves and registers as
 * secrets. They are marked secret options: never logged, put into messages or written to a
 * task store (`honk enqueue` refuses them written literally).
 */
import { csvOptionsSchema, formatOfExtension, parquetOptionsSchema, secretOption } from '@honk/core';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Explicit static credentials. Prefer the default provider chain outside tests. */
export const s3CredentialsSchema = z
  .object({
    accessKeyId: secretOption(z.string().min(1)),
    secretAccessKey: secretOption(z.string().min(1)),
    sessionToken: secretOption(z.string().min(1)).optional(),
  })
  .strict();

/**
 * Connection options.
 *
 * `checksums` controls the SDK's flexible checksums:
 * - `'sdk-default'` (default): the SDK computes CRC checksums on every upload and validates
 *   them on download, which is what real AWS S3 expects.
 * - `'when-required'`: checksums only where the operation requires them. Needed for S3
 *   implementations that do not understand the SDK's `aws-chunked` checksum trailers: with
 *   the defaults, s3rver 3.x stores a streamed upload with the chunk framing inside the
 *   object (corrupted). Set this for s3rver, older MinIO and similar; leave the default for AWS.
 */
export const s3ConnectionSchema = z
  .object({
    bucket: z.string().min(3),
    /** AWS region. Default: `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`. */
    region: z.string().min(1).optional(),
    /** Custom endpoint for S3-compatible services, e.g. `http://127.0.0.1:4568`. */
    endpoint: z.string().url().optional(),
    /** Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`. Default: true when `endpoint` is set. */
    forcePathStyle: z.boolean().optional(),
    credentials: s3CredentialsSchema.optional(),
    checksums: z.enum(['sdk-default', 'when-required']).default('sdk-default'),
    /** Multipart upload part size. Minimum 5 MiB (an S3 limit). Default 8 MiB. */
    partSizeBytes: z
      .number()
      .int()
      .min(5 * MiB)
      .max(5 * 1024 * MiB)
      .default(8 * MiB),
    /** Parts uploaded in parallel per object; memory use is about `partSizeBytes × (uploadConcurrency + 1)`. Default 4. */
    uploadConcurrency: z.number().int().min(1).max(64).default(4),
    /** The sink starts a new part file after this many bytes. Default 256 MiB. */
    partFileBytes: z
      .number()
      .int()
      .min(1)
      .default(256 * MiB),
    /** Key prefix for staging and snapshots, outside any dataset prefix. Default `_honk/`. */
    workPrefix: z.string().default('_honk/'),
    /** Attempts per request for transient failures (throttling, 5xx, timeouts, resets). Default 5. */
    retries: z.number().int().min(1).max(20).default(5),
    /** Socket timeout per request in milliseconds. Default 120 000. */
    requestTimeoutMs: z.number().int().min(1000).default(120_000),
  })
  .strict();

export type S3ConnectionInput = z.input<typeof s3ConnectionSchema>;
export type S3ConnectionOptions = z.output<typeof s3ConnectionSchema>;

/** Formats the connector reads and writes; the same set and names as the file connector. */
export const s3FormatSchema = z.enum(['parquet', 'csv', 'ndjson', 'arrow']);
export type S3Format = z.infer<typeof s3FormatSchema>;

/**
 * Where the data is: one object (`key`) or a set of part files under `prefix`, optionally
 * narrowed by `glob` (matched against the key relative to the prefix; `*` stays within a
 * path segment, `**` crosses segments, `?` is one character).
 *
 * Format options (`csv`, `parquet`, `schema`) are passed through to the format codecs
 * shared with the file connector and keep the file connector's shape.
 */
export const s3EndpointSchema = z
  .object({
    key: z.string().min(1).optional(),
    prefix: z.string().optional(),
    glob: z.string().min(1).optional(),
    /** Default: from the key's extension (`.csv.gz` is csv, gzip-compressed), else `parquet`. */
    format: s3FormatSchema.optional(),
    /** CSV settings, as on a file endpoint (`header`, `delimiter`, `quote`, `nullValue`). */
    csv: csvOptionsSchema.optional(),
    /** Parquet writer settings, as on a file endpoint (`compression`, `dictionary`, `rowGroupRows`). */
    parquet: parquetOptionsSchema.optional(),
    /** CSV/NDJSON: explicit column types by name (`int64`, `decimal(12,2)` …); others are inferred. */
    schema: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((value) => (value.key === undefined) !== (value.prefix === undefined), {
    message: 'Set exactly one of `key` (one object) or `prefix` (a set of part files).',
  })
  .refine((value) => value.glob === undefined || value.prefix !== undefined, {
    message: '`glob` needs `prefix`.',
    path: ['glob'],
  });

export type S3EndpointOptions = z.output<typeof s3EndpointSchema>;

/**
 * The format of an endpoint: explicit, else from the key's (or glob's) extension — looking
 * through `.gz`/`.zst`, so `orders.csv.gz` is CSV — else Parquet.
 */
export function formatOf(endpoint: Pick<S3EndpointOptions, 'format' | 'key' | 'glob'>): S3Format {
  if (endpoint.format) return endpoint.format;
  const name = endpoint.key ?? endpoint.glob ?? '';
  return formatOfExtension(name) ?? 'parquet';
}

/** File extension the sink uses for part files of a format. */
export function extensionOf(format: S3Format): string {
  return format === 'ndjson' ? 'ndjson' : format === 'arrow' ? 'arrow' : format;
}

/** Normalises a prefix to `''` or `a/b/` (no leading slash, one trailing slash). */
export function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

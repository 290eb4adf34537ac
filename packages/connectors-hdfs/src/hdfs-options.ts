/**
 * Options of the HDFS connector: the connection (`connections.<name>` in a spec) and the
 * endpoint (a task's `source:`/`target:` besides `connection`), which is the file
 * connector's endpoint with paths relative to the connection's `root`.
 *
 * Secrets (a delegation token) are usually `${env:…}` references the spec loader resolves
 * and registers as secrets; they are never logged or put into messages. Kerberos/SPNEGO
 * headers and a data-node URL rewrite are functions, so they are given in code to
 * {@link createHdfsConnector}, not in a spec.
 */
import { type FileEndpoint, fileEndpointSchema, formatOfExtension } from '@honk/core';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Connection options. */
export const hdfsConnectionSchema = z
  .object({
    /** The name node's WebHDFS base URL, e.g. `http://namenode:9870`. */
    url: z.string().url(),
    /** HA: every name node (`url` is tried first); a standby one is skipped. */
    namenodes: z.array(z.string().url()).min(1).optional(),
    /** `user.name` for simple authentication. */
    user: z.string().min(1).optional(),
    /** A delegation token (`delegation=`), usually `${env:HDFS_TOKEN}`. */
    delegationToken: z.string().min(1).optional(),
    /** The absolute HDFS directory every endpoint path resolves under. Default `/`. */
    root: z
      .string()
      .default('/')
      .refine((root) => root.startsWith('/'), { message: '`root` must be an absolute HDFS path, e.g. /data/lake.' }),
    /** Send this header on PUT/POST/DELETE, for clusters with WebHDFS CSRF protection (`X-XSRF-HEADER`). */
    csrfHeader: z.string().min(1).optional(),
    /** Tries per request for transient failures. Default 5. */
    retries: z.number().int().min(1).max(20).default(5),
    /** Timeout of a name-node request in milliseconds. Default 120 000. */
    requestTimeoutMs: z.number().int().min(1000).default(120_000),
    /** Directory targets roll to a new part file after this many bytes (an endpoint's `partFileBytes` wins). Default 256 MiB. */
    partFileBytes: z
      .number()
      .int()
      .min(1)
      .default(256 * MiB),
  })
  .strict();

export type HdfsConnectionInput = z.input<typeof hdfsConnectionSchema>;
export type HdfsConnectionOptions = z.output<typeof hdfsConnectionSchema>;

/** Endpoint options: exactly the file connector's (`path`, `format`, `csv`, `parquet`, `schema`, `partFileBytes`). */
export const hdfsEndpointSchema = fileEndpointSchema;
export type HdfsEndpointOptions = FileEndpoint;

export type HdfsFormat = NonNullable<FileEndpoint['format']>;

/** The format of an endpoint: explicit, else from the path's (or the first file's) extension, else Parquet. */
export function formatOf(endpoint: Pick<FileEndpoint, 'format' | 'path'>, firstFile?: string): HdfsFormat {
  return (
    endpoint.format ??
    formatOfExtension(endpoint.path.replace(/\/+$/, '')) ??
    (firstFile !== undefined ? formatOfExtension(firstFile) : undefined) ??
    'parquet'
  );
}

/** The extension part files of a format are written with (Arrow: the IPC stream format). */
export function extensionOf(format: HdfsFormat): string {
  return format === 'arrow' ? '.arrows' : `.${format}`;
}

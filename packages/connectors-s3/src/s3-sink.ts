/**
 * The S3 sink. A target is a `prefix` (a dataset of part files plus `_honk_manifest.json`)
 * or a single `key`.
 *
 * Writing: batches are encoded by the format's codec and streamed into part files under the
 * task's staging prefix (`<workPrefix>staging/<task>/part-00000.<ext>` …), each one a
 * streaming multipart upload; a new part starts after `partFileBytes` (a `key` target is
 * always one object). `stage()` finishes the last part and writes a staged manifest, so
 * the staged data reads back exactly as the published target will.
 *
 * Publishing a prefix follows {@link publishDataset} (copy into place → manifest →
 * delete stale). Publishing a key is one server-side CopyObject, which S3 applies
 * atomically. Staging names derive from the task id, so `open()` of a new attempt removes
 * the leftovers of a crashed one.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type ChunkedStaging,
  type ChunkedWriteOptions,
  ConfigError,
  codecFor,
  compressionExtensions,
  compressionFor,
  type FormatOptions,
  type Sink,
  type SinkWriter,
  type StagedTarget,
  type TargetDescription,
  type WriteOptions,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { S3ChunkedStaging } from './s3-chunked-staging.ts';
import { copyObject, deletePrefix } from './s3-copy.ts';

import { headIfExists, type S3Location } from './s3-listing.ts';
import { buildManifest, MANIFEST_NAME, writeManifest } from './s3-manifest.ts';
import {
  extensionOf,
  formatOf,
  normalisePrefix,
  type S3ConnectionOptions,
  type S3EndpointOptions,
} from './s3-options.ts';
import { S3PartWriter } from './s3-part-writer.ts';
import { publishDataset } from './s3-publish.ts';
import { createS3Source } from './s3-source.ts';

export interface S3SinkArgs {
  client: S3Client;
  options: S3ConnectionOptions;
  endpoint: S3EndpointOptions;
  connection: string;
  taskId: string;
  /** Destroy the client on `close()`. */
  ownsClient?: boolean;
}

/** The staging prefix of a task: deterministic, so a later attempt finds and removes leftovers. */
export function stagingPrefixOf(options: S3ConnectionOptions, taskId: string): string {
  return `${normalisePrefix(options.workPrefix)}staging/${encodeURIComponent(taskId)}/`;
}

export function createS3Sink(args: S3SinkArgs): Sink {
  const { options, endpoint } = args;
  const base: S3Location = {
    client: args.client,
    bucket: options.bucket,
    connection: args.connection,
    retries: options.retries,
  };
  const format = formatOf(endpoint);
  // A key named `.gz`/`.zst` is written compressed (csv and ndjson only).
  const compression =
    endpoint.key !== undefined
      ? compressionFor(format, endpoint.key, `S3 connection "${args.connection}": key `)
      : undefined;
  const extension = `${extensionOf(format)}${compression ? compressionExtensions[compression][0] : ''}`;
  const formatOptions: FormatOptions = {
    ...(endpoint.csv ? { csv: endpoint.csv } : {}),
    ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
    ...(compression ? { compression } : {}),
  };
  if (endpoint.glob !== undefined) {
    throw new ConfigError(
      `S3 connection "${args.connection}": a target cannot have \`glob\`; set \`prefix\` or \`key\`.`,
    );
  }
  const prefix = endpoint.prefix !== undefined ? normalisePrefix(endpoint.prefix) : undefined;
  const staging = stagingPrefixOf(options, args.taskId);
  const partWriting = (schema: Schema, location: S3Location) => ({
    location,
    format,
    schema,
    formatOptions,
    // The name picks the variant (Arrow IPC: `.arrow` is the file format, `.arrows` the stream).
    name: endpoint.key ?? `part.${extension}`,
    contentType: compression ? `application/${compression}` : codecFor(format).contentType,
    connection: options,
  });

  return {
    async describe(): Promise<TargetDescription> {
      const key = prefix !== undefined ? `${prefix}${MANIFEST_NAME}` : (endpoint.key as string);
      return { exists: (await headIfExists(base, key)) !== undefined };
    },

    async check(schema: Schema): Promise<void> {
      // Preflight: a column the format cannot hold fails before any data moves.
      codecFor(format).checkWritable?.(schema);
    },

    async open(schema: Schema, writeOptions: WriteOptions): Promise<SinkWriter> {
      if (writeOptions.mode !== 'replace') {
        throw new ConfigError(
          `S3 connection "${args.connection}": publish mode "${writeOptions.mode}" is not supported; the S3 sink replaces the target.`,
        );
      }
      const location: S3Location = { ...base, signal: writeOptions.signal };
      // Leftovers of a crashed attempt of this task.
      await deletePrefix(location, staging, options.uploadConcurrency);

      const stagedKey = (index: number) => `${staging}part-${String(index).padStart(5, '0')}.${extension}`;
      const parts = new S3PartWriter({
        ...partWriting(schema, location),
        keyOf: stagedKey,
        partFileBytes: prefix !== undefined ? options.partFileBytes : Number.POSITIVE_INFINITY,
      });
      let staged: StagedTarget | undefined;
      const manifest = () => buildManifest(parts.parts, format, extension);

      const writer: SinkWriter = {
        async write(batch: RecordBatch) {
          await parts.write(batch);
        },

        async stage() {
          if (staged) return staged;
          await parts.finish();
          const stagedManifest = manifest();
          // The staged manifest names the staged parts, so reading staging = reading the target.
          await writeManifest(location, `${staging}${MANIFEST_NAME}`, {
            ...stagedManifest,
            files: stagedManifest.files.map((file, index) => ({
              ...file,
              key: `part-${String(index).padStart(5, '0')}.${extension}`,
            })),
          });
          staged = {
            ref: { bucket: options.bucket, prefix: staging, version: stagedManifest.version },
            rows: parts.rows,
            bytes: stagedManifest.bytes,
            reader: () =>
              createS3Source({
                client: args.client,
                bucket: options.bucket,
                connection: args.connection,
                retries: options.retries,
                endpoint: { prefix: staging, format },
                fixedSchema: schema,
              }),
          };
          return staged;
        },

        async publish() {
          if (!staged) await writer.stage();
          const built = manifest();
          if (prefix !== undefined) {
            await publishDataset(location, {
              prefix,
              manifest: built,
              sourceOf: (relativeKey) => ({
                key: stagedKey(built.files.findIndex((file) => file.key === relativeKey)),
              }),
              concurrency: options.uploadConcurrency,
            });
          } else {
            await copyObject(location, { from: stagedKey(0), to: endpoint.key as string, size: built.bytes });
          }
          await deletePrefix(location, staging, options.uploadConcurrency);
          return {
            ref: {
              bucket: options.bucket,
              ...(prefix !== undefined
                ? { prefix, manifest: `${prefix}${MANIFEST_NAME}` }
                : { key: endpoint.key as string }),
              version: built.version,
              rows: built.rows,
              files: built.files.length,
            },
          };
        },

        async abort() {
          await parts.abort();
          // Without the task's signal: cleanup must run also when the task was aborted.
          await deletePrefix({ ...base }, staging, options.uploadConcurrency);
        },
      };
      return writer;
    },

    async openChunked(schema: Schema, chunked: ChunkedWriteOptions): Promise<ChunkedStaging> {
      if (prefix === undefined) {
        throw new ConfigError(
          `S3 connection "${args.connection}": a chunked task needs a \`prefix\` target (part objects and a manifest), not the single object \`key\` "${endpoint.key}". Set \`prefix\`, or run the task without \`chunks\`.`,
          { details: { option: 'key' } },
        );
      }
      if (chunked.mode !== 'replace') {
        throw new ConfigError(
          `S3 connection "${args.connection}": publish mode "${chunked.mode}" is not supported; the S3 sink replaces the target.`,
        );
      }
      const location: S3Location = { ...base, signal: chunked.signal };
      const { location: _location, ...parts } = partWriting(schema, location);
      return new S3ChunkedStaging({
        location,
        staging,
        plan: chunked.plan,
        prefix,
        format,
        extension,
        schema,
        concurrency: options.uploadConcurrency,
        parts: { ...parts, partFileBytes: options.partFileBytes },
      });
    },

    async close() {
      if (args.ownsClient) args.client.destroy();
    },
  };
}

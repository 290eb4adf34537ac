/**
 * The HDFS sink. Part files are written into a staging directory beside the target
 * (`<parent>/.honk-staging-<task>-<name>/part-00000.<ext>` …), each one streamed CREATE
 * through a data node; a directory target rolls to a new part after `partFileBytes`. Staging
 * names derive from the task id, so `open()` of a new attempt removes a crashed attempt's
 * leftovers (and repairs a publish it interrupted). `stage()` closes the last part; the
 * staged files read back exactly as the published target will. Publishing is
 * {@link publishReplace} or {@link publishAppend}.
 */
import { posix } from 'node:path';
import {
  type ChunkedStaging,
  type ChunkedWriteOptions,
  ConfigError,
  codecFor,
  compressionExtensions,
  compressionFor,
  type FormatOptions,
  HonkError,
  type Json,
  type PublishMode,
  SchemaMismatchError,
  type Sink,
  type SinkWriter,
  type StagedTarget,
  type TargetDescription,
  type WriteOptions,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { HdfsChunkedStaging } from './hdfs-chunked-staging.ts';
import { extensionOf, formatOf, type HdfsConnectionOptions, type HdfsEndpointOptions } from './hdfs-options.ts';
import { HdfsPartWriter } from './hdfs-part-writer.ts';
import { type HdfsTargetPlaces, listSourceFiles, type PinnedHdfsFile, targetPlaces } from './hdfs-paths.ts';
import { publishAppend, publishReplace, recoverPublish } from './hdfs-publish.ts';
import { createHdfsSource } from './hdfs-source.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

/** Publish modes of the HDFS sink: replace (files and directories) and append (directories). */
export const hdfsPublishModes: readonly PublishMode[] = ['replace', 'append'];

export interface HdfsSinkArgs {
  client: WebHdfsClient;
  options: HdfsConnectionOptions;
  endpoint: HdfsEndpointOptions;
  taskId: string;
}

function sameColumns(a: Schema, b: Schema, withTypes: boolean): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((field, index) => {
      const other = b.fields[index];
      return other?.name === field.name && (!withTypes || String(other.type) === String(field.type));
    })
  );
}

export function createHdfsSink(args: HdfsSinkArgs): Sink {
  const { client, options, endpoint } = args;
  const connection = client.connection;
  const places: HdfsTargetPlaces = targetPlaces(options.root, endpoint.path, args.taskId, connection);
  const format = formatOf(endpoint);
  // A single-file target named `.gz`/`.zst` is written compressed (csv and ndjson only).
  const compression = places.directory
    ? undefined
    : compressionFor(format, places.name, `HDFS connection "${connection}": target `);
  const suffix = compression ? (compressionExtensions[compression][0] as string) : '';
  const extension =
    places.directory || suffix
      ? `${extensionOf(format)}${suffix}`
      : posix.extname(places.name).toLowerCase() || extensionOf(format);
  const partBytes = places.directory ? (endpoint.partFileBytes ?? options.partFileBytes) : Number.POSITIVE_INFINITY;
  const existing = () =>
    createHdfsSource({
      client,
      endpoint,
      retries: options.retries,
      list: () => listSourceFiles(client, options.root, endpoint.path, connection, undefined, 'ignore'),
    });

  const partWriting = (schema: Schema, signal: AbortSignal) => ({
    client,
    format,
    schema,
    formatOptions: {
      ...(endpoint.csv ? { csv: endpoint.csv } : {}),
      ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
      ...(compression ? { compression } : {}),
    } satisfies FormatOptions,
    partBytes,
    signal,
  });

  const checkMode = (mode: PublishMode) => {
    if (mode === 'merge' || (mode === 'append' && !places.directory)) {
      throw new HonkError(
        'CAPABILITY_MISSING',
        `HDFS connection "${connection}": publish mode "${mode}" is not supported for "${endpoint.path}"; the HDFS sink replaces files and directories, and appends part files to a directory target (a path without an extension).`,
        { details: { mode, option: 'path' } },
      );
    }
  };

  const sink: Sink = {
    async describe(): Promise<TargetDescription> {
      if (!(await client.statusIfExists(places.target))) return { exists: false };
      const source = existing();
      try {
        return { exists: true, schema: await source.schema() };
      } catch (error) {
        if ((error as HonkError).code === 'NOT_FOUND') return { exists: true };
        throw error;
      }
    },

    async check(schema: Schema, writeOptions: Pick<WriteOptions, 'mode' | 'key'>): Promise<void> {
      checkMode(writeOptions.mode);
      codecFor(format).checkWritable?.(schema);
      const status = await client.statusIfExists(places.target);
      if (status && (status.type === 'DIRECTORY') !== places.directory) {
        throw new ConfigError(
          `HDFS connection "${connection}": target "${places.target}" exists as a ${status.type === 'DIRECTORY' ? 'directory' : 'file'}, but path "${endpoint.path}" names a ${places.directory ? 'directory (no extension)' : 'single file (has an extension)'}. Change the path or remove the existing target.`,
          { details: { option: 'path' } },
        );
      }
      if (writeOptions.mode === 'append' && status) {
        const current = (await sink.describe()).schema;
        const selfDescribing = format === 'parquet' || format === 'arrow';
        if (current && !sameColumns(current, schema, selfDescribing)) {
          throw new SchemaMismatchError(
            `HDFS connection "${connection}": cannot append to "${places.target}": it has columns (${current.fields.map((field) => `${field.name} ${String(field.type)}`).join(', ')}) but the data has (${schema.fields.map((field) => `${field.name} ${String(field.type)}`).join(', ')}). Append data of the same schema, or replace the target.`,
            { details: { path: places.target } },
          );
        }
      }
    },

    async openChunked(schema: Schema, chunked: ChunkedWriteOptions): Promise<ChunkedStaging> {
      if (!places.directory) {
        throw new ConfigError(
          `HDFS connection "${connection}": a chunked task needs a directory target (a path without an extension), not the single file "${endpoint.path}". Name a directory, or run the task without \`chunks\`.`,
          { details: { option: 'path' } },
        );
      }
      if (chunked.mode !== 'replace') {
        throw new HonkError(
          'CAPABILITY_MISSING',
          `HDFS connection "${connection}": a chunked task publishes with mode "replace" only (got "${chunked.mode}"). Run an append without \`chunks\`.`,
          { details: { mode: chunked.mode, option: 'mode' } },
        );
      }
      await sink.check?.(schema, chunked);
      return new HdfsChunkedStaging({
        client,
        places,
        plan: chunked.plan,
        format,
        extension,
        schema,
        endpoint,
        retries: options.retries,
        signal: chunked.signal,
        parts: partWriting(schema, chunked.signal),
      });
    },

    async open(schema: Schema, writeOptions: WriteOptions): Promise<SinkWriter> {
      await sink.check?.(schema, writeOptions);
      const signal = writeOptions.signal;
      await recoverPublish(client, places);
      await client.delete(places.staging, { recursive: true, signal });
      await client.mkdirs(places.staging, { signal });
      const writing = new HdfsPartWriter({
        ...partWriting(schema, signal),
        directory: places.staging,
        nameOf: (index) => `part-${String(index).padStart(5, '0')}${extension}`,
      });
      const parts = writing.parts;
      let staged: StagedTarget | undefined;

      const writer: SinkWriter = {
        async write(batch: RecordBatch) {
          await writing.write(batch);
        },
        async stage() {
          if (staged) return staged;
          // No rows still makes one (empty) part, so the target exists and carries its schema.
          const files = [...(await writing.finish())];
          staged = {
            ref: { staging: places.staging, files: files.map((file) => posix.basename(file.path)) },
            rows: writing.rows,
            bytes: writing.bytes,
            reader: () =>
              createHdfsSource({
                client,
                endpoint,
                retries: options.retries,
                format,
                fixedSchema: schema,
                list: async () => files,
              }),
          };
          return staged;
        },
        async publish() {
          if (!staged) await writer.stage();
          if (writeOptions.mode === 'append') {
            const names = await publishAppend(
              client,
              places,
              args.taskId,
              parts.map((part) => part.path),
              extension,
            );
            return { ref: { path: places.target, mode: 'append', files: names, rows: writing.rows } as Json };
          }
          const ready = places.directory ? places.staging : (parts[0] as PinnedHdfsFile).path;
          await publishReplace(client, places, ready);
          if (!places.directory) await client.delete(places.staging, { recursive: true });
          return { ref: { path: places.target, mode: 'replace', files: parts.length, rows: writing.rows } };
        },
        async abort() {
          await writing.abort();
          // Without the task's signal: cleanup must run also when the task was aborted.
          await client.delete(places.staging, { recursive: true });
        },
      };
      return writer;
    },
  };
  return sink;
}

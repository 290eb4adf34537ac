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
  ConfigError,
  codecFor,
  compressionExtensions,
  compressionFor,
  type FormatOptions,
  type FormatWriter,
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
import { extensionOf, formatOf, type HdfsConnectionOptions, type HdfsEndpointOptions } from './hdfs-options.ts';
import { type HdfsTargetPlaces, listSourceFiles, type PinnedHdfsFile, targetPlaces } from './hdfs-paths.ts';
import { publishAppend, publishReplace, recoverPublish } from './hdfs-publish.ts';
import { createHdfsSource } from './hdfs-source.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';
import type { WebHdfsUpload } from './webhdfs-upload.ts';

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

    async open(schema: Schema, writeOptions: WriteOptions): Promise<SinkWriter> {
      await sink.check?.(schema, writeOptions);
      const signal = writeOptions.signal;
      await recoverPublish(client, places);
      await client.delete(places.staging, { recursive: true, signal });
      await client.mkdirs(places.staging, { signal });
      const codec = codecFor(format);
      const parts: PinnedHdfsFile[] = [];
      let current: { path: string; upload: WebHdfsUpload; encoder: FormatWriter } | undefined;
      let rows = 0;
      let bytes = 0;
      let staged: StagedTarget | undefined;

      const startPart = async () => {
        const name = `part-${String(parts.length).padStart(5, '0')}${extension}`;
        const path = posix.join(places.staging, name);
        const upload = await client.create(path, { overwrite: false, signal });
        const encoder = codec.createWriter(upload, schema, {
          name,
          ...(endpoint.csv ? { csv: endpoint.csv } : {}),
          ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
          ...(compression ? { compression } : {}),
          precedingRows: rows,
        } satisfies FormatOptions);
        current = { path, upload, encoder };
        return current;
      };
      const finishPart = async () => {
        const part = current;
        if (!part) return;
        current = undefined;
        try {
          await part.encoder.finish();
          await part.upload.finish();
        } catch (error) {
          await part.upload.abort();
          throw error;
        }
        const status = await client.getFileStatus(part.path, signal);
        bytes += status.length;
        parts.push({ path: part.path, length: status.length, modificationTime: status.modificationTime });
      };

      const writer: SinkWriter = {
        async write(batch: RecordBatch) {
          const part = current ?? (await startPart());
          await part.encoder.write(batch);
          rows += batch.numRows;
          if (part.upload.bytesWritten >= partBytes) await finishPart();
        },
        async stage() {
          if (staged) return staged;
          // No rows still makes one (empty) part, so the target exists and carries its schema.
          if (parts.length === 0 && !current) await startPart();
          await finishPart();
          const files = [...parts];
          staged = {
            ref: { staging: places.staging, files: files.map((file) => posix.basename(file.path)) },
            rows,
            bytes,
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
            return { ref: { path: places.target, mode: 'append', files: names, rows } as Json };
          }
          const ready = places.directory ? places.staging : (parts[0] as PinnedHdfsFile).path;
          await publishReplace(client, places, ready);
          if (!places.directory) await client.delete(places.staging, { recursive: true });
          return { ref: { path: places.target, mode: 'replace', files: parts.length, rows } };
        },
        async abort() {
          const part = current;
          current = undefined;
          await part?.encoder.abort().catch(() => undefined);
          await part?.upload.abort().catch(() => undefined);
          // Without the task's signal: cleanup must run also when the task was aborted.
          await client.delete(places.staging, { recursive: true });
        },
      };
      return writer;
    },
  };
  return sink;
}

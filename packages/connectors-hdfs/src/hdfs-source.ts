/**
 * The HDFS source: a file, a directory of part files (names starting with `.` or `_` are
 * skipped) or a glob, read in name order at one point in time. The listing, lengths and
 * modification times are pinned on first use and kept for the life of the source; every
 * file is checked again after it is read, so a file replaced or appended to mid-read fails
 * the attempt with `SOURCE_CHANGED` (transient: the next attempt pins afresh) instead of
 * yielding a silent mix of versions.
 */
import {
  codecFor,
  compressionFor,
  type FormatOptions,
  groupBySize,
  HonkError,
  type Json,
  listingChange,
  type PartitionOptions,
  parseColumnTypes,
  type ReadOptions,
  SchemaMismatchError,
  type Source,
  type SourcePartition,
  TransientError,
  throwIfAborted,
} from '@honk/core';
import { RecordBatch, type Schema } from 'apache-arrow';
import { hdfsByteInput, verifyUnchanged } from './hdfs-byte-input.ts';
import { formatOf, type HdfsEndpointOptions, type HdfsFormat } from './hdfs-options.ts';
import type { PinnedHdfsFile } from './hdfs-paths.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

export interface HdfsSourceArgs {
  client: WebHdfsClient;
  endpoint: HdfsEndpointOptions;
  /** Lists and pins the files (the sink's read-back passes its staged files). */
  list: () => Promise<PinnedHdfsFile[]>;
  retries: number;
  /** Known format (staged read-back), else from the endpoint and the file names. */
  format?: HdfsFormat;
  /** Text formats: read with exactly these types (the sink's staged read-back). */
  fixedSchema?: Schema;
  /** A partition of a chunked read: the whole dataset's source, whose schema every partition reads with. */
  whole?: Source;
}

/** The ref of an HDFS partition, and the pin of a chunked task: files as listed at planning. */
interface HdfsPartitionRef {
  [key: string]: Json;
  format: HdfsFormat;
  files: Array<{ path: string; length: number; modificationTime: number }>;
}

function asRef(format: HdfsFormat, files: readonly PinnedHdfsFile[]): HdfsPartitionRef {
  return {
    format,
    files: files.map((file) => ({ path: file.path, length: file.length, modificationTime: file.modificationTime })),
  };
}

interface Pinned {
  files: PinnedHdfsFile[];
  format: HdfsFormat;
}

function describe(schema: Schema): string {
  return schema.fields.map((field) => `${field.name} ${String(field.type)}`).join(', ');
}

function sameSchema(a: Schema, b: Schema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((field, index) => {
      const other = b.fields[index];
      return other !== undefined && other.name === field.name && String(other.type) === String(field.type);
    })
  );
}

export function createHdfsSource(args: HdfsSourceArgs): Source {
  const { client, endpoint } = args;
  const connection = client.connection;
  const formatOptions: FormatOptions = {
    ...(endpoint.csv ? { csv: endpoint.csv } : {}),
    ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
    types: parseColumnTypes(endpoint.schema, `HDFS connection "${connection}": `, args.fixedSchema),
  };
  let pinned: Promise<Pinned> | undefined;
  let schema: Promise<Schema> | undefined;
  const pin = () => {
    pinned ??= (async () => {
      const files = await args.list();
      const format = args.format ?? formatOf(endpoint, files[0]?.path);
      // Text files are decompressed as they are read; other formats refuse a compression name.
      for (const file of files) compressionFor(format, file.path, `HDFS connection "${connection}": file `);
      return { files, format };
    })();
    pinned.catch(() => {
      pinned = undefined;
    });
    return pinned;
  };

  const source: Source = {
    async schema() {
      if (args.whole) return args.whole.schema();
      schema ??= (async () => {
        const { files, format } = await pin();
        const first = files[0] as PinnedHdfsFile;
        const read = await codecFor(format).readSchema(hdfsByteInput(client, first, args.retries), formatOptions);
        await verifyUnchanged(client, first);
        return read;
      })();
      schema.catch(() => {
        schema = undefined;
      });
      return schema;
    },
    async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
      const { files, format } = await pin();
      const expected = await source.schema();
      const codec = codecFor(format);
      // Text formats parse into the dataset's types; self-describing formats carry their own
      // schema, which must match the first file's.
      const selfDescribing = format === 'parquet' || format === 'arrow';
      for (const file of files) {
        throwIfAborted(options.signal);
        // A partition is read long after its plan: its files must still be the pinned ones.
        if (args.whole) await verifyUnchanged(client, file, options.signal);
        const batches = codec.read(hdfsByteInput(client, file, args.retries, options.signal), {
          ...formatOptions,
          batchRows: options.batchRows,
          signal: options.signal,
          ...(selfDescribing ? {} : { schema: expected }),
        });
        try {
          for await (const batch of batches) {
            throwIfAborted(options.signal);
            if (batch.schema === expected) {
              yield batch;
              continue;
            }
            if (!sameSchema(batch.schema, expected)) {
              throw new SchemaMismatchError(
                `HDFS connection "${connection}": part file "${file.path}" has columns (${describe(batch.schema)}) but the first file of the dataset has (${describe(expected)}). All part files of a dataset must share one schema.`,
                { details: { path: file.path } },
              );
            }
            yield new RecordBatch(expected, batch.data);
          }
        } catch (error) {
          // A read error on a file that changed is reported as the change.
          if (!options.signal.aborted) await verifyUnchanged(client, file);
          throw error;
        }
        await verifyUnchanged(client, file, options.signal);
      }
    },
    /**
     * The chunks of a chunked read: the pinned files in name order, grouped into at most
     * `max` runs of neighbouring files of about equal size (a file is never split).
     */
    async partitions(options: PartitionOptions = {}): Promise<SourcePartition[]> {
      const { files, format } = await pin();
      return groupBySize(files, options.max, (file) => file.length).map((group) => ({ ref: asRef(format, group) }));
    },
    partition(ref: Json): Source {
      const parsed = ref as unknown as HdfsPartitionRef;
      if (!Array.isArray(parsed?.files) || typeof parsed.format !== 'string') {
        throw new HonkError('INTERNAL', `Not an HDFS partition: ${JSON.stringify(ref)?.slice(0, 200)}.`);
      }
      const files = parsed.files.map((file) => ({ ...file }));
      return createHdfsSource({ ...args, format: parsed.format, list: async () => files, whole: source });
    },
    /** The listing with every file's length and modification time, as a chunked task's plan keeps it. */
    async pin(): Promise<Json> {
      const { files, format } = await pin();
      return asRef(format, files);
    },
    /** SOURCE_CHANGED unless the listing, lengths and modification times are still those of `value`. */
    async checkUnchanged(value: Json): Promise<void> {
      const before = ((value as HdfsPartitionRef | null)?.files ?? []) as PinnedHdfsFile[];
      const now = await args.list();
      const change = listingChange(
        before.map((file) => file.path),
        now.map((file) => file.path),
      );
      if (change) {
        throw new TransientError(
          `HDFS connection "${connection}": the source changed during the chunked task (${change.why}). The task plans and reads again; if the directory is still being written, schedule the task after the writer finishes.`,
          { code: 'SOURCE_CHANGED', details: { path: change.name } },
        );
      }
      for (const file of before) await verifyUnchanged(client, file);
    },
    async close() {
      pinned = undefined;
      schema = undefined;
    },
  };
  // Parquet footers hold the row count: one small ranged read per file, no scan.
  if ((args.format ?? formatOf(endpoint)) === 'parquet') {
    source.count = async () => {
      const { files, format } = await pin();
      const count = codecFor(format).count;
      let rows = 0;
      if (!count) {
        // A directory without an extension in its path may turn out to hold text files.
        for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 65_536 }))
          rows += batch.numRows;
        return rows;
      }
      for (const file of files) rows += await count(hdfsByteInput(client, file, args.retries));
      return rows;
    };
  }
  return source;
}

/**
 * The file source: one file, a directory of part files or a glob, read in name order at one
 * point in time. The listing, sizes and mtimes are pinned on first use (`schema()` or
 * `read()`); each file is checked before and after it is read, and the listing once more
 * at the end, so a source that changes mid-read fails the attempt with a retryable
 * `SOURCE_CHANGED` instead of yielding a silent mix of old and new data.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import { typeName } from '../../arrow/type-names.ts';
import type { Json, PartitionOptions, ReadOptions, Source, SourcePartition } from '../../connector/connector.ts';
import { groupBySize, listingChange } from '../../connector/group-by-size.ts';
import { HonkError, SchemaMismatchError, TransientError, throwIfAborted } from '../../errors/honk-error.ts';
import { codecFor, compressionFor, parseColumnTypes } from '../../formats/codec-for.ts';
import type { FormatCodec, FormatOptions } from '../../formats/format-codec.ts';
import { fileByteInput } from './file-bytes.ts';
import {
  checkEndpointForFormat,
  type FileEndpoint,
  type FileFormatName,
  formatOfName,
  resolveFormat,
} from './file-options.ts';

/** A file as it was when the read began. */
export interface PinnedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

interface Pin {
  files: PinnedFile[];
  format: FileFormatName;
  codec: FormatCodec;
  options: FormatOptions;
}

/** Where a FileSource finds its files. */
export interface FileSourceInit {
  endpoint: FileEndpoint;
  /** Lists the files (absolute, sorted); throws NotFoundError when there are none. */
  list(): Promise<string[]>;
  /** For text formats: read with exactly these types (staged read-back). */
  fixedSchema?: Schema;
  /** Known format (staged read-back), else resolved from the endpoint and file names. */
  format?: FileFormatName;
  /**
   * A partition of a chunked read (see {@link FileSource.partition}): its files as the plan
   * pinned them (a file that differs now is SOURCE_CHANGED), and the whole dataset's source,
   * whose schema every partition reads with (text formats infer it from the first file).
   */
  partition?: { files: PinnedFile[]; whole: FileSource };
}

/** The ref of a file partition: its files as pinned when the chunks were planned. */
interface FilePartitionRef {
  [key: string]: Json;
  format: FileFormatName;
  files: Array<{ path: string; size: number; mtimeMs: number }>;
}

function changed(file: string, why: string): TransientError {
  return new TransientError(
    `File connector: source file "${file}" changed during the read (${why}). The attempt is retried; if the file is still being written, schedule the task after the writer finishes.`,
    { code: 'SOURCE_CHANGED', details: { file } },
  );
}

async function verify(file: PinnedFile): Promise<void> {
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(file.path);
  } catch {
    throw changed(file.path, 'it disappeared');
  }
  if (stat.size !== file.size) throw changed(file.path, `size ${file.size} → ${stat.size}`);
  if (stat.mtimeMs !== file.mtimeMs) throw changed(file.path, 'its modification time moved');
}

function sameSchema(a: Schema, b: Schema): boolean {
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((field, index) => {
    const other = b.fields[index];
    return other !== undefined && other.name === field.name && typeName(other.type) === typeName(field.type);
  });
}

/** The format an endpoint has without listing files, when it can be known statically. */
export function staticFormat(endpoint: FileEndpoint): FileFormatName | undefined {
  return endpoint.format ?? formatOfName(endpoint.path.replace(/\/+$/, ''));
}

/** A Source over local files; see the module comment for the point-in-time rules. */
export class FileSource implements Source {
  readonly #init: FileSourceInit;
  #pin: Promise<Pin> | undefined;
  #schema: Promise<Schema> | undefined;
  count?: () => Promise<number>;

  constructor(init: FileSourceInit) {
    this.#init = init;
    // countPushdown is honest only for Parquet: its footer holds the row count. Other formats
    // would need a full scan, so their sources have no count() at all.
    if ((init.format ?? staticFormat(init.endpoint)) === 'parquet') {
      this.count = () => this.#count();
    }
  }

  #pinned(): Promise<Pin> {
    this.#pin ??= (async () => {
      const names = await this.#init.list();
      const format =
        this.#init.format ??
        resolveFormat(
          this.#init.endpoint,
          names.map((name) => path.basename(name)),
        );
      checkEndpointForFormat(this.#init.endpoint, format);
      const files: PinnedFile[] = [];
      const partition = this.#init.partition;
      for (const name of names) {
        // Text files are decompressed as they are read; other formats refuse a compression name.
        compressionFor(format, path.basename(name), 'File connector: source file ');
        // A partition is checked against the plan's pins, not pinned anew: it reads what was planned.
        if (partition) continue;
        const stat = await fs.stat(name);
        files.push({ path: name, size: stat.size, mtimeMs: stat.mtimeMs });
      }
      if (partition) files.push(...partition.files);
      const { endpoint } = this.#init;
      const fixedSchema = this.#init.fixedSchema ?? (partition ? await partition.whole.schema() : undefined);
      const options: FormatOptions = {
        ...(endpoint.csv ? { csv: endpoint.csv } : {}),
        ...(endpoint.parquet ? { parquet: endpoint.parquet } : {}),
        types: parseColumnTypes(endpoint.schema, 'File connector: ', fixedSchema),
      };
      return { files, format, codec: codecFor(format), options };
    })();
    this.#pin.catch(() => {
      this.#pin = undefined; // a failed listing may succeed on the next call (after a retry)
    });
    return this.#pin;
  }

  schema(): Promise<Schema> {
    const whole = this.#init.partition?.whole;
    if (whole) return whole.schema();
    this.#schema ??= (async () => {
      const pin = await this.#pinned();
      const first = pin.files[0] as PinnedFile;
      await verify(first);
      const schema = await pin.codec.readSchema(fileByteInput(first.path, first.size), pin.options);
      await verify(first);
      return schema;
    })();
    this.#schema.catch(() => {
      this.#schema = undefined;
    });
    return this.#schema;
  }

  async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
    const pin = await this.#pinned();
    const schema = await this.schema();
    for (const [index, file] of pin.files.entries()) {
      throwIfAborted(options.signal);
      await verify(file);
      if ((index > 0 || this.#init.partition) && (pin.format === 'parquet' || pin.format === 'arrow')) {
        const own = await pin.codec.readSchema(fileByteInput(file.path, file.size), pin.options);
        if (!sameSchema(own, schema)) {
          throw new SchemaMismatchError(
            `File connector: part file "${file.path}" has columns (${own.fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')}) but the first file has (${schema.fields.map((f) => `${f.name} ${typeName(f.type)}`).join(', ')}). All part files of a dataset must share one schema.`,
            { details: { file: file.path } },
          );
        }
      }
      try {
        yield* pin.codec.read(fileByteInput(file.path, file.size, options.signal), {
          ...pin.options,
          schema,
          signal: options.signal,
          batchRows: options.batchRows,
        });
      } catch (error) {
        await verify(file); // a read error on a changed file is reported as the change
        throw error;
      }
      await verify(file);
    }
    const now = await this.#init.list().catch(() => [] as string[]);
    const change = listingChange(
      pin.files.map((file) => file.path),
      now,
    );
    if (change) throw changed(change.name, change.why);
  }

  /**
   * The chunks of a chunked read: the pinned files in name order, grouped into at most
   * `max` runs of neighbouring files of about equal total size (one file is never split).
   */
  async partitions(options: PartitionOptions = {}): Promise<SourcePartition[]> {
    const pin = await this.#pinned();
    const groups = groupBySize(pin.files, options.max, (file) => file.size);
    return groups.map((files) => {
      const ref: FilePartitionRef = {
        format: pin.format,
        files: files.map((file) => ({ path: file.path, size: file.size, mtimeMs: file.mtimeMs })),
      };
      return { ref };
    });
  }

  /** A source over one partition `partitions()` returned (see {@link FileSourceInit.partition}). */
  partition(ref: Json): Source {
    const parsed = ref as unknown as FilePartitionRef;
    if (!Array.isArray(parsed?.files) || typeof parsed.format !== 'string') {
      throw new HonkError('INTERNAL', `Not a file partition: ${JSON.stringify(ref)?.slice(0, 200)}.`);
    }
    const files = parsed.files.map((file) => ({ path: file.path, size: file.size, mtimeMs: file.mtimeMs }));
    return new FileSource({
      endpoint: this.#init.endpoint,
      format: parsed.format,
      list: async () => files.map((file) => file.path),
      partition: { files, whole: this },
    });
  }

  /** The listing with every file's size and mtime, as a chunked task's plan keeps it. */
  async pin(): Promise<Json> {
    const pin = await this.#pinned();
    return { files: pin.files.map((file) => ({ path: file.path, size: file.size, mtimeMs: file.mtimeMs })) };
  }

  /** SOURCE_CHANGED unless the listing, sizes and mtimes are still those of `pin`. */
  async checkUnchanged(pin: Json): Promise<void> {
    const pinned = (pin as { files?: PinnedFile[] } | null)?.files ?? [];
    const now = await this.#init.list().catch(() => [] as string[]);
    const change = listingChange(
      pinned.map((file) => file.path),
      now,
    );
    if (change) throw changed(change.name, change.why);
    for (const file of pinned) await verify(file);
  }

  async #count(): Promise<number> {
    const pin = await this.#pinned();
    const count = pin.codec.count;
    if (!count) throw new Error('count() is only available for Parquet sources');
    let rows = 0;
    for (const file of pin.files) {
      await verify(file);
      rows += await count(fileByteInput(file.path, file.size));
    }
    return rows;
  }

  async close(): Promise<void> {
    this.#pin = undefined;
    this.#schema = undefined;
  }
}

/**
 * The file sink. Data is written as part files into a staging directory beside the target
 * (same directory, so the final rename never crosses a file system), named from the task
 * id so the next attempt of the same task finds and removes what a crashed attempt left.
 *
 * Publishing is a rename:
 * - single-file target (`orders.parquet`): `rename(staging/part-00000.parquet, orders.parquet)`,
 *   atomic on POSIX; readers see the old file or the new one, never a mix;
 * - directory target (`orders/`): rename the old directory aside, rename staging into place,
 *   remove the old one. Between the two renames (microseconds) the target path does not
 *   exist; a reader then gets NotFound and retries, it never sees a partial directory. If the
 *   process dies in that window, the next `open()` of the same task renames the aside copy
 *   back (or removes it when the new target is already in place).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ChunkedStaging, ChunkedWriteOptions } from '../../connector/chunked-staging.ts';
import type {
  ConnectorContext,
  PublishMode,
  PublishResult,
  Sink,
  SinkWriter,
  StagedTarget,
  TargetDescription,
  WriteOptions,
} from '../../connector/connector.ts';
import { ConfigError, HonkError } from '../../errors/honk-error.ts';
import { codecFor, compressionFor } from '../../formats/codec-for.ts';
import { compressionExtensions, type TextCompression } from '../../formats/text-compression.ts';
import { FileChunkedStaging } from './file-chunked-staging.ts';
import {
  checkEndpointForFormat,
  DEFAULT_PART_FILE_BYTES,
  type FileEndpoint,
  type FileFormatName,
  type FileOptions,
  formatExtension,
  resolveFormat,
} from './file-options.ts';
import { PartFileWriter } from './file-part-writer.ts';
import { exists, listSourceFiles, syncDirectory, type TargetPlaces, targetPlaces } from './file-paths.ts';
import { FileSource } from './file-source.ts';

/** Publish modes the file sink supports: a file or directory is replaced as a whole. */
export const filePublishModes: readonly PublishMode[] = ['replace'];

function checkMode(mode: PublishMode): void {
  if (mode !== 'replace') {
    throw new HonkError(
      'CAPABILITY_MISSING',
      `File connector: publish mode "${mode}" is not supported; the file sink replaces its target as a whole (mode "replace").`,
      { details: { mode } },
    );
  }
}

/** Brings a target back to a consistent state after a crash between the two renames of a directory publish. */
export async function recoverAside(places: Pick<TargetPlaces, 'target' | 'aside'>): Promise<void> {
  if (!(await exists(places.aside))) return;
  if (await exists(places.target)) await fs.rm(places.aside, { recursive: true, force: true });
  else await fs.rename(places.aside, places.target);
}

/** Atomically puts `ready` (a complete file or directory) at `places.target`. */
export async function swapInto(ready: string, places: TargetPlaces): Promise<void> {
  if (!places.directory) {
    await fs.rename(ready, places.target);
  } else {
    await fs.rm(places.aside, { recursive: true, force: true });
    const hadTarget = await exists(places.target);
    if (hadTarget) await fs.rename(places.target, places.aside);
    await fs.rename(ready, places.target);
    await syncDirectory(places.parent);
    if (hadTarget) await fs.rm(places.aside, { recursive: true, force: true });
  }
  await syncDirectory(places.parent);
}

/** The sink over one target path. */
export class FileSink implements Sink {
  readonly #root: string;
  readonly #endpoint: FileEndpoint;
  readonly #places: TargetPlaces;
  readonly #format: FileFormatName;
  readonly #compression: TextCompression | undefined;

  constructor(options: FileOptions, endpoint: FileEndpoint, context: Pick<ConnectorContext, 'taskId'>) {
    this.#root = options.root;
    this.#endpoint = endpoint;
    this.#places = targetPlaces(options.root, endpoint.path, context.taskId);
    this.#format = resolveFormat(endpoint);
    checkEndpointForFormat(endpoint, this.#format);
    // A single-file target named `.gz`/`.zst` is written compressed (csv and ndjson only).
    this.#compression = this.#places.directory
      ? undefined
      : compressionFor(this.#format, path.basename(this.#places.target), 'File connector: target ');
  }

  /** Where this sink stages and publishes (for tests and reports). */
  get places(): TargetPlaces {
    return this.#places;
  }

  async describe(): Promise<TargetDescription> {
    if (!(await exists(this.#places.target))) return { exists: false };
    const source = new FileSource({
      endpoint: this.#endpoint,
      format: this.#format,
      list: () => listSourceFiles(this.#root, this.#endpoint.path),
    });
    try {
      return { exists: true, schema: await source.schema() };
    } catch (error) {
      // An existing but empty directory has no schema; anything else is worth reporting.
      if ((error as HonkError).code === 'NOT_FOUND') return { exists: true };
      throw error;
    } finally {
      await source.close();
    }
  }

  async check(schema: Schema, options: Pick<WriteOptions, 'mode' | 'key'>): Promise<void> {
    checkMode(options.mode);
    codecFor(this.#format).checkWritable?.(schema);
    // Replace may change the schema: the old target goes as a whole. What must line up is the
    // kind of target, since a file cannot be renamed over a directory or the other way round.
    const stat = await fs.stat(this.#places.target).catch(() => undefined);
    if (stat && stat.isDirectory() !== this.#places.directory) {
      throw new ConfigError(
        `File connector: target "${this.#places.target}" exists as a ${stat.isDirectory() ? 'directory' : 'file'}, but path "${this.#endpoint.path}" names a ${this.#places.directory ? 'directory (no extension)' : 'single file (has an extension)'}. Change the path or remove the existing target.`,
        { details: { option: 'path' } },
      );
    }
  }

  /**
   * Chunked staging (directory targets only): each chunk's part files, committed one chunk at
   * a time beside the target, published together by one rename (see file-chunked-staging.ts).
   */
  async openChunked(schema: Schema, options: ChunkedWriteOptions): Promise<ChunkedStaging> {
    await this.check(schema, options);
    if (!this.#places.directory) {
      throw new ConfigError(
        `File connector: target "${this.#endpoint.path}" is a single file, which cannot be written in chunks. Write to a directory of part files (a path without an extension), or remove chunks: from the task.`,
        { details: { option: 'path' } },
      );
    }
    await recoverAside(this.#places);
    return new FileChunkedStaging({
      places: this.#places,
      plan: options.plan,
      format: this.#format,
      schema,
      endpoint: this.#endpoint,
      signal: options.signal,
    });
  }

  async open(schema: Schema, options: WriteOptions): Promise<SinkWriter> {
    await this.check(schema, options);
    await recoverAside(this.#places);
    await fs.rm(this.#places.staging, { recursive: true, force: true });
    await fs.mkdir(this.#places.staging, { recursive: true });
    return new FileWriter(this.#places, this.#format, schema, this.#endpoint, options.signal, this.#compression);
  }
}

/** One attempt's writer; see the module comment for staging and publishing. */
class FileWriter implements SinkWriter {
  readonly #places: TargetPlaces;
  readonly #format: FileFormatName;
  readonly #schema: Schema;
  readonly #endpoint: FileEndpoint;
  readonly #parts: PartFileWriter;

  constructor(
    places: TargetPlaces,
    format: FileFormatName,
    schema: Schema,
    endpoint: FileEndpoint,
    signal: AbortSignal,
    compression: TextCompression | undefined,
  ) {
    this.#places = places;
    this.#format = format;
    this.#schema = schema;
    this.#endpoint = endpoint;
    // A single-file target keeps its own extension (`.arrow` and `.arrows` are written
    // differently); a compressed one (`orders.csv.gz`) is its format's extension plus the suffix.
    const suffix = compression ? (compressionExtensions[compression][0] as string) : '';
    const extension =
      places.directory || suffix
        ? `${formatExtension[format]}${suffix}`
        : path.extname(places.target).toLowerCase() || formatExtension[format];
    this.#parts = new PartFileWriter({
      directory: places.staging,
      name: (index) => `part-${String(index).padStart(5, '0')}${extension}`,
      format,
      schema,
      endpoint,
      signal,
      compression,
      // A single-file target is one file by definition, so it never rolls.
      partBytes: places.directory ? (endpoint.partFileBytes ?? DEFAULT_PART_FILE_BYTES) : Number.POSITIVE_INFINITY,
    });
  }

  write(batch: RecordBatch): Promise<void> {
    return this.#parts.write(batch);
  }

  async stage(): Promise<StagedTarget> {
    const parts = await this.#parts.finish();
    await syncDirectory(this.#places.staging);
    const staging = this.#places.staging;
    return {
      ref: { staging, files: parts.map((part) => path.basename(part)) },
      rows: this.#parts.rows,
      bytes: this.#parts.bytes,
      reader: () =>
        new FileSource({
          endpoint: this.#endpoint,
          format: this.#format,
          fixedSchema: this.#schema,
          list: async () => parts,
        }),
    };
  }

  async publish(): Promise<PublishResult> {
    const ready = this.#places.directory ? this.#places.staging : (this.#parts.parts[0] as string);
    await swapInto(ready, this.#places);
    if (!this.#places.directory) await fs.rm(this.#places.staging, { recursive: true, force: true });
    return { ref: { path: this.#places.target, files: this.#parts.parts.length, rows: this.#parts.rows } };
  }

  async abort(): Promise<void> {
    await this.#parts.abort();
    await fs.rm(this.#places.staging, { recursive: true, force: true });
  }
}

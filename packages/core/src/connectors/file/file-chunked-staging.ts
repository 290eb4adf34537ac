/**
 * The file sink's chunked staging (see `chunked-staging.ts` in connector/): a directory
 * beside the target per task and plan, `.honk-chunks-<task>-<name>~<plan>/`, holding every
 * chunk's part files; published by renaming it into place, like an unchunked directory target.
 *
 * A chunk attempt writes hidden temporary parts (`.tmp-<chunk>-<attempt>-<n>.<ext>`), synced.
 * Committing writes the marker `.chunk-<chunk>.json` — the chunk's result, rows, and which
 * temporary part becomes which final part (`part-<chunk>-<attempt>-<n>.<ext>`) — to a temporary
 * file, syncs it, and *links* it into place: a link fails when the name exists, so exactly one
 * attempt's marker wins and the marker is never seen half-written. Then the parts are renamed
 * to their final names. A crash between the two is rolled forward by whoever reads the
 * marker next; a marker whose parts are gone is removed (the chunk runs again). Hidden names
 * are never data (the file source skips them), and `finish()` removes every file no marker
 * lists, so a loser's or a crashed attempt's parts never reach the target.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RecordBatch, Schema } from 'apache-arrow';
import {
  type ChunkedStaging,
  ChunksMissingError,
  type ChunkWriter,
  type CommittedChunk,
} from '../../connector/chunked-staging.ts';
import type { Json, PublishResult, SinkWriter, StagedTarget } from '../../connector/connector.ts';
import { TransientError } from '../../errors/honk-error.ts';
import { DEFAULT_PART_FILE_BYTES, type FileEndpoint, type FileFormatName, formatExtension } from './file-options.ts';
import { PartFileWriter } from './file-part-writer.ts';
import { exists, syncDirectory, type TargetPlaces } from './file-paths.ts';
import { swapInto } from './file-sink.ts';
import { FileSource } from './file-source.ts';

interface Marker {
  attempt: string;
  rows: number;
  bytes: number;
  parts: Array<{ temp: string; final: string }>;
  result: Json;
}

export interface FileChunkedStagingOptions {
  places: TargetPlaces;
  plan: string;
  format: FileFormatName;
  schema: Schema;
  endpoint: FileEndpoint;
  signal: AbortSignal;
}

/** `.honk-chunks-<task>-<name>~`: every plan's directory of a task and target starts with it. */
function planPrefix(places: TargetPlaces): string {
  return `${path.basename(places.staging).replace(/^\.honk-staging-/, '.honk-chunks-')}~`;
}

export class FileChunkedStaging implements ChunkedStaging {
  readonly #options: FileChunkedStagingOptions;
  readonly #directory: string;
  readonly #extension: string;

  constructor(options: FileChunkedStagingOptions) {
    this.#options = options;
    this.#directory = path.join(options.places.parent, `${planPrefix(options.places)}${options.plan}`);
    this.#extension = formatExtension[options.format];
  }

  #marker(chunk: string): string {
    return path.join(this.#directory, `.chunk-${chunk}.json`);
  }

  async #readMarker(chunk: string): Promise<Marker | null> {
    try {
      return JSON.parse(await fs.readFile(this.#marker(chunk), 'utf8')) as Marker;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Renames a committed marker's parts that are still temporary (a commit cut short); false when a part is gone. */
  async #rollForward(marker: Marker): Promise<boolean> {
    let complete = true;
    for (const part of marker.parts) {
      const final = path.join(this.#directory, part.final);
      if (await exists(final)) continue;
      try {
        await fs.rename(path.join(this.#directory, part.temp), final);
      } catch (error) {
        // Someone else rolled it forward at the same moment, or the part is gone for good.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await exists(final))) complete = false;
      }
    }
    return complete;
  }

  async committed(chunk: string): Promise<CommittedChunk | null> {
    const marker = await this.#readMarker(chunk);
    if (marker === null) return null;
    if (!(await this.#rollForward(marker))) {
      // Its parts went missing: forget the chunk, so it is written again.
      for (const part of marker.parts) await fs.rm(path.join(this.#directory, part.final), { force: true });
      await fs.rm(this.#marker(chunk), { force: true });
      return null;
    }
    await syncDirectory(this.#directory);
    return { result: marker.result, rows: marker.rows, bytes: marker.bytes };
  }

  async openChunk(chunk: string): Promise<ChunkWriter> {
    await fs.mkdir(this.#directory, { recursive: true });
    // Temporary parts of this chunk's earlier attempts: never committed, never data.
    for (const name of await fs.readdir(this.#directory)) {
      if (name.startsWith(`.tmp-${chunk}-`) || name.startsWith(`.chunk-${chunk}.json.`)) {
        await fs.rm(path.join(this.#directory, name), { force: true });
      }
    }
    const attempt = randomBytes(4).toString('hex');
    const { format, schema, endpoint, signal } = this.#options;
    const extension = this.#extension;
    const parts = new PartFileWriter({
      directory: this.#directory,
      name: (index) => `.tmp-${chunk}-${attempt}-${String(index).padStart(5, '0')}${extension}`,
      format,
      schema,
      endpoint,
      signal,
      compression: undefined,
      partBytes: endpoint.partFileBytes ?? DEFAULT_PART_FILE_BYTES,
    });
    const removeTemps = async () => {
      await parts.abort();
      for (const file of parts.parts) await fs.rm(file, { force: true });
    };
    let done = false;
    return {
      write: (batch: RecordBatch) => parts.write(batch),
      commit: async (result: Json): Promise<CommittedChunk> => {
        const temps = await parts.finish();
        done = true;
        const marker: Marker = {
          attempt,
          rows: parts.rows,
          bytes: parts.bytes,
          parts: temps.map((temp, index) => ({
            temp: path.basename(temp),
            final: `part-${chunk}-${attempt}-${String(index).padStart(5, '0')}${extension}`,
          })),
          result,
        };
        const pending = `${this.#marker(chunk)}.${attempt}`;
        const handle = await fs.open(pending, 'w');
        try {
          await handle.writeFile(JSON.stringify(marker));
          await handle.sync();
        } finally {
          await handle.close();
        }
        try {
          await fs.link(pending, this.#marker(chunk));
        } catch (error) {
          await fs.rm(pending, { force: true });
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          // Another attempt committed this chunk first: its parts count, ours go.
          for (const temp of temps) await fs.rm(temp, { force: true });
          const winner = await this.committed(chunk);
          if (winner) return winner;
          throw new TransientError(
            `File connector: chunk ${chunk} was committed by another attempt whose parts are gone; it runs again.`,
          );
        }
        await fs.rm(pending, { force: true });
        await this.#rollForward(marker);
        await syncDirectory(this.#directory);
        return { result, rows: marker.rows, bytes: marker.bytes };
      },
      abort: async () => {
        if (done) return;
        done = true;
        await removeTemps();
      },
    };
  }

  async finish(chunks: readonly string[]): Promise<SinkWriter> {
    const missing: string[] = [];
    const finals: string[] = [];
    let rows = 0;
    let bytes = 0;
    const keep = new Set<string>();
    for (const chunk of chunks) {
      const committed = await this.committed(chunk);
      const marker = committed ? await this.#readMarker(chunk) : null;
      if (!committed || !marker) {
        missing.push(chunk);
        continue;
      }
      rows += marker.rows;
      bytes += marker.bytes;
      keep.add(path.basename(this.#marker(chunk)));
      for (const part of marker.parts) {
        keep.add(part.final);
        finals.push(path.join(this.#directory, part.final));
      }
    }
    if (missing.length > 0)
      throw new ChunksMissingError(missing, `File connector: staging of "${this.#options.places.target}"`);
    // Only what a marker lists is data: temporary parts, losers' and crashed attempts' files go.
    for (const name of await fs.readdir(this.#directory)) {
      if (!keep.has(name)) await fs.rm(path.join(this.#directory, name), { recursive: true, force: true });
    }
    await this.#removePlans((name) => name !== path.basename(this.#directory));
    finals.sort();
    return new FinishedChunks(this.#options, this.#directory, finals, rows, bytes, chunks);
  }

  async abort(): Promise<void> {
    await this.#removePlans(() => true);
  }

  /** Removes the plan directories of this task and target whose name `which` accepts. */
  async #removePlans(which: (name: string) => boolean): Promise<void> {
    const prefix = planPrefix(this.#options.places);
    const names = await fs.readdir(this.#options.places.parent).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(prefix) && which(name)) {
        await fs.rm(path.join(this.#options.places.parent, name), { recursive: true, force: true });
      }
    }
  }
}

/** The writer `finish()` returns: every chunk's parts, read back and published as one directory. */
class FinishedChunks implements SinkWriter {
  readonly #options: FileChunkedStagingOptions;
  readonly #directory: string;
  readonly #finals: string[];
  readonly #rows: number;
  readonly #bytes: number;
  readonly #chunks: readonly string[];

  constructor(
    options: FileChunkedStagingOptions,
    directory: string,
    finals: string[],
    rows: number,
    bytes: number,
    chunks: readonly string[],
  ) {
    this.#options = options;
    this.#directory = directory;
    this.#finals = finals;
    this.#rows = rows;
    this.#bytes = bytes;
    this.#chunks = chunks;
  }

  async write(): Promise<void> {
    throw new TransientError('The chunked staging of a file target takes no more rows once finished.');
  }

  async stage(): Promise<StagedTarget> {
    await syncDirectory(this.#directory);
    const finals = this.#finals;
    const { endpoint, format, schema } = this.#options;
    return {
      ref: { staging: this.#directory, chunks: this.#chunks.length, files: finals.map((file) => path.basename(file)) },
      rows: this.#rows,
      bytes: this.#bytes,
      reader: () => new FileSource({ endpoint, format, fixedSchema: schema, list: async () => finals }),
    };
  }

  async publish(): Promise<PublishResult> {
    const { places } = this.#options;
    await swapInto(this.#directory, places);
    // The markers went along (hidden names, never data); a crash here only leaves them behind.
    for (const chunk of this.#chunks) await fs.rm(path.join(places.target, `.chunk-${chunk}.json`), { force: true });
    await syncDirectory(places.target);
    return { ref: { path: places.target, files: this.#finals.length, rows: this.#rows } };
  }

  async abort(): Promise<void> {
    await fs.rm(this.#directory, { recursive: true, force: true });
  }
}

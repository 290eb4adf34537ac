/**
 * The HDFS sink's chunked staging (see `chunked-staging.ts` in @honk/core and
 * docs/chunks.md): a directory beside the target per task and plan,
 * `<parent>/.honk-chunks-<task>-<name>~<plan>/`, published by the sink's ordinary directory
 * RENAME ({@link publishReplace}).
 *
 * A chunk attempt writes its part files into `.tmp-<chunk>-<attempt>/` inside it, then the
 * marker `_chunk.json` (the chunk's result, rows and part names) beside them, and commits
 * by one RENAME of that directory to `_chunk-<chunk>/` — atomic on the name node, so a chunk
 * is either wholly there with its result or not at all. A RENAME onto an existing directory
 * moves the source *into* it, so the winner is whoever's marker `_chunk-<chunk>/_chunk.json`
 * holds: a losing attempt finds another attempt's marker there and removes its own files.
 *
 * `finish()` moves each committed chunk's parts up into the plan directory as
 * `part-<chunk>-NNNNN.<ext>` (a RENAME each, repeated safely after a crash: a part already
 * moved is found under its new name), and removes every file no marker lists. Names starting
 * with `_` or `.` are never data to HDFS readers, so the `_chunk-*` markers that are
 * published along are harmless; the publish removes them afterwards.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import {
  type ChunkedStaging,
  ChunksMissingError,
  type ChunkWriter,
  type CommittedChunk,
  type Json,
  type PublishResult,
  type SinkWriter,
  type StagedTarget,
  TransientError,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { HdfsEndpointOptions, HdfsFormat } from './hdfs-options.ts';
import { HdfsPartWriter, type HdfsPartWriterOptions } from './hdfs-part-writer.ts';
import type { HdfsTargetPlaces, PinnedHdfsFile } from './hdfs-paths.ts';
import { publishReplace, readJson, recoverPublish, writeJson } from './hdfs-publish.ts';
import { createHdfsSource } from './hdfs-source.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

interface Marker {
  attempt: string;
  rows: number;
  bytes: number;
  /** Part file names inside the chunk's directory, in order. */
  parts: string[];
  result: Json;
}

export interface HdfsChunkedStagingOptions {
  client: WebHdfsClient;
  places: HdfsTargetPlaces;
  plan: string;
  format: HdfsFormat;
  extension: string;
  schema: Schema;
  endpoint: HdfsEndpointOptions;
  retries: number;
  signal: AbortSignal;
  parts: Omit<HdfsPartWriterOptions, 'directory' | 'nameOf'>;
}

/** `.honk-chunks-<task>-<name>~`: every plan's directory of a task and target starts with it. */
function planPrefix(places: HdfsTargetPlaces): string {
  return `${posix.basename(places.staging).replace(/^\.honk-staging-/, '.honk-chunks-')}~`;
}

export class HdfsChunkedStaging implements ChunkedStaging {
  readonly #options: HdfsChunkedStagingOptions;
  readonly #directory: string;

  constructor(options: HdfsChunkedStagingOptions) {
    this.#options = options;
    this.#directory = posix.join(options.places.parent, `${planPrefix(options.places)}${options.plan}`);
  }

  get #client(): WebHdfsClient {
    return this.#options.client;
  }

  #chunkDirectory(chunk: string): string {
    return posix.join(this.#directory, `_chunk-${chunk}`);
  }

  #final(chunk: string, index: number): string {
    return posix.join(this.#directory, `part-${chunk}-${String(index).padStart(5, '0')}${this.#options.extension}`);
  }

  #readMarker(chunk: string): Promise<Marker | undefined> {
    return readJson<Marker>(this.#client, posix.join(this.#chunkDirectory(chunk), '_chunk.json'));
  }

  /** The chunk's parts where they are now (in the chunk's directory, or moved up by finish); null when one is gone. */
  async #partsOf(chunk: string, marker: Marker): Promise<Array<{ at: string; final: string }> | null> {
    const out: Array<{ at: string; final: string }> = [];
    for (const [index, name] of marker.parts.entries()) {
      const final = this.#final(chunk, index);
      const inChunk = posix.join(this.#chunkDirectory(chunk), name);
      if (await this.#client.statusIfExists(final)) out.push({ at: final, final });
      else if (await this.#client.statusIfExists(inChunk)) out.push({ at: inChunk, final });
      else return null;
    }
    return out;
  }

  async committed(chunk: string): Promise<CommittedChunk | null> {
    const marker = await this.#readMarker(chunk);
    if (!marker) return null;
    const parts = await this.#partsOf(chunk, marker);
    if (!parts) {
      // Its files went missing: forget the chunk, so it is written again.
      for (const [index] of marker.parts.entries()) await this.#client.delete(this.#final(chunk, index));
      await this.#client.delete(this.#chunkDirectory(chunk), { recursive: true });
      return null;
    }
    return { result: marker.result, rows: marker.rows, bytes: marker.bytes };
  }

  async openChunk(chunk: string): Promise<ChunkWriter> {
    const client = this.#client;
    await client.mkdirs(this.#directory, { signal: this.#options.signal });
    // Unfinished earlier attempts of this chunk: never committed, never data.
    for (const name of await this.#names(this.#directory)) {
      if (name.startsWith(`.tmp-${chunk}-`))
        await client.delete(posix.join(this.#directory, name), { recursive: true });
    }
    const attempt = randomBytes(4).toString('hex');
    const temp = posix.join(this.#directory, `.tmp-${chunk}-${attempt}`);
    await client.mkdirs(temp, { signal: this.#options.signal });
    const extension = this.#options.extension;
    const parts = new HdfsPartWriter({
      ...this.#options.parts,
      directory: temp,
      nameOf: (index) => `part-${String(index).padStart(5, '0')}${extension}`,
    });
    const committedDirectory = this.#chunkDirectory(chunk);
    let done = false;
    const discard = async () => {
      await parts.abort();
      await client.delete(temp, { recursive: true });
      // A RENAME onto the winner's directory moved ours inside it.
      await client.delete(posix.join(committedDirectory, posix.basename(temp)), { recursive: true });
    };
    return {
      write: (batch: RecordBatch) => parts.write(batch),
      commit: async (result: Json): Promise<CommittedChunk> => {
        const written = await parts.finish();
        done = true;
        const marker: Marker = {
          attempt,
          rows: parts.rows,
          bytes: parts.bytes,
          parts: written.map((file) => posix.basename(file.path)),
          result,
        };
        await writeJson(client, posix.join(temp, '_chunk.json'), marker);
        if (!(await client.statusIfExists(committedDirectory))) await client.rename(temp, committedDirectory);
        const counted = await this.#readMarker(chunk);
        if (counted?.attempt === attempt) return { result, rows: marker.rows, bytes: marker.bytes };
        // Another attempt committed this chunk first: its files count, ours go.
        await discard();
        const winner = await this.committed(chunk);
        if (winner) return winner;
        throw new TransientError(
          `HDFS connection "${client.connection}": chunk ${chunk} was committed by another attempt whose files are gone; it runs again.`,
        );
      },
      abort: async () => {
        if (done) return;
        done = true;
        await discard();
      },
    };
  }

  async finish(chunks: readonly string[]): Promise<SinkWriter> {
    const client = this.#client;
    const missing: string[] = [];
    const keep = new Set<string>();
    const finals: string[] = [];
    let rows = 0;
    for (const chunk of chunks) {
      const marker = await this.#readMarker(chunk);
      const parts = marker ? await this.#partsOf(chunk, marker) : null;
      if (!marker || !parts) {
        missing.push(chunk);
        continue;
      }
      // Move the parts up (a crash here is finished by the next finish: moved parts are found by their new name).
      for (const part of parts) if (part.at !== part.final) await client.rename(part.at, part.final);
      keep.add(posix.basename(this.#chunkDirectory(chunk)));
      for (const part of parts) {
        keep.add(posix.basename(part.final));
        finals.push(part.final);
      }
      rows += marker.rows;
    }
    if (missing.length > 0) {
      throw new ChunksMissingError(
        missing,
        `HDFS connection "${client.connection}": staging of "${this.#options.places.target}"`,
      );
    }
    // Only what a marker lists is data: losers' and crashed attempts' files go, and other plans.
    for (const name of await this.#names(this.#directory)) {
      if (!keep.has(name)) await client.delete(posix.join(this.#directory, name), { recursive: true });
    }
    await this.#removePlans((name) => name !== posix.basename(this.#directory));
    await recoverPublish(client, this.#options.places);
    const files: PinnedHdfsFile[] = [];
    for (const final of finals) {
      const status = await client.getFileStatus(final);
      files.push({ path: final, length: status.length, modificationTime: status.modificationTime });
    }
    return new FinishedHdfsChunks(this.#options, this.#directory, files, rows, chunks);
  }

  async abort(): Promise<void> {
    await this.#removePlans(() => true);
  }

  /** The names in a directory (listed whole before anything in it is removed); none when it does not exist. */
  async #names(directory: string): Promise<string[]> {
    if (!(await this.#client.statusIfExists(directory))) return [];
    const names: string[] = [];
    for await (const status of this.#client.listStatus(directory)) names.push(status.pathSuffix);
    return names;
  }

  /** Removes the plan directories of this task and target whose name `which` accepts. */
  async #removePlans(which: (name: string) => boolean): Promise<void> {
    const client = this.#client;
    const prefix = planPrefix(this.#options.places);
    for (const name of await this.#names(this.#options.places.parent)) {
      if (name.startsWith(prefix) && which(name)) {
        await client.delete(posix.join(this.#options.places.parent, name), { recursive: true });
      }
    }
  }
}

/** The writer `finish()` returns: every chunk's parts, read back and published by one RENAME. */
class FinishedHdfsChunks implements SinkWriter {
  readonly #options: HdfsChunkedStagingOptions;
  readonly #directory: string;
  readonly #files: PinnedHdfsFile[];
  readonly #rows: number;
  readonly #chunks: readonly string[];

  constructor(
    options: HdfsChunkedStagingOptions,
    directory: string,
    files: PinnedHdfsFile[],
    rows: number,
    chunks: readonly string[],
  ) {
    this.#options = options;
    this.#directory = directory;
    this.#files = files;
    this.#rows = rows;
    this.#chunks = chunks;
  }

  async write(): Promise<void> {
    throw new TransientError('The chunked staging of an HDFS target takes no more rows once finished.');
  }

  async stage(): Promise<StagedTarget> {
    const { client, endpoint, retries, format, schema } = this.#options;
    const files = this.#files;
    return {
      ref: {
        staging: this.#directory,
        chunks: this.#chunks.length,
        files: files.map((file) => posix.basename(file.path)),
      },
      rows: this.#rows,
      bytes: files.reduce((sum, file) => sum + file.length, 0),
      reader: () =>
        createHdfsSource({ client, endpoint, retries, format, fixedSchema: schema, list: async () => files }),
    };
  }

  async publish(): Promise<PublishResult> {
    const { client, places } = this.#options;
    await publishReplace(client, places, this.#directory);
    // The markers went along (hidden names, never data); a crash here only leaves them behind.
    for (const chunk of this.#chunks)
      await client.delete(posix.join(places.target, `_chunk-${chunk}`), { recursive: true });
    return { ref: { path: places.target, mode: 'replace', files: this.#files.length, rows: this.#rows } };
  }

  async abort(): Promise<void> {
    await this.#options.client.delete(this.#directory, { recursive: true });
  }
}

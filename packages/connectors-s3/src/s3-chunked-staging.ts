/**
 * The S3 sink's chunked staging (see `chunked-staging.ts` in @honk/core and
 * docs/chunks.md): every chunk of a plan lives under the task's deterministic staging prefix,
 * `<workPrefix>staging/<task>/chunks/<plan>/`.
 *
 * A chunk attempt streams its part objects to `<plan>/<chunk>/<attempt>/part-NNNNN.<ext>`.
 * Committing writes the marker `<plan>/_chunk-<chunk>.json` — the chunk's result, rows and
 * the attempt's parts with sizes and SHA-256s — *last*, in one PutObject with
 * `If-None-Match: *`, so the first commit wins and a later one is refused (412); the marker
 * is then read back, which also settles the race on stores that ignore the condition (the
 * marker read back is the one that counts, and both attempts read the same pinned source
 * rows). Objects no marker lists are never data: `finish()` removes them, and a marker whose
 * objects went missing is removed, so the chunk runs again.
 *
 * `finish()` returns a writer whose `publish()` is the ordinary manifest commit of the S3
 * sink ({@link publishDataset}) over the parts of every chunk, in chunk order.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  type ChunkedStaging,
  ChunksMissingError,
  type ChunkWriter,
  type CommittedChunk,
  type Json,
  NotFoundError,
  type PublishResult,
  type SinkWriter,
  type StagedTarget,
  TransientError,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import { deleteKeys, deletePrefix } from './s3-copy.ts';
import { withS3Retry } from './s3-errors.ts';
import { listPinned, type PinnedObject, type S3Location } from './s3-listing.ts';
import { buildManifest, MANIFEST_NAME } from './s3-manifest.ts';
import type { S3Format } from './s3-options.ts';
import { S3PartWriter, type S3PartWriterOptions } from './s3-part-writer.ts';
import { publishDataset } from './s3-publish.ts';
import { createS3Source } from './s3-source.ts';

interface MarkerPart {
  /** Relative to the plan prefix. */
  key: string;
  size: number;
  rows: number;
  sha256: string;
}

interface Marker {
  attempt: string;
  rows: number;
  bytes: number;
  parts: MarkerPart[];
  result: Json;
}

export interface S3ChunkedStagingOptions {
  location: S3Location;
  /** The task's staging prefix (`<workPrefix>staging/<task>/`). */
  staging: string;
  plan: string;
  /** The target prefix (normalised). */
  prefix: string;
  format: S3Format;
  extension: string;
  schema: Schema;
  concurrency: number;
  /** How parts are written (everything but their keys). */
  parts: Omit<S3PartWriterOptions, 'keyOf' | 'location'>;
}

/** Every plan of a task lives under `<staging>chunks/`. */
function plansPrefix(staging: string): string {
  return `${staging}chunks/`;
}

export class S3ChunkedStaging implements ChunkedStaging {
  readonly #options: S3ChunkedStagingOptions;
  readonly #prefix: string;

  constructor(options: S3ChunkedStagingOptions) {
    this.#options = options;
    this.#prefix = `${plansPrefix(options.staging)}${options.plan}/`;
  }

  #markerKey(chunk: string): string {
    return `${this.#prefix}_chunk-${chunk}.json`;
  }

  get #location(): S3Location {
    return this.#options.location;
  }

  async #readMarker(chunk: string): Promise<Marker | null> {
    const location = this.#location;
    const key = this.#markerKey(chunk);
    try {
      return await withS3Retry(
        { connection: location.connection, bucket: location.bucket, operation: 'GetObject', key },
        location,
        async () => {
          const output = await location.client.send(
            new GetObjectCommand({ Bucket: location.bucket, Key: key }),
            location.signal ? { abortSignal: location.signal } : {},
          );
          const text = await (output.Body as { transformToString(): Promise<string> }).transformToString();
          return JSON.parse(text) as Marker;
        },
      );
    } catch (error) {
      if (error instanceof NotFoundError && error.details.s3Code !== 'NoSuchBucket') return null;
      throw error;
    }
  }

  /** Writes the marker unless one exists; false when another attempt's marker was there. */
  async #putMarker(chunk: string, marker: Marker): Promise<boolean> {
    const location = this.#location;
    const key = this.#markerKey(chunk);
    return withS3Retry(
      { connection: location.connection, bucket: location.bucket, operation: 'PutObject', key },
      location,
      async () => {
        try {
          await location.client.send(
            new PutObjectCommand({
              Bucket: location.bucket,
              Key: key,
              Body: JSON.stringify(marker),
              ContentType: 'application/json',
              IfNoneMatch: '*',
            }),
            location.signal ? { abortSignal: location.signal } : {},
          );
          return true;
        } catch (error) {
          const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
          // 412: a marker exists (the commit was lost); 409: a concurrent conditional write.
          if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) return false;
          if (e.$metadata?.httpStatusCode === 409) return false;
          throw error;
        }
      },
    );
  }

  /** The marker's parts as listed now; null when one is missing or has another size. */
  #partsOf(marker: Marker, listed: Map<string, PinnedObject>): PinnedObject[] | null {
    const out: PinnedObject[] = [];
    for (const part of marker.parts) {
      const object = listed.get(`${this.#prefix}${part.key}`);
      if (!object || object.size !== part.size) return null;
      out.push(object);
    }
    return out;
  }

  async #listed(under = ''): Promise<Map<string, PinnedObject>> {
    const objects = await listPinned(this.#location, `${this.#prefix}${under}`);
    return new Map(objects.map((object) => [object.key, object]));
  }

  async committed(chunk: string): Promise<CommittedChunk | null> {
    const marker = await this.#readMarker(chunk);
    if (marker === null) return null;
    if (this.#partsOf(marker, await this.#listed(`${chunk}/${marker.attempt}/`)) === null) {
      // Its objects went missing: forget the chunk, so it is written again.
      await deletePrefix(this.#location, `${this.#prefix}${chunk}/${marker.attempt}/`, this.#options.concurrency);
      await deleteKeys(this.#location, [this.#markerKey(chunk)], this.#options.concurrency);
      return null;
    }
    return { result: marker.result, rows: marker.rows, bytes: marker.bytes };
  }

  async openChunk(chunk: string): Promise<ChunkWriter> {
    const location = this.#location;
    const { concurrency } = this.#options;
    // What unfinished earlier attempts of this chunk left (never a committed attempt's objects).
    const winner = await this.#readMarker(chunk);
    const left = [...(await this.#listed(`${chunk}/`)).keys()].filter(
      (key) => !winner || !key.startsWith(`${this.#prefix}${chunk}/${winner.attempt}/`),
    );
    await deleteKeys(location, left, concurrency);
    const attempt = randomBytes(4).toString('hex');
    const attemptPrefix = `${this.#prefix}${chunk}/${attempt}/`;
    const parts = new S3PartWriter({
      ...this.#options.parts,
      location,
      keyOf: (index) => `${attemptPrefix}part-${String(index).padStart(5, '0')}.${this.#options.extension}`,
    });
    let done = false;
    const discard = async () => {
      await parts.abort();
      await deletePrefix(unsignalled(location), attemptPrefix, concurrency);
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
          parts: written.map((part) => ({
            key: part.key.slice(this.#prefix.length),
            size: part.size,
            rows: part.rows,
            sha256: part.sha256,
          })),
          result,
        };
        const existing = await this.#readMarker(chunk);
        const put = existing === null && (await this.#putMarker(chunk, marker));
        const counted = put ? await this.#readMarker(chunk) : existing;
        if (put && counted?.attempt === attempt) return { result, rows: marker.rows, bytes: marker.bytes };
        // Another attempt committed this chunk first: its objects count, ours go.
        await discard();
        const winning = await this.committed(chunk);
        if (winning) return winning;
        throw new TransientError(
          `S3 connection "${location.connection}": chunk ${chunk} was committed by another attempt whose objects are gone; it runs again.`,
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
    const listed = await this.#listed();
    const missing: string[] = [];
    const keep = new Set<string>();
    const objects: PinnedObject[] = [];
    const parts: MarkerPart[] = [];
    let rows = 0;
    for (const chunk of chunks) {
      const marker = await this.#readMarker(chunk);
      const found = marker ? this.#partsOf(marker, listed) : null;
      if (!marker || !found) {
        missing.push(chunk);
        continue;
      }
      keep.add(this.#markerKey(chunk));
      for (const object of found) keep.add(object.key);
      objects.push(...found);
      parts.push(...marker.parts);
      rows += marker.rows;
    }
    if (missing.length > 0) {
      throw new ChunksMissingError(
        missing,
        `S3 connection "${this.#location.connection}": staging of s3://${this.#location.bucket}/${this.#options.prefix}`,
      );
    }
    const { concurrency } = this.#options;
    // Only what a marker lists is data: losers' and crashed attempts' objects go, and other plans.
    await deleteKeys(
      this.#location,
      [...listed.keys()].filter((key) => !keep.has(key)),
      concurrency,
    );
    const plans = await listPinned(this.#location, plansPrefix(this.#options.staging));
    await deleteKeys(
      this.#location,
      plans.map((object) => object.key).filter((key) => !key.startsWith(this.#prefix)),
      concurrency,
    );
    return new FinishedS3Chunks(this.#options, objects, parts, rows, chunks.length);
  }

  async abort(): Promise<void> {
    await deletePrefix(unsignalled(this.#location), plansPrefix(this.#options.staging), this.#options.concurrency);
  }
}

/** The location without the task's signal: cleanup must run also when the task was aborted. */
function unsignalled(location: S3Location): S3Location {
  const { signal: _signal, ...rest } = location;
  return rest;
}

/** The writer `finish()` returns: every chunk's objects, read back and published with one manifest. */
class FinishedS3Chunks implements SinkWriter {
  readonly #options: S3ChunkedStagingOptions;
  readonly #objects: PinnedObject[];
  readonly #parts: MarkerPart[];
  readonly #rows: number;
  readonly #chunks: number;

  constructor(
    options: S3ChunkedStagingOptions,
    objects: PinnedObject[],
    parts: MarkerPart[],
    rows: number,
    chunks: number,
  ) {
    this.#options = options;
    this.#objects = objects;
    this.#parts = parts;
    this.#rows = rows;
    this.#chunks = chunks;
  }

  #manifest() {
    const { format, extension } = this.#options;
    return buildManifest(
      this.#parts.map((part, index) => ({ index, size: part.size, rows: part.rows, sha256: part.sha256 })),
      format,
      extension,
    );
  }

  async write(): Promise<void> {
    throw new TransientError('The chunked staging of an S3 target takes no more rows once finished.');
  }

  async stage(): Promise<StagedTarget> {
    const { location, schema, format } = this.#options;
    const objects = this.#objects;
    return {
      ref: { bucket: location.bucket, prefix: this.#options.staging, chunks: this.#chunks, files: objects.length },
      rows: this.#rows,
      bytes: objects.reduce((sum, object) => sum + object.size, 0),
      reader: () =>
        createS3Source({
          client: location.client,
          bucket: location.bucket,
          connection: location.connection,
          retries: location.retries,
          endpoint: { prefix: this.#options.staging, format },
          fixedSchema: schema,
          pinned: { format, objects },
        }),
    };
  }

  async publish(): Promise<PublishResult> {
    const { location, prefix, concurrency, staging } = this.#options;
    const manifest = this.#manifest();
    const stagedKey = new Map(manifest.files.map((file, index) => [file.key, this.#objects[index]?.key as string]));
    await publishDataset(location, {
      prefix,
      manifest,
      sourceOf: (relativeKey) => ({ key: stagedKey.get(relativeKey) as string }),
      concurrency,
    });
    await deletePrefix(location, staging, concurrency);
    return {
      ref: {
        bucket: location.bucket,
        prefix,
        manifest: `${prefix}${MANIFEST_NAME}`,
        version: manifest.version,
        rows: manifest.rows,
        files: manifest.files.length,
        chunks: this.#chunks,
      },
    };
  }

  async abort(): Promise<void> {
    const { location, staging, concurrency } = this.#options;
    await deletePrefix(unsignalled(location), plansPrefix(staging), concurrency);
  }
}

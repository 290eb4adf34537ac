/**
 * The S3 source: one object (`key`) or the part files under a `prefix`. When the prefix
 * holds a `_honk_manifest.json`, exactly the files it lists are read (the committed
 * version); otherwise every object under the prefix that matches `glob` (names starting
 * with `_` or `.` are skipped, as Spark and Hive do).
 *
 * The file list and every ETag are pinned on first use and kept for the life of the source,
 * so `schema()`, `read()` and a second `read()` see the same point in time. An object
 * replaced or deleted after pinning fails the read with `SOURCE_CHANGED` (transient: the
 * next attempt pins afresh).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  codecFor,
  compressionFor,
  type FormatOptions,
  groupBySize,
  HonkError,
  type Json,
  listingChange,
  NotFoundError,
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
import {
  globToRegExp,
  headIfExists,
  headPinned,
  listPinned,
  type PinnedObject,
  type S3Location,
} from './s3-listing.ts';
import { MANIFEST_NAME, readManifest } from './s3-manifest.ts';
import { s3ByteInput } from './s3-object-reader.ts';
import { formatOf, normalisePrefix, type S3EndpointOptions, type S3Format } from './s3-options.ts';

export interface S3SourceArgs {
  client: S3Client;
  bucket: string;
  connection: string;
  retries: number;
  endpoint: S3EndpointOptions;
  /** Destroy the client on `close()`. */
  ownsClient?: boolean;
  /** Text formats: read with exactly these types (the sink's staged read-back). */
  fixedSchema?: Schema;
  /** Read exactly these objects, as pinned (a chunk's partition, a chunked staging's read-back). */
  pinned?: PinnedDataset;
  /** A partition: the whole dataset's source, whose schema every partition reads with. */
  whole?: Source;
}

/** The ref of an S3 partition, and the pin of a chunked task: objects as listed at planning. */
interface S3PartitionRef {
  [key: string]: Json;
  format: S3Format;
  objects: Array<{ key: string; size: number; etag: string }>;
}

function changed(location: S3Location, key: string, why: string): TransientError {
  return new TransientError(
    `S3 connection "${location.connection}": s3://${location.bucket}/${key} changed during the chunked task (${why}). The task plans and reads again; if the prefix is still being written, schedule the task after the writer finishes.`,
    { code: 'SOURCE_CHANGED', details: { key } },
  );
}

/** SOURCE_CHANGED unless every object still has the ETag it was pinned with. */
async function verifyObjects(location: S3Location, objects: readonly PinnedObject[]): Promise<void> {
  for (const object of objects) {
    const now = await headIfExists(location, object.key);
    if (!now) throw changed(location, object.key, 'it disappeared');
    if (now.etag !== object.etag) throw changed(location, object.key, `ETag ${object.etag} → ${now.etag}`);
  }
}

/** The pinned set of objects a source reads. */
export interface PinnedDataset {
  format: S3Format;
  objects: PinnedObject[];
  /** Rows per object, when a manifest says so. */
  rows?: number[];
}

/** Resolves and pins what an endpoint points at. Throws NotFoundError when it is empty. */
export async function pinDataset(location: S3Location, endpoint: S3EndpointOptions): Promise<PinnedDataset> {
  const dataset = await pinObjects(location, endpoint);
  // Text objects are decompressed as they are read; other formats refuse a compression name.
  for (const object of dataset.objects) {
    compressionFor(dataset.format, object.key, `S3 connection "${location.connection}": object `);
  }
  return dataset;
}

async function pinObjects(location: S3Location, endpoint: S3EndpointOptions): Promise<PinnedDataset> {
  if (endpoint.key !== undefined) {
    return { format: formatOf(endpoint), objects: [await headPinned(location, endpoint.key)] };
  }
  const prefix = normalisePrefix(endpoint.prefix);
  const glob = endpoint.glob ? globToRegExp(endpoint.glob) : undefined;
  const listed = await listPinned(location, prefix);
  const manifestObject = listed.find((object) => object.key === `${prefix}${MANIFEST_NAME}`);
  if (manifestObject) {
    const read = await readManifest(location, manifestObject.key, manifestObject.etag);
    if (read) {
      const byKey = new Map(listed.map((object) => [object.key, object]));
      const files = read.manifest.files.filter((file) => !glob || glob.test(file.key));
      const objects = files.map((file) => {
        const object = byKey.get(`${prefix}${file.key}`);
        if (!object || object.size !== file.size) {
          throw new TransientError(
            `S3 connection "${location.connection}": s3://${location.bucket}/${prefix}${file.key}, listed in the manifest, is missing or has another size: a publish is running. The attempt is retried.`,
            { code: 'SOURCE_CHANGED' },
          );
        }
        return object;
      });
      return { format: endpoint.format ?? read.manifest.format, objects, rows: files.map((file) => file.rows) };
    }
  }
  const objects = listed.filter((object) => {
    const relative = object.key.slice(prefix.length);
    const base = relative.slice(relative.lastIndexOf('/') + 1);
    if (base.startsWith('_') || base.startsWith('.')) return false;
    return glob ? glob.test(relative) : true;
  });
  if (objects.length === 0) {
    throw new NotFoundError(
      `S3 connection "${location.connection}": no objects under s3://${location.bucket}/${prefix}${endpoint.glob ? ` match "${endpoint.glob}"` : ''}. Check the prefix and glob.`,
    );
  }
  return { format: formatOf({ ...endpoint, key: objects[0]?.key }), objects };
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

export function createS3Source(args: S3SourceArgs): Source {
  const base: S3Location = {
    client: args.client,
    bucket: args.bucket,
    connection: args.connection,
    retries: args.retries,
  };
  const formatOptions: FormatOptions = {
    ...(args.endpoint.csv ? { csv: args.endpoint.csv } : {}),
    ...(args.endpoint.parquet ? { parquet: args.endpoint.parquet } : {}),
    types: parseColumnTypes(args.endpoint.schema, `S3 connection "${args.connection}": `, args.fixedSchema),
  };
  let pinned: Promise<PinnedDataset> | undefined;
  let schema: Promise<Schema> | undefined;
  const pin = () => {
    pinned ??= args.pinned ? Promise.resolve(args.pinned) : pinDataset(base, args.endpoint);
    pinned.catch(() => {
      pinned = undefined;
    });
    return pinned;
  };

  return {
    async schema() {
      if (args.whole) return args.whole.schema();
      schema ??= (async () => {
        const dataset = await pin();
        return codecFor(dataset.format).readSchema(
          s3ByteInput(base, dataset.objects[0] as PinnedObject),
          formatOptions,
        );
      })();
      schema.catch(() => {
        schema = undefined;
      });
      return schema;
    },
    async count() {
      const dataset = await pin();
      if (dataset.rows) return dataset.rows.reduce((sum, rows) => sum + rows, 0);
      let rows = 0;
      const count = codecFor(dataset.format).count;
      if (count) {
        // Parquet footers hold the row count: one small ranged read per object.
        for (const object of dataset.objects) rows += await count(s3ByteInput(base, object));
        return rows;
      }
      for await (const batch of this.read({ signal: new AbortController().signal, batchRows: 65_536 }))
        rows += batch.numRows;
      return rows;
    },
    async *read(options: ReadOptions): AsyncGenerator<RecordBatch> {
      const dataset = await pin();
      const expected = await this.schema();
      const location: S3Location = { ...base, signal: options.signal };
      const codec = codecFor(dataset.format);
      // Text formats parse into the dataset's types; self-describing formats read their own
      // schema, which must match the first object's.
      const selfDescribing = dataset.format === 'parquet' || dataset.format === 'arrow';
      // A partition is read hours after its plan: its objects must still be the pinned ones.
      if (args.whole) await verifyObjects(location, dataset.objects);
      for (const object of dataset.objects) {
        throwIfAborted(options.signal);
        const batches = codec.read(s3ByteInput(location, object), {
          ...formatOptions,
          batchRows: options.batchRows,
          signal: options.signal,
          ...(selfDescribing ? {} : { schema: expected }),
        });
        for await (const batch of batches) {
          throwIfAborted(options.signal);
          if (batch.schema === expected) {
            yield batch;
            continue;
          }
          if (!sameSchema(batch.schema, expected)) {
            throw new SchemaMismatchError(
              `S3 connection "${args.connection}": s3://${args.bucket}/${object.key} has columns (${describe(batch.schema)}) but the first file of the dataset has (${describe(expected)}). All part files must share one schema.`,
              { details: { key: object.key } },
            );
          }
          yield new RecordBatch(expected, batch.data);
        }
      }
      if (args.whole) await verifyObjects(location, dataset.objects);
    },
    /**
     * The chunks of a chunked read: the pinned objects in key order, grouped into at most
     * `max` runs of neighbouring objects of about equal size (an object is never split).
     */
    async partitions(options: PartitionOptions = {}): Promise<SourcePartition[]> {
      const dataset = await pin();
      return groupBySize(dataset.objects, options.max, (object) => object.size).map((objects) => {
        const ref: S3PartitionRef = {
          format: dataset.format,
          objects: objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag })),
        };
        return { ref };
      });
    },
    partition(ref: Json): Source {
      const parsed = ref as unknown as S3PartitionRef;
      if (!Array.isArray(parsed?.objects) || typeof parsed.format !== 'string') {
        throw new HonkError('INTERNAL', `Not an S3 partition: ${JSON.stringify(ref)?.slice(0, 200)}.`);
      }
      return createS3Source({
        ...args,
        ownsClient: false,
        pinned: { format: parsed.format, objects: parsed.objects.map((object) => ({ ...object })) },
        whole: this,
      });
    },
    /** The listing with every object's ETag, as a chunked task's plan keeps it. */
    async pin(): Promise<Json> {
      const dataset = await pin();
      const value: S3PartitionRef = {
        format: dataset.format,
        objects: dataset.objects.map((object) => ({ key: object.key, size: object.size, etag: object.etag })),
      };
      return value;
    },
    /** SOURCE_CHANGED unless the listing and every ETag are still those of `pinned`. */
    async checkUnchanged(value: Json): Promise<void> {
      const before = ((value as S3PartitionRef | null)?.objects ?? []) as PinnedObject[];
      const now = (await pinDataset(base, args.endpoint)).objects;
      const change = listingChange(
        before.map((object) => object.key),
        now.map((object) => object.key),
      );
      if (change) throw changed(base, change.name, change.why);
      now.forEach((object, index) => {
        const etag = before[index]?.etag;
        if (object.etag !== etag) throw changed(base, object.key, `ETag ${etag} → ${object.etag}`);
      });
    },
    async close() {
      if (args.ownsClient) args.client.destroy();
    },
  };
}

/**
 * The connector contract, version 1.
 *
 * A connector teaches Honk one storage system. It is a plain object with no behaviour of
 * its own beyond factories: Honk validates options with the connector's zod schemas, checks
 * its declared capabilities before any data moves, and wraps everything it returns in a
 * guard (see `guard.ts`) so a connector author does not have to defend against misuse.
 *
 * Data flows as Apache Arrow `RecordBatch`es. A connector reads into Arrow and writes from
 * Arrow; type mapping to and from the storage system's own types is the connector's job and
 * is documented per connector.
 *
 * Compatibility: the `specificationVersion` field pins the contract. Additive, optional
 * members may appear within v1; anything else is a new version.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ZodType } from 'zod';
import type { ChunkedStaging, ChunkedWriteOptions } from './chunked-staging.ts';

/** Any JSON value. Snapshot refs and staged refs are JSON so they survive in task records. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How a sink makes staged data the new target. */
export type PublishMode = 'replace' | 'append' | 'merge';

/**
 * What a connector can do. Core checks these at preflight so an impossible task fails
 * before any data moves, never halfway through.
 */
export interface ConnectorCapabilities {
  /** The connector can snapshot an existing target and restore it. Default `false`. */
  snapshot: boolean;
  /** Staged data can be read back for validation. Default `true`: a sink that cannot is unverifiable. */
  readStaged: boolean;
  /** `Source.count()` answers without reading the data. Default `false`. */
  countPushdown: boolean;
  /**
   * `Source.partitions()` splits a read into independent ranges. Default `false`. A chunked
   * task (`chunks:`) needs it of its source, with `Source.partition(ref)`.
   */
  partitionedRead: boolean;
  /**
   * The sink stages chunks written by separate attempts and publishes them once
   * (`Sink.openChunked`, see `chunked-staging.ts`). Default `false`. A chunked task needs it.
   */
  chunkedStaging: boolean;
  /** Publish modes the sink supports. Default `['replace']`. */
  publishModes: readonly PublishMode[];
  /** `Source.incremental()` reads only the rows past a high-water mark (see incremental-mark.ts). Default `false`. */
  incrementalRead: boolean;
  /**
   * The sink keeps an incremental task's high-water mark and commits it in the same atomic
   * step as the publish (`Sink.incrementalMark()`, `WriteOptions.incremental`). Default `false`.
   */
  incrementalCommit: boolean;
}

/** Documented defaults for {@link ConnectorCapabilities}. */
export const defaultCapabilities: ConnectorCapabilities = Object.freeze({
  snapshot: false,
  readStaged: true,
  countPushdown: false,
  partitionedRead: false,
  chunkedStaging: false,
  publishModes: Object.freeze(['replace'] as const),
  incrementalRead: false,
  incrementalCommit: false,
});

/** Resolve a connector's partial capabilities against the defaults. */
export function capabilitiesOf(connector: Pick<Connector, 'capabilities'>): ConnectorCapabilities {
  return { ...defaultCapabilities, ...connector.capabilities };
}

/** A minimal logger; pino, console-like objects and Honk's own logger fit. */
export interface Logger {
  debug(object: Record<string, unknown>, message?: string): void;
  info(object: Record<string, unknown>, message?: string): void;
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
}

/** Ambient information every factory receives. */
export interface ConnectorContext {
  /** The task this work belongs to; sinks derive deterministic staging names from it. */
  taskId: string;
  /** The name of the connection in the spec (for messages). */
  connectionName: string;
  /** Aborts when the task is cancelled, its lease is lost, or the agent shuts down hard. */
  signal: AbortSignal;
  logger: Logger;
  /**
   * The directory relative paths in options resolve against: the spec file's directory
   * for spec tasks. Default: the process working directory.
   */
  baseDir?: string;
}

/** Options for one read. */
export interface ReadOptions {
  /** Stop reading and release resources when this fires. */
  signal: AbortSignal;
  /** Target rows per batch. Sources should stay close to it; the last batch may be smaller. */
  batchRows: number;
}

/**
 * Options for a raw read (see {@link Source.readRaw}).
 */
export interface RawReadOptions extends ReadOptions {
  /**
   * Also decode the bytes into Arrow batches. Core asks for this when the task validates:
   * the source-side checksum is computed over the values of exactly the bytes forwarded.
   */
  decode: boolean;
}

/** Bytes of a raw read, with what they hold. */
export interface RawChunk {
  /** Bytes in the source's `rawFormat()`, forwarded untouched to `SinkWriter.writeRaw()`. */
  bytes: Uint8Array;
  /** Rows that start in these bytes. */
  rows: number;
  /**
   * Batches decoded from the stream so far and not yet handed out (only with `decode`).
   * A row may straddle chunks, so batches do not align with chunks; together they hold
   * every row exactly once.
   */
  batches: readonly RecordBatch[];
}

/**
 * Where a worker thread finds the decoder of a source's raw format (see
 * {@link Source.rawDecoder}), so validation can decode forwarded bytes off the main thread.
 */
export interface RawDecoderSpec {
  /**
   * A file URL of a module exporting `createRawDecoder(init, schema, options?): RawDecoder`
   * (`schema`: the read's Arrow schema; `options.batchRows`: rows per batch when the caller
   * knows better than `init`). It must be the connector's own code, never something a task
   * names: workers load it as trusted code.
   */
  module: string;
  /** Structured-cloneable arguments for `createRawDecoder` (column types, batch size …). */
  init: unknown;
  /** Rows this read is expected to yield (planner statistics, file metadata), when known. */
  estimatedRows?: number;
  /**
   * Optional: the name of the bytes' row encoding when `module` also exports
   * `createRawRowScanner(init)` (where rows and fields lie, see core's raw-row-validation.ts).
   * When both sides of a raw transfer are read raw in the same encoding, validation hashes
   * the encoded rows as they are instead of decoding them (byte equality of every row).
   */
  encoding?: string;
  /**
   * Optional, runs on the main thread (never sent to a worker): where the last complete row
   * of `bytes` ends, for `bytes` that start at a row. With it, forwarded bytes are cut at row
   * boundaries and pieces are decoded on several worker threads at once; without it, one
   * worker decodes them in order.
   */
  boundary?(bytes: Uint8Array): number;
}

/**
 * Decodes the bytes `readRaw()` yields (header and trailer stripped, as forwarded), pushed
 * in order, into Arrow batches. Runs in a worker thread.
 */
export interface RawDecoder {
  /** Decodes a chunk; returns the batches it completed (a row may straddle chunks). */
  push(bytes: Uint8Array): RecordBatch[];
  /** The last batch, or null; throws when the bytes ended inside a row. */
  end(): RecordBatch | null;
  /**
   * Optional: the rows decoded so far as a batch (null when none), so a worker hashes each
   * piece as it arrives instead of holding rows until a batch is full (memory).
   */
  take?(): RecordBatch | null;
}

/** An independent slice of a source (e.g. a key range) for partitioned reads. */
export interface SourcePartition {
  /** JSON description the source understands, e.g. `{ from: 0, to: 1_000_000 }`. */
  ref: Json;
  /** An estimate for progress reporting, when known. */
  estimatedRows?: number;
}

/** Options of {@link Source.partitions}. */
export interface PartitionOptions {
  /** At most this many partitions (a chunked task's `chunks.max`). Default: the source's own choice. */
  max?: number;
}

/**
 * Where data comes from. A source is read at one point in time: a database read runs in one
 * snapshot transaction; files and objects are pinned (size, mtime, ETag) at first access and
 * a change during the read throws a `TransientError` with code `SOURCE_CHANGED`.
 * A source never modifies what it reads.
 */
export interface Source {
  /** The Arrow schema of the batches `read()` yields. Throws NotFoundError if the data is missing. */
  schema(): Promise<Schema>;
  /**
   * Streams the data. Must release cursors, streams and file handles in `finally`, so
   * breaking out of the loop or aborting the signal leaks nothing.
   */
  read(options: ReadOptions): AsyncIterable<RecordBatch>;
  /** Row count without reading data (declare `countPushdown`). */
  count?(): Promise<number>;
  /**
   * Independent ranges for parallel reads (declare `partitionedRead`): disjoint, together
   * every row exactly once, in a stable order.
   */
  partitions?(options?: PartitionOptions): Promise<SourcePartition[]>;
  /**
   * Chunked tasks (declare `partitionedRead`): a source that reads only the partition whose
   * `ref` {@link partitions} returned — possibly in another process, hours earlier — with the
   * same schema, the same raw format and decoder when it has them, in a point in time of its
   * own (see {@link pin}). Cheap: connects on first use. Closing it leaves this source open.
   */
  partition?(ref: Json): Source;
  /**
   * Chunked tasks: the state of the source now, as JSON kept with the chunk plan (a database
   * snapshot's transaction horizon, file sizes and mtimes). Taken together with
   * `partitions()`, before any chunk is read.
   */
  pin?(): Promise<Json>;
  /**
   * Chunked tasks: throws a `TransientError` with code `SOURCE_CHANGED` when the source
   * changed since `pin()` returned `pin` — then the chunks, each read at its own moment, may
   * hold a mix of states. `read.rows`: the rows the chunks read in total. Core calls it after
   * the last chunk, before publishing; passing it proves every chunk read the same data.
   */
  checkUnchanged?(pin: Json, read: { rows: number }): Promise<void>;
  /**
   * Raw byte fast path, optional with {@link Source.readRaw}: names the byte format
   * `readRaw()` yields for this read, precisely enough that a sink writer announcing the
   * same string stores the bytes as the same values (e.g. the wire format plus every
   * column's name and exact type). `null` when this read cannot be raw. Core uses the raw
   * path only when no transform applies and `SinkWriter.rawFormat()` returns the same string.
   */
  rawFormat?(): Promise<string | null>;
  /** The data as raw chunks in `rawFormat()`, read at the same point in time as `read()`. */
  readRaw?(options: RawReadOptions): AsyncIterable<RawChunk>;
  /**
   * Optional, with `readRaw`: the decoder of this read's raw bytes for a worker thread. With
   * it, validation reads raw (`decode: false`) and decodes and hashes on other cores while
   * the main thread only moves bytes. `null` when this read has none.
   */
  rawDecoder?(): Promise<RawDecoderSpec | null>;
  /**
   * Incremental read (declare `incrementalRead`): finds the increment after `request.after`
   * in this source's point-in-time read and returns a source of just those rows. Called at
   * most once, before any read; the returned sources live until this one is closed.
   */
  incremental?(
    request: import('./incremental-mark.ts').IncrementalRequest,
  ): Promise<import('./incremental-mark.ts').IncrementalRead>;
  /** Release everything the source holds. Called once, always. */
  close?(): Promise<void>;
}

/** What a sink knows about the target before writing. */
export interface TargetDescription {
  exists: boolean;
  /** The schema of the existing target, when it exists and has one. */
  schema?: Schema;
}

/** Options for opening a writer. */
export interface WriteOptions {
  signal: AbortSignal;
  /** How staged data becomes the target. Must be one of the declared `publishModes`. */
  mode: PublishMode;
  /** Key columns for `merge`. */
  key?: readonly string[];
  /**
   * An incremental run's mark, to commit atomically with the publish (only for sinks that
   * declare `incrementalCommit`; see {@link IncrementalCommit} for what `publish()` must do).
   */
  incremental?: import('./incremental-mark.ts').IncrementalCommit;
}

/** Staged data: complete, durable, not yet visible at the target. */
export interface StagedTarget {
  /** JSON locating the staged data (staging dir, staging table …), kept in reports. */
  ref: Json;
  /** Rows written, as counted by the writer. */
  rows: number;
  /** Bytes written, where the sink knows. */
  bytes?: number;
  /** Reads the staged data back, exactly as readers of the published target would see it. */
  reader(): Source;
  /**
   * Optional: up to `parts` readers of disjoint parts of the staged data that together hold
   * every staged row exactly once, so validation reads it back on several connections at
   * once (a PostgreSQL staging table by block ranges). Core uses them only for raw reads.
   */
  readers?(parts: number): Promise<Source[]>;
}

/** What publishing did. */
export interface PublishResult {
  /** JSON locating the published data. */
  ref: Json;
  /** Rows the publish added to or changed in the target, when the sink knows (incremental reports show it). */
  rows?: number;
}

/**
 * A writer for one attempt: `write()` batches, then `stage()`, then `publish()`; or
 * `abort()` at any point, which removes everything staged. Staging names are deterministic
 * per task, so a crashed attempt's leftovers are cleaned up by the next attempt's `open()`.
 */
export interface SinkWriter {
  write(batch: RecordBatch): Promise<void>;
  /** Finish writing; after this the staged data is complete and readable. */
  stage(): Promise<StagedTarget>;
  /** Atomically make the staged data the target. Re-running a task never duplicates data. */
  publish(): Promise<PublishResult>;
  /** Discard staged data. Safe to call more than once and after a failed `publish()`. */
  abort(reason?: unknown): Promise<void>;
  /**
   * Raw byte fast path, optional with {@link SinkWriter.writeRaw}: the byte format this
   * writer's staging accepts as is (see `Source.rawFormat()`), or null.
   */
  rawFormat?(): string | null;
  /**
   * Writes bytes in `rawFormat()` instead of batches (a writer gets one or the other). The
   * staged data is then read back and validated like any other.
   */
  writeRaw?(bytes: Uint8Array): Promise<void>;
}

/** Where data goes. */
export interface Sink {
  /** Whether the target exists, and its schema. */
  describe(): Promise<TargetDescription>;
  /**
   * The high-water mark stored at this target under `key` (declare `incrementalCommit`), or
   * null when there is none. Reads only: the truth an incremental run starts from.
   */
  incrementalMark?(key: string): Promise<import('./incremental-mark.ts').IncrementalMark | null>;
  /**
   * Preflight: can data of this schema be written in this mode? Throws SchemaMismatchError
   * naming the column and how to fix it. Must not modify anything.
   */
  check?(schema: Schema, options: Pick<WriteOptions, 'mode' | 'key'>): Promise<void>;
  /** Start an attempt. Cleans leftovers of earlier attempts of the same task. */
  open(schema: Schema, options: WriteOptions): Promise<SinkWriter>;
  /**
   * Chunked tasks (declare `chunkedStaging`): the staging of the task's chunks under
   * `options.plan`, which any number of attempts and agents open at once (see
   * `chunked-staging.ts` for the rules). Does not remove committed chunks of the plan.
   */
  openChunked?(schema: Schema, options: ChunkedWriteOptions): Promise<ChunkedStaging>;
  close?(): Promise<void>;
}

/** A reference to a snapshot: JSON, stored on the task record so any agent can roll back. */
export type SnapshotRef = { connector: string; takenAt: string } & { [key: string]: Json };

/**
 * Keeps the previous target so a failed or unwanted publish can be rolled back.
 * `take()` returns null when there is nothing to keep (the target does not exist).
 */
export interface Snapshot {
  take(): Promise<SnapshotRef | null>;
  restore(ref: SnapshotRef): Promise<void>;
  discard(ref: SnapshotRef): Promise<void>;
}

/** Arguments to every factory. */
export interface EndpointArgs<Options, Endpoint> {
  /** Connection options, parsed by `optionsSchema`. */
  options: Options;
  /** The task's source or target options, parsed by `endpointSchema`. */
  endpoint: Endpoint;
  context: ConnectorContext;
}

/** What to list in {@link Connector.discover}. */
export interface DiscoverScope {
  /**
   * Where to look, in the connector's own terms: a schema (PostgreSQL), a dataset
   * (BigQuery), a folder or key prefix relative to the connection's root (file, S3, HDFS).
   * Default: the connection's default place (its root, its default schema).
   */
  within?: string;
  /** At most this many datasets; a connector stops listing once reached. */
  limit?: number;
  signal?: AbortSignal;
}

/** One dataset a connection holds, as {@link Connector.discover} reports it. */
export interface DatasetInfo {
  /** A stable, human-readable name unique within the connection (`public.orders`, `sales/2026/`). */
  name: string;
  /** What it is in the storage system's terms. */
  kind: 'table' | 'view' | 'file' | 'directory' | 'object' | 'prefix';
  /**
   * The endpoint options (besides `connection`) a task uses to read it: valid input to the
   * connector's `endpointSchema`, e.g. `{ table: 'public.orders' }` or `{ path: 'sales/', format: 'parquet' }`.
   */
  endpoint: { [key: string]: Json };
  /** Row count or estimate (planner statistics, table metadata), when cheap to know. */
  estimatedRows?: number;
  /** Stored size in bytes, when cheap to know. */
  bytes?: number;
  /** Last modification time (ISO 8601), when known. */
  modifiedAt?: string;
}

/**
 * A connector. Thin: schemas, capabilities and factories.
 *
 * @example
 * export const fileConnector = defineConnector({
 *   specificationVersion: 'v1',
 *   name: 'file',
 *   optionsSchema: z.object({ root: z.string() }).strict(),
 *   endpointSchema: z.object({ path: z.string(), format: z.enum(['csv', 'parquet']) }).strict(),
 *   capabilities: { snapshot: true },
 *   createSource: ({ options, endpoint, context }) => …,
 *   createSink: ({ options, endpoint, context }) => …,
 *   createSnapshot: ({ options, endpoint, context }) => …,
 * });
 */
export interface Connector<Options = any, Endpoint = any> {
  readonly specificationVersion: 'v1';
  /** The name used in spec files (`connector: file`). Lowercase, stable. */
  readonly name: string;
  /** Validates connection options (`root`, `url`, `region` …). Should be `.strict()`. */
  readonly optionsSchema: ZodType<Options>;
  /** Validates a task's `source:`/`target:` options besides `connection` (`path`, `table` …). */
  readonly endpointSchema: ZodType<Endpoint>;
  /** Partial; missing flags take {@link defaultCapabilities}. */
  readonly capabilities?: Partial<ConnectorCapabilities>;
  createSource?(args: EndpointArgs<Options, Endpoint>): Source | Promise<Source>;
  createSink?(args: EndpointArgs<Options, Endpoint>): Sink | Promise<Sink>;
  createSnapshot?(args: EndpointArgs<Options, Endpoint>): Snapshot | Promise<Snapshot>;
  /**
   * Optional: the datasets a connection holds, so catalogs can be filled (`honk discover`,
   * the Backstage entity provider). Must not modify anything; cheap metadata only (never a
   * full scan). Throws NotFoundError when `scope.within` does not exist.
   */
  discover?(args: { options: Options; scope: DiscoverScope; context: ConnectorContext }): Promise<DatasetInfo[]>;
}

/** Identity helper that gives connector authors type inference. */
export function defineConnector<Options, Endpoint>(
  connector: Connector<Options, Endpoint>,
): Connector<Options, Endpoint> {
  return connector;
}

/**
 * A validation session that hashes on worker threads (see workers/worker-pool.ts), so the
 * main thread keeps moving data while the other cores hash it. Results are identical to
 * {@link createValidationSession}: every validator's summaries of the parts a side was
 * split into are merged with its `combine` (sums for counts and checksums, a merged
 * bottom-k for samples) before the usual comparison.
 *
 * Small sides stay on the main thread: the first `inlineRows` rows of a side are observed
 * inline (sending a batch to a worker costs an IPC copy, which only pays off on real
 * volume), and the worker sessions are opened ahead of need so their start-up overlaps the
 * transfer. Each worker holds at most `depth` batches in flight: `observe*` resolves when
 * there is room, which is the pipeline's backpressure, so memory stays bounded.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json, RawDecoderSpec } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import { batchToBytes, schemaToBytes } from '../workers/batch-transport.ts';
import type { WorkerPool, WorkerSession } from '../workers/worker-pool.ts';
import { summaryEncoding } from './checksum-validator.ts';
import { createValidators } from './create-validators.ts';
import type { RawValidationWorkerInit } from './raw-validation-worker.ts';
import type { ValidationWorkerInit } from './validation-worker.ts';
import type {
  ValidateOptions,
  ValidationAccumulator,
  ValidationCheck,
  ValidationReport,
  Validator,
} from './validator.ts';

/** Rows a side hashes on the main thread before batches go to workers (sending costs an IPC copy). */
export const INLINE_VALIDATION_ROWS = 131_072;

export interface ParallelValidationOptions {
  pool: WorkerPool;
  /** Rows per side observed on the main thread before batches go to workers. Default 131,072. */
  inlineRows?: number;
  /** Batches in flight to the workers of one side, in all (memory: depth × batch). Default 2. */
  depth?: number;
  /**
   * The source side's summaries, one per validator in `createValidators` order, instead of
   * observing it (a chunked task: the sum of its chunks' summaries, see `sourceSummaries`).
   * The session then only reads the staged side; the encoding the source rows were hashed in
   * comes from these summaries.
   */
  sourceSummaries?: readonly Json[];
}

/** What a side needs of the options. */
type SideSettings = Required<Omit<ParallelValidationOptions, 'sourceSummaries'>>;

/** The session runTask uses: like {@link ValidationSession}, with backpressure and cleanup. */
export interface AsyncValidationSession {
  /** Resolves when the batch is taken (hashed, or queued on a worker with room). */
  observeSource(batch: RecordBatch): Promise<void>;
  /**
   * Feeds the source side raw bytes (as `readRaw()` yields them, in order) that a worker
   * decodes with `decoder` and hashes — or, when the decoder names its encoding, hashes as
   * encoded rows without decoding. A side takes batches or raw bytes, not both.
   */
  observeSourceRaw(bytes: Uint8Array, decoder: RawDecoderSpec): Promise<void>;
  startStaged(schema: Schema): void;
  observeStaged(batch: RecordBatch): Promise<void>;
  /**
   * The staged side's raw bytes, like {@link observeSourceRaw}; hashed as rows exactly when
   * the source side was (in the same encoding), else decoded. `stream` tells apart readers of
   * disjoint parts read at the same time (each stream's bytes arrive in order).
   */
  observeStagedRaw(bytes: Uint8Array, decoder: RawDecoderSpec, stream?: number): Promise<void>;
  /** Waits for every queued batch, then compares both sides. */
  report(): Promise<ValidationReport>;
  /**
   * Waits for every queued source batch, then returns the source side's summary per
   * validator (parts merged): what a chunk records, so a chunked task's source side is the
   * `combine` of its chunks' summaries. Call after the source side was fully observed.
   */
  sourceSummaries(): Promise<Json[]>;
  /**
   * The encoding the source side's raw rows were hashed in, when they were hashed as rows:
   * the staged side must then be read raw in that encoding too.
   */
  sourceRowEncoding(): string | undefined;
  /** Frees the worker sessions (also after a failure). */
  close(): Promise<void>;
}

interface Shard {
  session: Promise<WorkerSession>;
  /** The session once open (for its thread's load). */
  opened?: WorkerSession;
  inFlight: Set<Promise<void>>;
}

/** How busy a shard's thread is: every call pending there (a codec's too), else its own batches. */
function loadOf(shard: Shard): number {
  return shard.opened ? shard.opened.load : shard.inFlight.size;
}

/** Raw bytes gathered before a piece is cut at a row boundary and sent to a worker. */
const RAW_PIECE_BYTES = 1024 * 1024;

/** A side's raw bytes on their way to the worker sessions that decode them. */
interface RawFeed {
  decoder: RawDecoderSpec;
  hashing: 'values' | 'rows';
  /** One per worker thread when the decoder can cut at rows; else one, fed in order. */
  shards: Shard[];
  /** Per stream (a side may be read on several connections at once): bytes not sent yet, starting at a row. */
  streams: Map<number, { pending: Uint8Array[]; pendingBytes: number }>;
}

/** One side: inline accumulators plus worker shards, combined at the end. */
class Side {
  readonly #local: ValidationAccumulator[];
  readonly #shards: Shard[] = [];
  #raw: RawFeed | undefined;
  readonly #init: () => ValidationWorkerInit;
  readonly #parallel: SideSettings;
  readonly #offload: boolean;
  #inlineRows = 0;
  #failure: unknown;

  constructor(validators: readonly Validator[], options: ValidateOptions, schema: Schema, parallel: SideSettings) {
    this.#local = validators.map((validator) => validator.accumulator(schema));
    this.#parallel = parallel;
    // Only when every validator can merge parts (custom validators without `combine` stay
    // inline), and some validator does real work per row (counting rows is cheaper than sending).
    this.#offload =
      validators.every((validator) => validator.combine !== undefined) &&
      validators.some((validator) => validator.light !== true);
    this.#init = () => ({ options, schema: schemaToBytes(schema) });
  }

  async observe(batch: RecordBatch): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (!this.#offload || this.#inlineRows < this.#parallel.inlineRows) {
      for (const accumulator of this.#local) accumulator.observe(batch);
      this.#inlineRows += batch.numRows;
      // Start the workers while the last inline rows are hashed.
      if (this.#offload && this.#inlineRows * 2 >= this.#parallel.inlineRows) this.#openShards();
      return;
    }
    this.#openShards();
    while (this.#inFlight() >= this.#parallel.depth) {
      await Promise.race(this.#shards.flatMap((shard) => [...shard.inFlight]));
    }
    if (this.#failure !== undefined) throw this.#failure;
    // The least busy thread: a codec may share a thread with a shard.
    const shard = this.#shards.reduce((least, next) => (loadOf(next) < loadOf(least) ? next : least));
    this.#send(shard, 'observe', batchToBytes(batch));
  }

  /**
   * Raw bytes (as forwarded, in order) for worker threads to decode and hash. With the
   * decoder's `boundary`, bytes are gathered into ~1 MiB pieces cut at row boundaries, each
   * decodable alone, and spread over every worker; without it one worker takes them in order.
   */
  /** How this side's raw bytes are hashed, once the first arrived. */
  get rawHashing(): 'values' | 'rows' | undefined {
    return this.#raw?.hashing;
  }

  /** The encoding this side's raw rows are hashed in (when hashed as rows). */
  get rawEncoding(): string | undefined {
    return this.#raw?.hashing === 'rows' ? this.#raw.decoder.encoding : undefined;
  }

  async observeRaw(bytes: Uint8Array, decoder: RawDecoderSpec, hashing: 'values' | 'rows', stream = 0): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#raw ??= this.#openRaw(decoder, hashing);
    const feed = this.#raw;
    if (!decoder.boundary) {
      // A copy of just these bytes (the caller still writes them; a Buffer's slice() would be
      // a view), handed over without another copy.
      await this.#sendRaw(feed, new Uint8Array(bytes), bytes.byteLength);
      return;
    }
    let queued = feed.streams.get(stream);
    if (!queued) {
      queued = { pending: [], pendingBytes: 0 };
      feed.streams.set(stream, queued);
    }
    queued.pending.push(bytes);
    queued.pendingBytes += bytes.byteLength;
    if (queued.pendingBytes >= RAW_PIECE_BYTES) await this.#flushRaw(feed, queued, false);
  }

  #openRaw(decoder: RawDecoderSpec, hashing: 'values' | 'rows'): RawFeed {
    if (hashing === 'rows' && !decoder.boundary) {
      throw new HonkError('CONNECTOR_MISUSE', `Raw decoder ${decoder.module} names an encoding but no row boundary.`);
    }
    const count = decoder.boundary ? this.#parallel.pool.size : 1;
    // The worker gets what it can load and clone: the module and its arguments.
    const init: RawValidationWorkerInit = {
      ...this.#init(),
      decoder: { module: decoder.module, init: decoder.init },
      hashing,
    };
    const shards: Shard[] = [];
    for (let index = 0; index < count; index++) shards.push(this.#openShard('raw-validation', init));
    return { decoder, hashing, shards, streams: new Map() };
  }

  /** Sends a stream's pending bytes up to their last row boundary (all of them when `final`). */
  async #flushRaw(
    feed: RawFeed,
    queued: { pending: Uint8Array[]; pendingBytes: number },
    final: boolean,
  ): Promise<void> {
    if (queued.pendingBytes === 0) return;
    const joined = new Uint8Array(queued.pendingBytes);
    let at = 0;
    for (const part of queued.pending) {
      joined.set(part, at);
      at += part.byteLength;
    }
    const cut = final ? joined.byteLength : (feed.decoder.boundary as (bytes: Uint8Array) => number)(joined);
    // The rest (less than a row) waits for the bytes that complete it.
    queued.pending = cut < joined.byteLength ? [joined.slice(cut)] : [];
    queued.pendingBytes = joined.byteLength - cut;
    if (cut > 0) await this.#sendRaw(feed, joined, cut);
  }

  /** Sends `bytes[0, length)` (the whole buffer is handed over) to the least busy raw shard. */
  async #sendRaw(feed: RawFeed, bytes: Uint8Array, length: number): Promise<void> {
    const inFlight = () => feed.shards.reduce((sum, shard) => sum + shard.inFlight.size, 0);
    // Pieces are small: a few per worker keep every thread busy.
    while (inFlight() >= this.#parallel.depth * 2 * feed.shards.length) {
      await Promise.race(feed.shards.flatMap((shard) => [...shard.inFlight]));
    }
    if (this.#failure !== undefined) throw this.#failure;
    const shard = feed.shards.reduce((least, next) => (loadOf(next) < loadOf(least) ? next : least));
    this.#send(
      shard,
      'observe',
      length === bytes.byteLength ? bytes : bytes.subarray(0, length),
      bytes.buffer as ArrayBuffer,
    );
  }

  /** Sends `bytes` to `shard`; `owned`: a buffer nothing else uses, handed over instead of copied. */
  #send(shard: Shard, method: string, bytes: Uint8Array, owned?: ArrayBuffer): void {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const transfer = owned ? [owned] : whole ? [bytes.buffer as ArrayBuffer] : [];
    const call: Promise<void> = shard.session
      .then((session) => session.call<void>(method, bytes, transfer))
      .catch((error: unknown) => {
        this.#failure ??= error;
      })
      .finally(() => shard.inFlight.delete(call));
    shard.inFlight.add(call);
  }

  #inFlight(): number {
    return this.#shards.reduce((sum, shard) => sum + shard.inFlight.size, 0);
  }

  #openShards(): void {
    while (this.#shards.length < this.#parallel.pool.size)
      this.#shards.push(this.#openShard('validation', this.#init()));
  }

  #openShard(handler: 'validation' | 'raw-validation', init: ValidationWorkerInit | RawValidationWorkerInit): Shard {
    const session = this.#parallel.pool.open(handler, init);
    const shard: Shard = { session, inFlight: new Set() };
    session.then(
      (opened) => {
        shard.opened = opened;
      },
      (error: unknown) => {
        this.#failure ??= error;
      },
    );
    return shard;
  }

  /** Per validator, the summaries of every part (inline first). */
  async results(): Promise<Json[][]> {
    const raw = this.#raw;
    if (raw) for (const queued of raw.streams.values()) await this.#flushRaw(raw, queued, true);
    const shards = this.#raw ? [...this.#shards, ...this.#raw.shards] : this.#shards;
    await Promise.all(shards.flatMap((shard) => [...shard.inFlight]));
    if (this.#failure !== undefined) throw this.#failure;
    // A raw side observed nothing inline (it takes bytes, not batches): its parts are the
    // workers' alone, which also keeps their encoding on the merged summary.
    const parts: Json[][] = this.#local.map((accumulator) => (this.#raw ? [] : [accumulator.result()]));
    for (const shard of shards) {
      const summaries = await (await shard.session).call<Json[]>('results', null);
      summaries.forEach((summary, index) => {
        parts[index]?.push(summary);
      });
    }
    return parts;
  }

  async close(): Promise<void> {
    const shards = this.#raw ? [...this.#shards, ...this.#raw.shards] : this.#shards;
    await Promise.all(
      shards.map(async (shard) => {
        const session = await shard.session.catch(() => undefined);
        await session?.close();
      }),
    );
  }
}

/**
 * Creates a session hashing on `parallel.pool`'s workers. `options` are the task's
 * `validate:` options (the workers build the same validators from them); `sourceSchema` is
 * the schema of the batches given to `observeSource` (after transforms).
 */
export function createParallelValidationSession(
  options: ValidateOptions,
  sourceSchema: Schema,
  parallel: ParallelValidationOptions,
): AsyncValidationSession {
  const validators = createValidators(options);
  const settings: SideSettings = {
    pool: parallel.pool,
    inlineRows: parallel.inlineRows ?? INLINE_VALIDATION_ROWS,
    depth: Math.max(1, parallel.depth ?? 2),
  };
  const source = new Side(validators, options, sourceSchema, settings);
  const given = parallel.sourceSummaries;
  if (given !== undefined && given.length !== validators.length) {
    throw new HonkError(
      'INTERNAL',
      `${given.length} source summaries were given for ${validators.length} validators; they were recorded with other validate options.`,
    );
  }
  /** The encoding the given source summaries hashed raw rows in, if any. */
  const givenEncoding = given?.map((summary) => summaryEncoding(summary)).find((encoding) => encoding !== 'values');
  const merge = (validator: Validator, parts: Json[]): Json =>
    parts.length === 1 ? (parts[0] as Json) : (validator.combine as NonNullable<Validator['combine']>)(parts);
  let staged: Side | null = null;
  let stagedSchema: Schema | null = null;

  const startStaged = (schema: Schema): void => {
    if (staged !== null) {
      throw new HonkError(
        'INTERNAL',
        'ValidationSession.startStaged was called twice; a session validates one staged read.',
      );
    }
    stagedSchema = schema;
    staged = new Side(validators, options, schema, settings);
  };

  return {
    observeSource(batch) {
      if (given !== undefined) {
        return Promise.reject(
          new HonkError('INTERNAL', 'This session was given the source side; it reads only the staged side.'),
        );
      }
      if (staged !== null) {
        return Promise.reject(
          new HonkError('INTERNAL', 'ValidationSession.observeSource was called after the staged side started.'),
        );
      }
      return source.observe(batch);
    },
    observeSourceRaw(bytes, decoder) {
      // Encoded rows are hashed as they are when the decoder names their encoding; the staged
      // side then must be read the same way (observeStagedRaw).
      return source.observeRaw(bytes, decoder, decoder.encoding ? 'rows' : 'values');
    },
    startStaged,
    sourceRowEncoding: () => (given === undefined ? source.rawEncoding : givenEncoding),
    observeStaged(batch) {
      if (staged === null) startStaged(batch.schema);
      return (staged as unknown as Side).observe(batch);
    },
    observeStagedRaw(bytes, decoder, stream) {
      if (staged === null) {
        return Promise.reject(new HonkError('INTERNAL', 'observeStagedRaw needs startStaged(schema) first.'));
      }
      const sourceEncoding = given === undefined ? source.rawEncoding : givenEncoding;
      const hashing = (given === undefined ? source.rawHashing === 'rows' : givenEncoding !== undefined)
        ? 'rows'
        : 'values';
      if (hashing === 'rows' && decoder.encoding !== sourceEncoding) {
        return Promise.reject(
          new HonkError(
            'INTERNAL',
            `The staged data is encoded as ${decoder.encoding ?? 'values'}, but the source was hashed as ${sourceEncoding} rows; the two cannot be compared.`,
          ),
        );
      }
      return (staged as Side).observeRaw(bytes, decoder, hashing, stream);
    },
    async report() {
      if (staged === null || stagedSchema === null) {
        throw new HonkError(
          'INTERNAL',
          'ValidationSession.report was called before the staged side was read: call startStaged(schema) or observeStaged(batch) first.',
        );
      }
      const [sourceParts, stagedParts] = await Promise.all([
        given === undefined ? source.results() : given.map((summary) => [summary]),
        (staged as Side).results(),
      ]);
      const checks: ValidationCheck[] = [];
      validators.forEach((validator, index) => {
        checks.push(
          ...validator.compare({
            source: merge(validator, sourceParts[index] ?? []),
            staged: merge(validator, stagedParts[index] ?? []),
            sourceSchema,
            stagedSchema: stagedSchema as Schema,
          }),
        );
      });
      return { ok: checks.every((check) => check.ok), checks };
    },
    async sourceSummaries() {
      if (given !== undefined) return [...given];
      const parts = await source.results();
      return validators.map((validator, index) => merge(validator, parts[index] ?? []));
    },
    async close() {
      await Promise.all([source.close(), (staged as Side | null)?.close()]);
    },
  };
}

/**
 * Core wraps every source, sink, writer and snapshot a connector returns in a guard, so
 * connector authors get these guarantees for free and users get clear errors:
 * - one-time initialisation (`schema()`/`describe()` are memoised),
 * - no use after `close()`/`abort()`/`publish()`, reported as CONNECTOR_MISUSE,
 * - AbortSignal honoured between batches even if the connector forgets,
 * - iterators always closed (`return()` in `finally`), `close()` idempotent,
 * - errors that are not HonkErrors classified (`toHonkError`: a network or resource code is
 *   transient, ENOSPC is NO_SPACE with the free space of the file system, anything else is
 *   INTERNAL and not retried) and tagged with the connector and operation that threw them,
 * - every call reported to an optional {@link ActivityTracker}, so the run's watchdog knows
 *   which connector operation it is waiting for when a phase stops making progress.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { type ErrorOrigin, HonkError, isHonkError, throwIfAborted } from '../errors/honk-error.ts';
import { describeError } from '../errors/no-space.ts';
import { batchByteLength } from '../transfer/transfer.ts';
import type { ChunkedStaging, ChunkedWriteOptions, ChunkWriter, CommittedChunk } from './chunked-staging.ts';
import type {
  Json,
  PartitionOptions,
  PublishResult,
  RawChunk,
  RawReadOptions,
  ReadOptions,
  Sink,
  SinkWriter,
  Snapshot,
  SnapshotRef,
  Source,
  StagedTarget,
  TargetDescription,
  WriteOptions,
} from './connector.ts';

/** Learns when connector calls start and end (the run's watchdog implements it). */
export interface ActivityTracker {
  /** A call started; `what` reads like `connector "pg" read()`. Returns the function that ends it. */
  begin(what: string): () => void;
}

/** Optional extras of a guard. */
export interface GuardHooks {
  activity?: ActivityTracker;
  /** The local directory a sink writes to, when known: named in NO_SPACE errors, and where free space is read. */
  location?: string;
}

async function tag(
  connector: string,
  operation: string,
  error: unknown,
  origin: Partial<ErrorOrigin>,
): Promise<unknown> {
  if (isHonkError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  return describeError(error, { connector, operation, ...origin });
}

async function call<T>(
  connector: string,
  operation: string,
  run: () => Promise<T> | T,
  hooks: GuardHooks = {},
  origin: () => Partial<ErrorOrigin> = () => ({}),
): Promise<T> {
  const end = hooks.activity?.begin(`connector "${connector}" ${operation}`);
  try {
    return await run();
  } catch (error) {
    throw await tag(connector, operation, error, { ...(hooks.location ? { path: hooks.location } : {}), ...origin() });
  } finally {
    end?.();
  }
}

function misuse(connector: string, what: string, operation: string): HonkError {
  return new HonkError(
    'CONNECTOR_MISUSE',
    `${what} of connector "${connector}" was used (${operation}) after it was closed.`,
  );
}

function once<T>(run: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    promise ??= run();
    return promise;
  };
}

/** Honours the signal between items, tags errors, and always closes the inner iterator. */
function guardIterable<T>(
  connector: string,
  operation: string,
  signal: AbortSignal,
  open: () => AsyncIterable<T>,
  hooks: GuardHooks,
): AsyncIterable<T> {
  const what = `connector "${connector}" ${operation}`;
  return {
    async *[Symbol.asyncIterator]() {
      throwIfAborted(signal);
      const iterator = open()[Symbol.asyncIterator]();
      let done = false;
      try {
        while (true) {
          throwIfAborted(signal);
          let next: IteratorResult<T>;
          const end = hooks.activity?.begin(what);
          try {
            next = await iterator.next();
          } catch (error) {
            done = true;
            throw await tag(connector, operation, error, hooks.location ? { path: hooks.location } : {});
          } finally {
            end?.();
          }
          if (next.done) {
            done = true;
            return;
          }
          throwIfAborted(signal);
          yield next.value;
        }
      } finally {
        if (!done) await iterator.return?.();
      }
    },
  };
}

/** Wraps a source; `hooks` add activity tracking (see {@link GuardHooks}). */
export function guardSource(connector: string, source: Source, hooks: GuardHooks = {}): Source {
  let closed = false;
  const schema = once(() => call(connector, 'schema()', () => source.schema(), hooks));
  const guarded: Source = {
    schema: () => {
      if (closed) return Promise.reject(misuse(connector, 'A source', 'schema()'));
      return schema();
    },
    read(options: ReadOptions): AsyncIterable<RecordBatch> {
      if (closed) throw misuse(connector, 'A source', 'read()');
      return guardIterable(connector, 'read()', options.signal, () => source.read(options), hooks);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await call(connector, 'close()', () => source.close?.(), hooks);
    },
  };
  if (source.count) {
    const count = source.count.bind(source);
    guarded.count = () => call(connector, 'count()', count, hooks);
  }
  if (source.partitions) {
    const partitions = source.partitions.bind(source);
    guarded.partitions = (options?: PartitionOptions) =>
      call(connector, 'partitions()', () => partitions(options), hooks);
  }
  if (source.partition) {
    const partition = source.partition.bind(source);
    guarded.partition = (ref: Json) => {
      if (closed) throw misuse(connector, 'A source', 'partition()');
      return guardSource(connector, partition(ref), hooks);
    };
  }
  if (source.pin) {
    const pin = source.pin.bind(source);
    guarded.pin = () => call(connector, 'pin()', pin, hooks);
  }
  if (source.checkUnchanged) {
    const checkUnchanged = source.checkUnchanged.bind(source);
    guarded.checkUnchanged = (pin: Json, read: { rows: number }) =>
      call(connector, 'checkUnchanged()', () => checkUnchanged(pin, read), hooks);
  }
  if (source.incremental) {
    const incremental = source.incremental.bind(source);
    guarded.incremental = async (request) => {
      if (closed) throw misuse(connector, 'A source', 'incremental()');
      const read = await call(connector, 'incremental()', () => incremental(request), hooks);
      // The increment's sources live on the parent's read: guarded alike, closed with it.
      return {
        ...read,
        increment: guardSource(connector, read.increment, hooks),
        upToMark: () => guardSource(connector, read.upToMark(), hooks),
      };
    };
  }
  if (source.rawFormat && source.readRaw) {
    const rawFormat = source.rawFormat.bind(source);
    const readRaw = source.readRaw.bind(source);
    guarded.rawFormat = () => {
      if (closed) return Promise.reject(misuse(connector, 'A source', 'rawFormat()'));
      return call(connector, 'rawFormat()', rawFormat, hooks);
    };
    guarded.readRaw = (options: RawReadOptions): AsyncIterable<RawChunk> => {
      if (closed) throw misuse(connector, 'A source', 'readRaw()');
      return guardIterable(connector, 'readRaw()', options.signal, () => readRaw(options), hooks);
    };
    if (source.rawDecoder) {
      const rawDecoder = source.rawDecoder.bind(source);
      guarded.rawDecoder = () => {
        if (closed) return Promise.reject(misuse(connector, 'A source', 'rawDecoder()'));
        return call(connector, 'rawDecoder()', rawDecoder);
      };
    }
  }
  return guarded;
}

/** Wraps a sink and the writers it opens; `hooks` add activity tracking and the location for NO_SPACE errors. */
export function guardSink(connector: string, sink: Sink, hooks: GuardHooks = {}): Sink {
  let closed = false;
  const describe = once<TargetDescription>(() => call(connector, 'describe()', () => sink.describe(), hooks));
  const ensureOpen = (operation: string) => {
    if (closed) throw misuse(connector, 'A sink', operation);
  };
  const guarded: Sink = {
    describe: async () => {
      ensureOpen('describe()');
      return describe();
    },
    check: async (schema, options) => {
      ensureOpen('check()');
      await call(connector, 'check()', () => sink.check?.(schema, options), hooks);
    },
    open: async (schema: Schema, options: WriteOptions) => {
      ensureOpen('open()');
      throwIfAborted(options.signal);
      const writer = await call(connector, 'open()', () => sink.open(schema, options), hooks);
      return guardWriter(connector, writer, options.signal, hooks);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await call(connector, 'close()', () => sink.close?.(), hooks);
    },
  };
  if (sink.incrementalMark) {
    const incrementalMark = sink.incrementalMark.bind(sink);
    guarded.incrementalMark = async (key) => {
      ensureOpen('incrementalMark()');
      return call(connector, 'incrementalMark()', () => incrementalMark(key), hooks);
    };
  }
  if (sink.openChunked) {
    const openChunked = sink.openChunked.bind(sink);
    guarded.openChunked = async (schema: Schema, options: ChunkedWriteOptions) => {
      ensureOpen('openChunked()');
      throwIfAborted(options.signal);
      const staging = await call(connector, 'openChunked()', () => openChunked(schema, options), hooks);
      return guardChunkedStaging(connector, staging, options.signal, hooks);
    };
  }
  return guarded;
}

/** Wraps chunked staging, its chunk writers and the writer `finish()` returns. */
function guardChunkedStaging(
  connector: string,
  staging: ChunkedStaging,
  signal: AbortSignal,
  hooks: GuardHooks,
): ChunkedStaging {
  let closed = false;
  const ensureOpen = (operation: string) => {
    if (closed) throw misuse(connector, 'Chunked staging', operation);
  };
  return {
    committed: async (chunk) => {
      ensureOpen('committed()');
      return call(connector, 'committed()', () => staging.committed(chunk), hooks);
    },
    openChunk: async (chunk) => {
      ensureOpen('openChunk()');
      throwIfAborted(signal);
      const writer = await call(connector, 'openChunk()', () => staging.openChunk(chunk), hooks);
      return guardChunkWriter(connector, writer, signal, hooks);
    },
    finish: async (chunks) => {
      ensureOpen('finish()');
      throwIfAborted(signal);
      const writer = await call(connector, 'finish()', () => staging.finish(chunks), hooks);
      return guardWriter(connector, writer, signal, hooks);
    },
    abort: async () => {
      await call(connector, 'chunked staging abort()', () => staging.abort(), hooks);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await call(connector, 'chunked staging close()', () => staging.close?.(), hooks);
    },
  };
}

function guardChunkWriter(connector: string, writer: ChunkWriter, signal: AbortSignal, hooks: GuardHooks): ChunkWriter {
  let state: 'writing' | 'committed' | 'aborted' = 'writing';
  const expect = (operation: string) => {
    if (state !== 'writing') {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Chunk writer of connector "${connector}": ${operation} is not allowed once it is ${state}.`,
      );
    }
  };
  const guarded: ChunkWriter = {
    write: async (batch) => {
      expect('write()');
      throwIfAborted(signal);
      await call(connector, 'chunk write()', () => writer.write(batch), hooks);
    },
    commit: async (result): Promise<CommittedChunk> => {
      expect('commit()');
      throwIfAborted(signal);
      const committed = await call(connector, 'chunk commit()', () => writer.commit(result), hooks);
      state = 'committed';
      return committed;
    },
    abort: async (reason) => {
      if (state !== 'writing') return;
      state = 'aborted';
      await call(connector, 'chunk abort()', () => writer.abort(reason), hooks);
    },
  };
  if (writer.rawFormat && writer.writeRaw) {
    const rawFormat = writer.rawFormat.bind(writer);
    const writeRaw = writer.writeRaw.bind(writer);
    guarded.rawFormat = () => (state === 'writing' ? rawFormat() : null);
    guarded.writeRaw = async (bytes) => {
      expect('writeRaw()');
      throwIfAborted(signal);
      await call(connector, 'chunk writeRaw()', () => writeRaw(bytes), hooks);
    };
  }
  return guarded;
}

type WriterState = 'writing' | 'staged' | 'published' | 'aborted';

export function guardWriter(
  connector: string,
  writer: SinkWriter,
  signal: AbortSignal,
  hooks: GuardHooks = {},
): SinkWriter {
  let state: WriterState = 'writing';
  // What this attempt handed the writer so far: a NO_SPACE error says how far it got.
  let written = 0;
  const expect = (wanted: WriterState, operation: string) => {
    if (state !== wanted) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Writer of connector "${connector}": ${operation} is not allowed in state "${state}" (expected "${wanted}").`,
      );
    }
  };
  const sizes = (needed?: () => number) => () => ({
    writtenBytes: written,
    ...(needed ? { neededBytes: needed() } : {}),
  });
  const guarded: SinkWriter = {
    write: async (batch) => {
      expect('writing', 'write()');
      throwIfAborted(signal);
      await call(
        connector,
        'write()',
        () => writer.write(batch),
        hooks,
        sizes(() => batchByteLength(batch)),
      );
      written += batchByteLength(batch);
    },
    stage: async (): Promise<StagedTarget> => {
      expect('writing', 'stage()');
      throwIfAborted(signal);
      const staged = await call(connector, 'stage()', () => writer.stage(), hooks, sizes());
      state = 'staged';
      return { ...staged, reader: () => guardSource(connector, staged.reader(), hooks) };
    },
    publish: async (): Promise<PublishResult> => {
      expect('staged', 'publish()');
      throwIfAborted(signal);
      const result = await call(connector, 'publish()', () => writer.publish(), hooks);
      state = 'published';
      return result;
    },
    abort: async (reason) => {
      if (state === 'aborted' || state === 'published') return;
      state = 'aborted';
      await call(connector, 'abort()', () => writer.abort(reason), hooks);
    },
  };
  if (writer.rawFormat && writer.writeRaw) {
    const rawFormat = writer.rawFormat.bind(writer);
    const writeRaw = writer.writeRaw.bind(writer);
    guarded.rawFormat = () => (state === 'writing' ? rawFormat() : null);
    guarded.writeRaw = async (bytes) => {
      expect('writing', 'writeRaw()');
      throwIfAborted(signal);
      await call(
        connector,
        'writeRaw()',
        () => writeRaw(bytes),
        hooks,
        sizes(() => bytes.byteLength),
      );
      written += bytes.byteLength;
    };
  }
  return guarded;
}

export function guardSnapshot(connector: string, snapshot: Snapshot, hooks: GuardHooks = {}): Snapshot {
  return {
    take: () => call(connector, 'snapshot take()', () => snapshot.take(), hooks),
    restore: (ref: SnapshotRef) => call(connector, 'snapshot restore()', () => snapshot.restore(ref), hooks),
    discard: (ref: SnapshotRef) => call(connector, 'snapshot discard()', () => snapshot.discard(ref), hooks),
  };
}

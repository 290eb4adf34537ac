/**
 * Core wraps every source, sink, writer and snapshot a connector returns in a guard, so
 * connector authors get these guarantees for free and users get clear errors:
 * - one-time initialisation (`schema()`/`describe()` are memoised),
 * - no use after `close()`/`abort()`/`publish()`, reported as CONNECTOR_MISUSE,
 * - AbortSignal honoured between batches even if the connector forgets,
 * - iterators always closed (`return()` in `finally`), `close()` idempotent,
 * - unknown errors tagged with the connector and operation that threw them.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { HonkError, isHonkError, throwIfAborted } from '../errors/honk-error.ts';
import type {
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

function tag(connector: string, operation: string, error: unknown): unknown {
  if (isHonkError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HonkError('INTERNAL', `Connector "${connector}" failed in ${operation}: ${message}`, {
    cause: error,
    retryable: true,
  });
}

async function call<T>(connector: string, operation: string, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw tag(connector, operation, error);
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
): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      throwIfAborted(signal);
      const iterator = open()[Symbol.asyncIterator]();
      let done = false;
      try {
        while (true) {
          throwIfAborted(signal);
          let next: IteratorResult<T>;
          try {
            next = await iterator.next();
          } catch (error) {
            done = true;
            throw tag(connector, operation, error);
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

export function guardSource(connector: string, source: Source): Source {
  let closed = false;
  const schema = once(() => call(connector, 'schema()', () => source.schema()));
  const guarded: Source = {
    schema: () => {
      if (closed) return Promise.reject(misuse(connector, 'A source', 'schema()'));
      return schema();
    },
    read(options: ReadOptions): AsyncIterable<RecordBatch> {
      if (closed) throw misuse(connector, 'A source', 'read()');
      return guardIterable(connector, 'read()', options.signal, () => source.read(options));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await call(connector, 'close()', () => source.close?.());
    },
  };
  if (source.count) {
    const count = source.count.bind(source);
    guarded.count = () => call(connector, 'count()', count);
  }
  if (source.partitions) {
    const partitions = source.partitions.bind(source);
    guarded.partitions = () => call(connector, 'partitions()', partitions);
  }
  if (source.rawFormat && source.readRaw) {
    const rawFormat = source.rawFormat.bind(source);
    const readRaw = source.readRaw.bind(source);
    guarded.rawFormat = () => {
      if (closed) return Promise.reject(misuse(connector, 'A source', 'rawFormat()'));
      return call(connector, 'rawFormat()', rawFormat);
    };
    guarded.readRaw = (options: RawReadOptions): AsyncIterable<RawChunk> => {
      if (closed) throw misuse(connector, 'A source', 'readRaw()');
      return guardIterable(connector, 'readRaw()', options.signal, () => readRaw(options));
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

export function guardSink(connector: string, sink: Sink): Sink {
  let closed = false;
  const describe = once<TargetDescription>(() => call(connector, 'describe()', () => sink.describe()));
  const ensureOpen = (operation: string) => {
    if (closed) throw misuse(connector, 'A sink', operation);
  };
  return {
    describe: async () => {
      ensureOpen('describe()');
      return describe();
    },
    check: async (schema, options) => {
      ensureOpen('check()');
      await call(connector, 'check()', () => sink.check?.(schema, options));
    },
    open: async (schema: Schema, options: WriteOptions) => {
      ensureOpen('open()');
      throwIfAborted(options.signal);
      const writer = await call(connector, 'open()', () => sink.open(schema, options));
      return guardWriter(connector, writer, options.signal);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await call(connector, 'close()', () => sink.close?.());
    },
  };
}

type WriterState = 'writing' | 'staged' | 'published' | 'aborted';

export function guardWriter(connector: string, writer: SinkWriter, signal: AbortSignal): SinkWriter {
  let state: WriterState = 'writing';
  const expect = (wanted: WriterState, operation: string) => {
    if (state !== wanted) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Writer of connector "${connector}": ${operation} is not allowed in state "${state}" (expected "${wanted}").`,
      );
    }
  };
  const guarded: SinkWriter = {
    write: async (batch) => {
      expect('writing', 'write()');
      throwIfAborted(signal);
      await call(connector, 'write()', () => writer.write(batch));
    },
    stage: async (): Promise<StagedTarget> => {
      expect('writing', 'stage()');
      throwIfAborted(signal);
      const staged = await call(connector, 'stage()', () => writer.stage());
      state = 'staged';
      return { ...staged, reader: () => guardSource(connector, staged.reader()) };
    },
    publish: async (): Promise<PublishResult> => {
      expect('staged', 'publish()');
      throwIfAborted(signal);
      const result = await call(connector, 'publish()', () => writer.publish());
      state = 'published';
      return result;
    },
    abort: async (reason) => {
      if (state === 'aborted' || state === 'published') return;
      state = 'aborted';
      await call(connector, 'abort()', () => writer.abort(reason));
    },
  };
  if (writer.rawFormat && writer.writeRaw) {
    const rawFormat = writer.rawFormat.bind(writer);
    const writeRaw = writer.writeRaw.bind(writer);
    guarded.rawFormat = () => (state === 'writing' ? rawFormat() : null);
    guarded.writeRaw = async (bytes) => {
      expect('writing', 'writeRaw()');
      throwIfAborted(signal);
      await call(connector, 'writeRaw()', () => writeRaw(bytes));
    };
  }
  return guarded;
}

export function guardSnapshot(connector: string, snapshot: Snapshot): Snapshot {
  return {
    take: () => call(connector, 'snapshot take()', () => snapshot.take()),
    restore: (ref: SnapshotRef) => call(connector, 'snapshot restore()', () => snapshot.restore(ref)),
    discard: (ref: SnapshotRef) => call(connector, 'snapshot discard()', () => snapshot.discard(ref)),
  };
}

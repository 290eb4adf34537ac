/**
 * The streaming pipeline: source.read() → transforms → observers (hashing) → sink writer.
 *
 * Reading and writing overlap through a bounded hand-off of `depth` batches, so memory is
 * bounded by batch size × depth no matter how large the dataset is, and a slow sink
 * applies backpressure to the source (the reader waits for room before pulling again).
 */
import type { Data, RecordBatch } from 'apache-arrow';
import type { SinkWriter, Source } from '../connector/connector.ts';
import { abortError, throwIfAborted } from '../errors/honk-error.ts';
import type { TransferStats } from '../run/task-report.ts';
import type { BatchTransform } from './transform.ts';

export interface TransferOptions {
  source: Source;
  writer: Pick<SinkWriter, 'write'>;
  transforms?: readonly BatchTransform[];
  /** Rows per batch asked of the source. Default 65,536. */
  batchRows?: number;
  signal: AbortSignal;
  /**
   * Sees every batch after transforms, before it is written (validation hashing). A returned
   * promise is awaited before the next batch is read: the observer's backpressure.
   */
  observe?: (batch: RecordBatch) => void | Promise<void>;
  /** Called with running totals at most every `progressIntervalMs`, and once at the end. */
  onProgress?: (stats: TransferStats) => void;
  /** Default 250 ms. */
  progressIntervalMs?: number;
  /** Batches in flight between reader and writer. Default 2. */
  depth?: number;
}

export const DEFAULT_BATCH_ROWS = 65_536;

/** Bytes held by a batch's Arrow buffers (the in-memory size moved). */
export function batchByteLength(batch: RecordBatch): number {
  let total = 0;
  const visit = (data: Data): void => {
    total += data.values?.byteLength ?? 0;
    total += data.valueOffsets?.byteLength ?? 0;
    total += data.nullBitmap?.byteLength ?? 0;
    for (const child of data.children) visit(child);
    if (data.dictionary) for (const chunk of data.dictionary.data) visit(chunk);
  };
  visit(batch.data);
  return total;
}

/** Runs transforms over a stream of batches, tracking the absolute row offset for errors. */
export async function* applyTransforms(
  batches: AsyncIterable<RecordBatch>,
  transforms: readonly BatchTransform[],
  signal: AbortSignal,
): AsyncGenerator<RecordBatch> {
  let rowOffset = 0;
  for await (const input of batches) {
    let batch = input;
    for (const transform of transforms) {
      batch = await transform.apply(batch, { rowOffset, signal });
    }
    rowOffset += input.numRows;
    yield batch;
  }
}

/**
 * A single-producer, single-consumer queue with a capacity: `push` waits while full,
 * `shift` waits while empty. `close`/`fail` end it from the producer side.
 */
class BoundedChannel<T> {
  readonly #items: T[] = [];
  #closed = false;
  #error: unknown;
  #failed = false;
  #wakeReader: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;

  readonly capacity: number;
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  async push(item: T, signal: AbortSignal): Promise<void> {
    while (this.#items.length >= this.capacity) {
      if (this.#failed) throw this.#error;
      throwIfAborted(signal);
      await new Promise<void>((resolve) => {
        this.#wakeWriter = resolve;
      });
    }
    this.#items.push(item);
    this.#wake('reader');
  }

  async shift(): Promise<IteratorResult<T>> {
    while (this.#items.length === 0) {
      if (this.#failed) throw this.#error;
      if (this.#closed) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#wakeReader = resolve;
      });
    }
    const value = this.#items.shift() as T;
    this.#wake('writer');
    return { done: false, value };
  }

  close(): void {
    this.#closed = true;
    this.#wake('reader');
  }

  /** Ends the channel with an error seen by both sides. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#items.length = 0;
    this.#wake('reader');
    this.#wake('writer');
  }

  #wake(side: 'reader' | 'writer'): void {
    const wake = side === 'reader' ? this.#wakeReader : this.#wakeWriter;
    if (side === 'reader') this.#wakeReader = undefined;
    else this.#wakeWriter = undefined;
    wake?.();
  }
}

/**
 * Streams every batch from `source` through `transforms` into `writer` (which must be
 * open). Does not stage, publish or abort: the caller owns the writer's lifecycle.
 */
export async function transfer(options: TransferOptions): Promise<TransferStats> {
  const { source, writer, signal } = options;
  const transforms = options.transforms ?? [];
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const interval = options.progressIntervalMs ?? 250;
  const channel = new BoundedChannel<RecordBatch>(Math.max(1, options.depth ?? 2));
  const started = performance.now();
  const stats: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
  let lastProgress = started;

  const snapshotStats = (now: number): TransferStats => {
    const elapsedMs = now - started;
    return { ...stats, elapsedMs, rowsPerSecond: elapsedMs > 0 ? (stats.rows * 1000) / elapsedMs : 0 };
  };

  const onAbort = () => channel.fail(abortError(signal));
  signal.addEventListener('abort', onAbort, { once: true });

  const produce = async () => {
    try {
      throwIfAborted(signal);
      const batches = applyTransforms(source.read({ signal, batchRows }), transforms, signal);
      for await (const batch of batches) {
        if (batch.numRows === 0) continue;
        await options.observe?.(batch);
        await channel.push(batch, signal);
      }
      channel.close();
    } catch (error) {
      channel.fail(error);
      throw error;
    }
  };

  const consume = async () => {
    try {
      while (true) {
        const next = await channel.shift();
        if (next.done) return;
        const batch = next.value;
        await writer.write(batch);
        stats.rows += batch.numRows;
        stats.bytes += batchByteLength(batch);
        stats.batches += 1;
        const now = performance.now();
        if (options.onProgress && now - lastProgress >= interval) {
          lastProgress = now;
          options.onProgress(snapshotStats(now));
        }
      }
    } catch (error) {
      channel.fail(error);
      throw error;
    }
  };

  try {
    const results = await Promise.allSettled([produce(), consume()]);
    // Report the first real failure: a consumer failure makes the producer fail too, with
    // the same error, so order does not lose information.
    for (const result of results) if (result.status === 'rejected') throw result.reason;
    throwIfAborted(signal);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const final = snapshotStats(performance.now());
  options.onProgress?.(final);
  return final;
}

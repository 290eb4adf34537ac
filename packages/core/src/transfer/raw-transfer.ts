/**
 * The raw byte fast path: when a source and a sink writer speak the same byte format and no
 * transform applies, the source's bytes go to the writer untouched, with no Arrow decode and
 * encode in between. Validation keeps its meaning: when asked, the source also decodes the
 * very bytes it forwards into Arrow batches, which `observe` hashes like any other transfer,
 * and the staged data is read back and compared as usual.
 *
 * One write is in flight while the next chunk is read, so reading and writing overlap and
 * memory stays bounded by two chunks (plus the decoded batches when validating).
 */
import type { RecordBatch } from 'apache-arrow';
import type { SinkWriter, Source } from '../connector/connector.ts';
import { throwIfAborted } from '../errors/honk-error.ts';
import type { TransferStats } from '../run/task-report.ts';

/**
 * The byte format both sides share, or null when the raw path does not apply (either side
 * lacks it, or the formats differ). Never throws for a side that cannot say.
 */
export async function sharedRawFormat(
  source: Source,
  writer: Pick<SinkWriter, 'rawFormat' | 'writeRaw'>,
): Promise<string | null> {
  if (!source.rawFormat || !source.readRaw || !writer.rawFormat || !writer.writeRaw) return null;
  const wanted = writer.rawFormat();
  if (wanted === null) return null;
  const offered = await source.rawFormat();
  return offered !== null && offered === wanted ? offered : null;
}

export interface RawTransferOptions {
  source: Source;
  writer: Pick<SinkWriter, 'writeRaw'>;
  signal: AbortSignal;
  /** Rows per decoded batch when `observe` is set. */
  batchRows: number;
  /**
   * Sees the batches decoded from the forwarded bytes (validation hashing); decoding is
   * skipped without it. A returned promise is awaited (backpressure).
   */
  observe?: (batch: RecordBatch) => void | Promise<void>;
  /**
   * Sees the forwarded bytes themselves, in order (validation decoding them on a worker
   * thread, see `Source.rawDecoder`); the source then does not decode. Awaited (backpressure).
   */
  observeRaw?: (bytes: Uint8Array) => void | Promise<void>;
  onProgress?: (stats: TransferStats) => void;
  /** Default 250 ms. */
  progressIntervalMs?: number;
}

/**
 * Streams raw bytes from `source.readRaw()` into `writer.writeRaw()`. The caller checked
 * {@link sharedRawFormat} and owns the writer's lifecycle. `bytes` in the stats are the raw
 * bytes moved (there are no Arrow buffers).
 */
export async function rawTransfer(options: RawTransferOptions): Promise<TransferStats> {
  const { source, writer, signal, observe, observeRaw } = options;
  const interval = options.progressIntervalMs ?? 250;
  const started = performance.now();
  const stats: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
  let lastProgress = started;
  const snapshotStats = (now: number): TransferStats => {
    const elapsedMs = now - started;
    return { ...stats, elapsedMs, rowsPerSecond: elapsedMs > 0 ? (stats.rows * 1000) / elapsedMs : 0 };
  };
  const writeRaw = writer.writeRaw!.bind(writer);
  let pending: Promise<void> | undefined;
  try {
    for await (const chunk of source.readRaw!({
      signal,
      batchRows: options.batchRows,
      decode: observe !== undefined,
    })) {
      for (const batch of chunk.batches) if (batch.numRows > 0) await observe?.(batch);
      if (observeRaw && chunk.bytes.byteLength > 0) await observeRaw(chunk.bytes);
      if (pending) await pending;
      throwIfAborted(signal);
      if (chunk.bytes.byteLength > 0) {
        pending = writeRaw(chunk.bytes);
        // Awaited before the next write; this only keeps a failure from going unhandled meanwhile.
        pending.catch(() => {});
      } else pending = undefined;
      stats.rows += chunk.rows;
      stats.bytes += chunk.bytes.byteLength;
      stats.batches += 1;
      const now = performance.now();
      if (options.onProgress && now - lastProgress >= interval) {
        lastProgress = now;
        options.onProgress(snapshotStats(now));
      }
    }
    if (pending) await pending;
  } finally {
    // A failed read must not leave a write running unobserved.
    await pending?.catch(() => {});
  }
  throwIfAborted(signal);
  const final = snapshotStats(performance.now());
  options.onProgress?.(final);
  return final;
}

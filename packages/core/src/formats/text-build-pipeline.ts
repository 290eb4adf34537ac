/**
 * Builds the batches of a CSV or NDJSON read on worker threads (text-build-worker.ts) while
 * the main thread scans on: the scanner hands over a batch's cells and text and moves to the
 * next rows, and batches come back in order. With two workers, building — the larger part
 * of reading text — runs beside scanning instead of after it.
 *
 * At most `depth` batches are being built at once (memory: depth × a batch's text and
 * cells, ~8 MiB each at most, see text-batches.ts).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { batchesFromBytes, rebadge, schemaToBytes } from '../workers/batch-transport.ts';
import { sharedWorkerPool, type WorkerSession } from '../workers/worker-pool.ts';
import type { TextBuildInit, TextBuildRequest } from './text-build-worker.ts';
import type { CellColumn, CellOrigin } from './text-cells.ts';

export class TextBuildPipeline {
  readonly #schema: Schema;
  readonly #sessions: Array<Promise<WorkerSession>>;
  /** Sessions once open: batches go to the one whose thread is least busy (a codec may share it). */
  readonly #opened: WorkerSession[] = [];
  readonly #queue: Array<Promise<Uint8Array>> = [];
  readonly depth: number;
  #next = 0;

  constructor(init: Omit<TextBuildInit, 'schema'>, schema: Schema) {
    this.#schema = schema;
    const pool = sharedWorkerPool();
    const opening: TextBuildInit = { ...init, schema: schemaToBytes(schema) };
    this.#sessions = Array.from({ length: pool.size }, () => pool.open('text-build', opening));
    for (const session of this.#sessions) {
      session.then(
        (opened) => this.#opened.push(opened),
        () => undefined,
      );
    }
    this.depth = pool.size;
  }

  /** Batches handed over and not yet taken. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Hands over the first `rows` cells of `columns`, which point into `bytes[0, end)`; copies
   * what it needs, so the caller may reuse its buffers at once.
   */
  submit(bytes: Uint8Array, end: number, columns: readonly CellColumn[], rows: number, origin: CellOrigin): void {
    const request: TextBuildRequest = {
      bytes: bytes.slice(0, end),
      starts: columns.map((cells) => cells.start.slice(0, rows)),
      ends: columns.map((cells) => cells.end.slice(0, rows)),
      kinds: columns.map((cells) => cells.kind.slice(0, rows)),
      rows,
      origin: origin.lines ? { ...origin, lines: origin.lines.slice(0, rows) } : origin,
    };
    const transfer: ArrayBuffer[] = [
      request.bytes.buffer as ArrayBuffer,
      ...request.starts.map((array) => array.buffer as ArrayBuffer),
      ...request.ends.map((array) => array.buffer as ArrayBuffer),
      ...request.kinds.map((array) => array.buffer as ArrayBuffer),
      ...(request.origin.lines ? [request.origin.lines.buffer as ArrayBuffer] : []),
    ];
    const idle =
      this.#opened.length === this.#sessions.length
        ? this.#opened.reduce((least, next) => (next.load < least.load ? next : least))
        : undefined;
    const session = idle
      ? Promise.resolve(idle)
      : (this.#sessions[this.#next++ % this.#sessions.length] as Promise<WorkerSession>);
    const built = session.then((opened) => opened.call<Uint8Array>('build', request, transfer));
    built.catch(() => undefined);
    this.#queue.push(built);
  }

  /** The oldest batch handed over, once built (its errors, e.g. an unparseable value, surface here). */
  async take(): Promise<RecordBatch> {
    const built = this.#queue.shift();
    if (!built) throw new Error('TextBuildPipeline.take() with nothing handed over');
    const [batch] = batchesFromBytes(await built);
    return rebadge(batch as RecordBatch, this.#schema);
  }

  async close(): Promise<void> {
    await Promise.all(this.#queue.splice(0).map((built) => built.catch(() => undefined)));
    await Promise.all(this.#sessions.map(async (session) => (await session.catch(() => undefined))?.close()));
  }
}

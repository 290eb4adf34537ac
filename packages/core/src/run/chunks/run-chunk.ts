/**
 * One chunk of a chunked task (see `docs/chunks.md`): preflight, then either the chunk is
 * already staged under its plan (an earlier attempt committed it and died before the task
 * store heard of it: its recorded result is reused, nothing moves again), or its partition
 * streams into the chunk's staging — raw bytes when both sides share a format, else Arrow —
 * hashed on the way, and is committed together with its source-side validation summaries.
 * The staged side is validated once for the whole task when it finishes (finish-chunks.ts).
 *
 * A chunk that finds the source changed since the plan (another schema, a changed file)
 * fails with SOURCE_CHANGED, not retryable: no retry of the chunk can match the plan; the
 * chunked task then plans its chunks again.
 */
import { type ChunkedStaging, type ChunkWriter, chunkName } from '../../connector/chunked-staging.ts';
import type { Json, Logger, Source } from '../../connector/connector.ts';
import type { ConnectorRegistry } from '../../connector/connector-registry.ts';
import { HonkError, toHonkError } from '../../errors/honk-error.ts';
import { chunkTaskId } from '../../queue/chunk-split.ts';
import { rawTransfer, sharedRawFormat } from '../../transfer/raw-transfer.ts';
import { DEFAULT_BATCH_ROWS, transfer } from '../../transfer/transfer.ts';
import type { AsyncValidationSession } from '../../validate/index.ts';
import type { WorkerPool } from '../../workers/worker-pool.ts';
import { type Prepared, prepareTask, schemaLines } from '../prepare-task.ts';
import { validationSession, workerDecoder } from '../staged-validation.ts';
import type { TaskDefinition } from '../task-definition.ts';
import type { ChunkResult, ChunkRun, RunEvent, TaskReport, TransferStats } from '../task-report.ts';
import { checkPlanSchema, parseChunkRef } from './plan-chunks.ts';
import { RunHarness } from './run-harness.ts';

export interface RunChunkOptions {
  /** The chunked task (its id, not the chunk record's: staging names derive from it). */
  task: TaskDefinition;
  connectors: ConnectorRegistry;
  /** Which chunk: its place, its plan, and the ref its record carries (`TaskRecord.chunkOf`). */
  chunk: { index: number; plan: string; ref: Json };
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  logger?: Logger;
  /** Minimum milliseconds between progress events. Default 250. */
  progressIntervalMs?: number;
  /** As runTask's. */
  transferPath?: 'auto' | 'arrow';
  /** As runTask's. */
  idleTimeoutMs?: number;
  /** As runTask's. */
  timeoutMs?: number;
  /** As runTask's. */
  workers?: WorkerPool | false;
}

const ZERO: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };

/** Runs one chunk. Always resolves with a report; on success `report.chunk` is what the chunk records. */
export async function runChunk(options: RunChunkOptions): Promise<TaskReport> {
  const { task, chunk } = options;
  const id = chunkTaskId(task.id, chunk.index);
  const harness = new RunHarness({
    taskId: id,
    signal: options.signal,
    onEvent: options.onEvent,
    logger: options.logger,
    idleTimeoutMs: task.idleTimeoutMs ?? options.idleTimeoutMs,
    timeoutMs: task.timeoutMs ?? options.timeoutMs,
  });
  const { signal } = harness;
  let stats = ZERO;
  let prepared: Prepared | undefined;
  let staging: ChunkedStaging | undefined;
  let writer: ChunkWriter | undefined;
  let part: Source | undefined;
  let session: AsyncValidationSession | undefined;
  let run: ChunkRun | undefined;
  let path: TaskReport['path'];

  const finish = (error?: unknown): TaskReport => {
    harness.done();
    const report: TaskReport = {
      taskId: id,
      ok: error === undefined,
      stats,
      timings: harness.timings,
      startedAt: harness.startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      ...(path ? { path } : {}),
      ...(prepared ? { schema: { source: schemaLines(prepared.schema) } } : {}),
      ...(run ? { chunk: run } : {}),
    };
    if (error !== undefined) {
      const honk = planMismatch(toHonkError(error));
      report.error = honk.toJSON();
      Object.defineProperty(report, 'cause', { value: honk, enumerable: false });
    }
    return report;
  };

  try {
    harness.start();
    prepared = await harness.step(
      prepareTask(task, options.connectors, { signal, logger: harness.logger, activity: harness.watchdog }),
      (late) => late.close(),
    );
    const ref = parseChunkRef(chunk.ref);
    checkPlanSchema(prepared, task, ref.schema);
    const { source, sink, transforms, schema } = prepared;
    const openChunked = sink.openChunked as NonNullable<typeof sink.openChunked>;
    const opened = await harness.step(
      openChunked.call(sink, schema, { signal, ...prepared.publish, plan: chunk.plan }),
      (late) => late.close?.(),
    );
    staging = opened;
    const name = chunkName(chunk.index);
    const committed = await harness.step(opened.committed(name));
    if (committed) {
      // Staged by an attempt that died before the store heard of it: its result counts.
      const result = parseResult(committed.result);
      run = { index: chunk.index, plan: chunk.plan, reused: true, result };
      stats = { ...ZERO, rows: result.rows, bytes: result.bytes };
      path = result.path;
      harness.logger.info({ taskId: id, rows: result.rows }, 'chunk was staged by an earlier attempt; reused');
      return finish();
    }

    harness.enter('transfer');
    const validating = prepared.validators.length > 0;
    const hashing = validationSession(prepared.validators, task.validate, schema, options.workers);
    session = hashing;
    const partition = (source.partition as NonNullable<Source['partition']>).call(source, ref.partition);
    part = partition;
    const chunkWriter = await harness.step(opened.openChunk(name), (late) => late.abort());
    writer = chunkWriter;
    const common = {
      batchRows: task.batchRows ?? DEFAULT_BATCH_ROWS,
      signal,
      onProgress: (progress: TransferStats) => harness.emit({ type: 'task-progress', taskId: id, ...progress }),
      ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    };
    const rawFormat =
      options.transferPath !== 'arrow' && transforms.length === 0
        ? await harness.step(sharedRawFormat(partition, chunkWriter))
        : null;
    path = rawFormat === null ? 'arrow' : 'raw';
    // Raw rows go to worker threads whatever the chunk's size, so every chunk of a task is
    // hashed in the same encoding and their summaries add up.
    const decoder =
      rawFormat !== null && validating
        ? await harness.step(workerDecoder(partition, options.workers, Number.POSITIVE_INFINITY))
        : null;
    stats = await harness.step(
      rawFormat === null
        ? transfer({
            ...common,
            writer: chunkWriter,
            source: partition,
            transforms,
            observe: (batch) => hashing.observeSource(batch),
          })
        : rawTransfer({
            ...common,
            writer: chunkWriter,
            source: partition,
            ...(decoder
              ? { observeRaw: (bytes) => hashing.observeSourceRaw(bytes, decoder) }
              : validating
                ? { observe: (batch) => hashing.observeSource(batch) }
                : {}),
          }),
    );
    const summaries = validating ? await harness.step(hashing.sourceSummaries()) : [];
    const result: ChunkResult = { summaries, rows: stats.rows, bytes: stats.bytes, path };
    const done = await harness.step(chunkWriter.commit(result));
    writer = undefined;
    const ours = JSON.stringify(done.result) === JSON.stringify(result);
    if (ours && done.rows !== stats.rows) {
      throw new HonkError(
        'INTERNAL',
        `Chunk ${chunk.index} of task "${task.id}": ${stats.rows} rows were sent but the sink staged ${done.rows}; this is a connector defect, please report it.`,
      );
    }
    // Another attempt of this chunk committed first (this one was stale): its result counts.
    run = { index: chunk.index, plan: chunk.plan, reused: !ours, result: ours ? result : parseResult(done.result) };
    harness.logger.info({ taskId: id, rows: stats.rows, path }, 'chunk staged');
    return finish();
  } catch (error) {
    harness.fail(error);
    harness.logger.warn({ taskId: id, phase: harness.phase, code: toHonkError(error).code }, 'chunk run failed');
    const uncommitted = writer;
    if (uncommitted) await harness.cleanup('removing the chunk’s uncommitted rows', () => uncommitted.abort(error));
    await harness.settle();
    return finish(error);
  } finally {
    const closing: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['closing the validation workers', session ? () => (session as AsyncValidationSession).close() : undefined],
      ['closing the chunk’s source', part?.close ? () => (part as Source).close?.() as Promise<void> : undefined],
      ['closing the chunked staging', staging?.close ? () => staging?.close?.() as Promise<void> : undefined],
      ['closing the source and sink', prepared ? () => (prepared as Prepared).close() : undefined],
    ];
    for (const [what, close] of closing) if (close) await harness.cleanup(what, close);
  }
}

/**
 * A chunk's SOURCE_CHANGED means the source no longer matches the plan: no retry of the
 * chunk can help (it is not retryable); the chunked task plans again when it sees it.
 */
function planMismatch(error: HonkError): HonkError {
  if (error.code !== 'SOURCE_CHANGED' || !error.retryable) return error;
  return new HonkError(
    'SOURCE_CHANGED',
    `${error.message} The chunk no longer matches its plan; the task plans its chunks again.`,
    { retryable: false, cause: error, details: error.details },
  );
}

/** A committed chunk's result, checked (it was written by this code, maybe by another version). */
export function parseResult(value: Json): ChunkResult {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Array.isArray(value.summaries) &&
    typeof value.rows === 'number' &&
    typeof value.bytes === 'number' &&
    (value.path === 'arrow' || value.path === 'raw')
  ) {
    return value as ChunkResult;
  }
  throw new HonkError(
    'INTERNAL',
    'A staged chunk carries a result this version of Honk does not read; run the fleet on one Honk version.',
  );
}

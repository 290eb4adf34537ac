/**
 * runTask: move one dataset, verified.
 *
 *   preflight   resolve connectors, parse options, check capabilities, read the source
 *               schema, derive the output schema through the transforms, check the target
 *               accepts it: everything that can fail without moving data fails here
 *               (prepare-task.ts).
 *   snapshot    keep the existing target (when the connector can and the task wants it).
 *   transfer    stream source → transforms → hashing → staging writer (or, with no transforms
 *               and a raw format both sides share, the source's bytes untouched: raw-transfer.ts).
 *   validate    read the staged data back and compare with what was streamed.
 *   publish     hand the snapshot ref over (`onSnapshot`), pass the fencing check, then make
 *               the staged data the target atomically.
 *   rollback    a publish that failed is rolled back from the snapshot.
 *
 * Nothing half-written becomes visible: every failure before publish aborts the staging,
 * and a snapshot taken for a publish that never started is discarded (it only duplicates
 * the unchanged target). Every phase makes progress or times out (run-watchdog.ts): a run
 * idle for `idleTimeoutMs`, or longer than `timeoutMs`, is aborted with TIMED_OUT, and the
 * run stops waiting for connectors that ignore their AbortSignal.
 */
import type { ConnectorRegistry, Logger, SinkWriter, Snapshot, SnapshotRef, StagedTarget } from '../connector/index.ts';
import { toHonkError } from '../errors/honk-error.ts';
import { silentLogger } from '../observe/logger.ts';
import { rawTransfer, sharedRawFormat } from '../transfer/raw-transfer.ts';
import { DEFAULT_BATCH_ROWS, transfer } from '../transfer/transfer.ts';
import { type AsyncValidationSession, assertValid } from '../validate/index.ts';
import type { ValidationReport } from '../validate/validator.ts';
import type { WorkerPool } from '../workers/worker-pool.ts';
import { runChunkedLocally } from './chunks/run-chunked-task.ts';
import { type Prepared, prepareTask, schemaLines } from './prepare-task.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, RunWatchdog, settlesWithin, untilAborted } from './run-watchdog.ts';
import { readBackStaged, validationSession, workerDecoder } from './staged-validation.ts';
import type { TaskDefinition } from './task-definition.ts';
import type { RunEvent, RunPhase, TaskReport, TransferStats } from './task-report.ts';

export interface RunTaskOptions {
  task: TaskDefinition;
  connectors: ConnectorRegistry;
  /** Cancels the run; staged data is removed and nothing is published. */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  logger?: Logger;
  /** Minimum milliseconds between progress events. Default 250. */
  progressIntervalMs?: number;
  /**
   * Persist the snapshot ref (agents store it on the task record). Called right before
   * publish, after validation, so a record only ever points at a snapshot that a publish
   * may have been made over; throwing aborts the run without publishing.
   */
  onSnapshot?: (ref: SnapshotRef) => Promise<void>;
  /**
   * Called immediately before publish. Throwing (e.g. because the lease was lost) aborts the
   * run without publishing: this is the fencing point.
   */
  beforePublish?: () => Promise<void>;
  /**
   * `auto` (default) moves raw bytes when the source and the sink writer share a raw format
   * and no transform applies (see `Source.readRaw`); `arrow` always decodes to Arrow.
   */
  transferPath?: 'auto' | 'arrow';
  /**
   * Abort the attempt (TIMED_OUT, retryable) when no progress — no batch read or written, no
   * connector call ending, no phase change — happened for this long. Used when the task sets
   * no `idleTimeoutMs`. Default {@link DEFAULT_IDLE_TIMEOUT_MS} (10 minutes); 0 disables.
   */
  idleTimeoutMs?: number;
  /** Abort the attempt (TIMED_OUT) after this long in total. Used when the task sets no `timeoutMs`. Default none. */
  timeoutMs?: number;
  /**
   * Worker threads that decode and hash for validation while the main thread moves data
   * (see `validate/parallel-validation-session.ts`). Default: the process-wide pool;
   * `false` hashes on the main thread.
   */
  workers?: WorkerPool | false;
}

/**
 * After an abort, how long the step that was running (a transfer, a publish …) may take to
 * wind down before cleanup starts without it. Connectors that honour their signal end in
 * milliseconds and release cursors and streams in order; one that ignores it is left behind.
 * A publish still running after this has an unknown outcome: restoring the snapshot under
 * it could interleave with it, so it is not rolled back.
 */
const SETTLE_AFTER_ABORT_MS = 5000;

/** Runs one task. Always resolves with a report: `report.ok` tells success. */
export async function runTask(options: RunTaskOptions): Promise<TaskReport> {
  const { task } = options;
  // Chunked (see docs/chunks.md): without a task store, every chunk in this one attempt.
  if (task.chunks) return runChunkedLocally(options);
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const logger = options.logger ?? silentLogger;
  const startedAt = new Date();
  const timings: Partial<Record<RunPhase, number>> = {};
  let stats: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
  let phase: RunPhase = 'preflight';
  let phaseStarted = performance.now();
  const watchdog = new RunWatchdog({
    taskId: task.id,
    idleTimeoutMs: task.idleTimeoutMs ?? options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    timeoutMs: task.timeoutMs ?? options.timeoutMs,
    controller,
    phase: () => phase,
  });
  // Cleanup after a failure (abort the staging, discard or restore a snapshot, close) is
  // bounded like any phase, so a connector hanging in it cannot hold the run either.
  const cleanupMs = watchdog.idleTimeoutMs;
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.warn({ taskId: task.id, err: String(error) }, 'event listener threw');
    }
  };
  const enter = (next: RunPhase) => {
    const now = performance.now();
    timings[phase] = (timings[phase] ?? 0) + (now - phaseStarted);
    phase = next;
    phaseStarted = now;
    watchdog.touch();
    emit({ type: 'task-phase', taskId: task.id, phase: next });
  };
  let current: Promise<unknown> | undefined;
  /** Awaits a step of the run, but never past the run's abort. */
  const step = <T>(promise: Promise<T>, lateResult?: (value: T) => unknown) => {
    current = promise;
    return untilAborted(promise, signal, lateResult);
  };
  /** A cleanup step: bounded, logged when it fails or hangs, never throws. */
  const cleanup = async (what: string, run: () => Promise<unknown>): Promise<boolean> => {
    let failed = false;
    const done = run().catch((error: unknown) => {
      failed = true;
      logger.error({ taskId: task.id, err: String(error) }, `${what} failed`);
    });
    if (!(await settlesWithin(done, cleanupMs))) {
      logger.error({ taskId: task.id, waitedMs: cleanupMs }, `${what} did not finish in time; left running`);
      return false;
    }
    return !failed;
  };

  let prepared: Prepared | undefined;
  let writer: SinkWriter | undefined;
  let snapshot: Snapshot | undefined;
  let snapshotRef: SnapshotRef | null = null;
  let validation: ValidationReport | undefined;
  let published: TaskReport['published'];
  let publishing: Promise<unknown> | undefined;
  let restored = false;
  let schemas: TaskReport['schema'];
  let path: TaskReport['path'];
  let session: AsyncValidationSession | undefined;
  let incremental: TaskReport['incremental'];

  const finish = (error?: unknown): TaskReport => {
    enter('done');
    const report: TaskReport = {
      taskId: task.id,
      ok: error === undefined,
      stats,
      timings,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
    };
    if (validation) report.validation = validation;
    if (snapshotRef !== null || snapshot) report.snapshot = snapshotRef;
    if (published !== undefined) report.published = published;
    if (publishing && error !== undefined) report.restored = restored;
    if (schemas) report.schema = schemas;
    if (path) report.path = path;
    if (incremental) report.incremental = incremental;
    if (error !== undefined) {
      const honk = toHonkError(error);
      report.error = honk.toJSON();
      Object.defineProperty(report, 'cause', { value: honk, enumerable: false });
    }
    return report;
  };

  try {
    watchdog.start();
    emit({ type: 'task-phase', taskId: task.id, phase: 'preflight' });
    prepared = await step(prepareTask(task, options.connectors, { signal, logger, activity: watchdog }), (late) =>
      late.close(),
    );
    const { source, sink, transforms, schema } = prepared;
    schemas = { source: schemaLines(schema) };

    // ── snapshot ─────────────────────────────────────────────────────────────
    if (prepared.snapshot) {
      enter('snapshot');
      const taken = await step(prepared.snapshot());
      snapshot = taken;
      snapshotRef = await step(taken.take(), (late) => late && taken.discard(late));
      if (snapshotRef) emit({ type: 'task-snapshot-taken', taskId: task.id, ref: snapshotRef });
    }

    // ── transfer ─────────────────────────────────────────────────────────────
    enter('transfer');
    const validating = prepared.validators.length > 0;
    const hashing = validationSession(prepared.validators, task.validate, schema, options.workers);
    session = hashing;
    const opened = await step(sink.open(schema, { signal, ...prepared.publish }), (late) => late.abort());
    writer = opened;
    const batchRows = task.batchRows ?? DEFAULT_BATCH_ROWS;
    const common = {
      writer: opened,
      batchRows,
      signal,
      onProgress: (progress: TransferStats) => emit({ type: 'task-progress', taskId: task.id, ...progress }),
      ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    };
    // Raw byte fast path: nothing transforms the rows and both sides speak the same bytes.
    // The source still decodes what it forwards when validating, so the checks keep their meaning.
    const rawFormat =
      options.transferPath !== 'arrow' && transforms.length === 0 ? await step(sharedRawFormat(source, opened)) : null;
    path = rawFormat === null ? 'arrow' : 'raw';
    if (rawFormat !== null) logger.debug({ taskId: task.id, format: rawFormat }, 'raw transfer');
    // With a decoder for worker threads, the forwarded bytes are decoded and hashed there.
    const sourceDecoder =
      rawFormat !== null && validating ? await step(workerDecoder(source, options.workers, undefined)) : null;
    stats = await step(
      rawFormat === null
        ? transfer({ ...common, source, transforms, observe: (batch) => hashing.observeSource(batch) })
        : rawTransfer({
            ...common,
            source,
            ...(sourceDecoder
              ? { observeRaw: (bytes) => hashing.observeSourceRaw(bytes, sourceDecoder) }
              : validating
                ? { observe: (batch) => hashing.observeSource(batch) }
                : {}),
          }),
    );
    const staged: StagedTarget = await step(opened.stage());

    // ── validate ─────────────────────────────────────────────────────────────
    if (prepared.validators.length > 0) {
      enter('validate');
      const stagedSchema = await step(
        readBackStaged({
          staged,
          hashing,
          taskId: task.id,
          signal,
          batchRows,
          workers: options.workers,
          sourceRows: stats.rows,
          touch: () => watchdog.touch(),
        }),
      );
      schemas.target = schemaLines(stagedSchema);
      validation = await step(hashing.report());
      assertValid(validation, { taskId: task.id });
    }

    // ── publish ──────────────────────────────────────────────────────────────
    enter('publish');
    // The ref goes on the record only now: a record never points at a snapshot of an attempt
    // that stopped before publishing (such a snapshot is discarded below).
    if (snapshotRef && options.onSnapshot) await step(options.onSnapshot(snapshotRef));
    if (options.beforePublish) await step(options.beforePublish());
    const publish = opened.publish();
    publishing = publish;
    const result = await step(publish);
    published = result.ref;
    logger.info({ taskId: task.id, rows: stats.rows }, 'published');
    const increment = prepared.incremental;
    if (increment) {
      // The increment and its mark are committed: nothing after this undoes them (a failing
      // full check reports an older difference; it does not roll the increment back).
      writer = undefined;
      publishing = undefined;
      incremental = increment.report(stats, result);
      if (increment.fullCheckDue) {
        enter('validate');
        await step(increment.check(incremental, { transforms, schema, signal, batchRows, workers: options.workers }));
      }
    }
    return finish();
  } catch (error) {
    watchdog.stop();
    controller.abort(error);
    logger.warn({ taskId: task.id, phase, code: toHonkError(error).code }, 'task run failed');
    // A publish cut short may still be running: give it a moment to end, and roll back only
    // one that ended (it failed); see SETTLE_AFTER_ABORT_MS. Any other step is not waited
    // for before the staging goes: a stopping agent may not wait long.
    const publishEnded =
      publishing === undefined || current !== publishing || (await settlesWithin(publishing, SETTLE_AFTER_ABORT_MS));
    if (writer) {
      const opened = writer;
      await cleanup('removing the staged data', () => opened.abort(error));
    }
    const taken = snapshot;
    const ref = snapshotRef;
    if (taken && ref && !publishing) {
      // Nothing was published over it: the snapshot only duplicates the unchanged target.
      if (await cleanup('discarding the unused snapshot', () => taken.discard(ref))) snapshotRef = null;
    } else if (taken && ref && publishing && publishEnded) {
      enter('rollback');
      restored = await cleanup('restoring the snapshot', () => taken.restore(ref));
    } else if (publishing && !publishEnded) {
      logger.error(
        { taskId: task.id },
        'the publish did not end after the abort; its outcome is unknown, so the snapshot is not restored (a retry publishes again)',
      );
    }
    // Let the cut-short step wind down (a connector honouring its signal ends in
    // milliseconds) before the source and sink are closed under it.
    if (current && current !== publishing) await settlesWithin(current, SETTLE_AFTER_ABORT_MS);
    return finish(error);
  } finally {
    watchdog.stop();
    const validationWorkers = session;
    if (validationWorkers) await cleanup('closing the validation workers', () => validationWorkers.close());
    const opened = prepared;
    if (opened) await cleanup('closing the source and sink', () => opened.close());
  }
}

/**
 * The end of a chunked task (see `docs/chunks.md`), once every chunk is staged:
 *
 *   preflight  as runTask; the schema must still be the plan's (else SOURCE_CHANGED).
 *   snapshot   of the existing target, as runTask.
 *   validate   the sink's `finish(chunks)` checks every chunk is in the staging (else
 *              CHUNKS_MISSING: those chunks run again); the staged data is read back once,
 *              as a whole, and compared with the sum of the chunks' source-side summaries
 *              (counts and checksums add up; samples merge); then `Source.checkUnchanged`
 *              proves the source still is what the plan pinned, so every chunk read the same
 *              data — one point in time.
 *   publish    once, fenced (`beforePublish`), atomically, exactly as an unchunked task.
 *
 * On failure nothing is published. The staging is kept for a retry (a dropped connection, a
 * lost lease, a stopping agent) and removed when it cannot be used any more — validation
 * failed, the source changed, or another error that a retry would repeat — after
 * `beforeDiscard` (the agent's fencing check), so a stale agent never removes the staging
 * of the one that replaced it.
 */
import type { ChunkedStaging } from '../../connector/chunked-staging.ts';
import { ChunksMissingError, chunkName } from '../../connector/chunked-staging.ts';
import type { Json, Logger, SinkWriter, Snapshot, SnapshotRef, StagedTarget } from '../../connector/connector.ts';
import type { ConnectorRegistry } from '../../connector/connector-registry.ts';
import { HonkError, toHonkError, ValidationFailedError } from '../../errors/honk-error.ts';
import { DEFAULT_BATCH_ROWS } from '../../transfer/transfer.ts';
import { type AsyncValidationSession, assertValid, summaryEncoding } from '../../validate/index.ts';
import type { ValidationReport, Validator } from '../../validate/validator.ts';
import type { WorkerPool } from '../../workers/worker-pool.ts';
import { type Prepared, prepareTask, schemaLines } from '../prepare-task.ts';
import { settlesWithin } from '../run-watchdog.ts';
import { readBackStaged, validationSession } from '../staged-validation.ts';
import type { TaskDefinition } from '../task-definition.ts';
import type { ChunkResult, RunEvent, TaskReport, TransferStats } from '../task-report.ts';
import { type ChunkPlan, checkPlanSchema, schemaHash } from './plan-chunks.ts';
import { RunHarness, SETTLE_AFTER_ABORT_MS } from './run-harness.ts';

export interface FinishChunksOptions {
  task: TaskDefinition;
  connectors: ConnectorRegistry;
  planId: string;
  plan: ChunkPlan;
  /** Every chunk's recorded result, in chunk order. */
  chunks: readonly ChunkResult[];
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  logger?: Logger;
  /** As runTask's. */
  onSnapshot?: (ref: SnapshotRef) => Promise<void>;
  /** As runTask's: the fencing point before publish. */
  beforePublish?: () => Promise<void>;
  /** The fencing point before the staging of every chunk is removed; throwing keeps it. */
  beforeDiscard?: () => Promise<void>;
  idleTimeoutMs?: number;
  timeoutMs?: number;
  workers?: WorkerPool | false;
}

/** Validates and publishes a chunked task whose chunks are all staged. Always resolves with a report. */
export async function finishChunks(options: FinishChunksOptions): Promise<TaskReport> {
  const { task, chunks, planId, plan } = options;
  const harness = new RunHarness({
    taskId: task.id,
    signal: options.signal,
    onEvent: options.onEvent,
    logger: options.logger,
    idleTimeoutMs: task.idleTimeoutMs ?? options.idleTimeoutMs,
    timeoutMs: task.timeoutMs ?? options.timeoutMs,
  });
  const { signal, logger } = harness;
  const rows = chunks.reduce((sum, chunk) => sum + chunk.rows, 0);
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.bytes, 0);
  const paths = new Set(chunks.map((chunk) => chunk.path));
  let prepared: Prepared | undefined;
  let staging: ChunkedStaging | undefined;
  let writer: SinkWriter | undefined;
  let snapshot: Snapshot | undefined;
  let snapshotRef: SnapshotRef | null = null;
  let session: AsyncValidationSession | undefined;
  let validation: ValidationReport | undefined;
  let published: Json | undefined;
  let publishing: Promise<unknown> | undefined;
  let restored = false;
  let schemas: TaskReport['schema'];

  const finish = (error?: unknown): TaskReport => {
    harness.done();
    const elapsedMs = Date.now() - harness.startedAt.getTime();
    const stats: TransferStats = { rows, bytes, batches: 0, elapsedMs, rowsPerSecond: 0 };
    const report: TaskReport = {
      taskId: task.id,
      ok: error === undefined,
      stats,
      timings: harness.timings,
      startedAt: harness.startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      chunks: { plan: planId, count: chunks.length, rows },
      ...(paths.size === 1 ? { path: [...paths][0] as 'arrow' | 'raw' } : {}),
    };
    if (validation) report.validation = validation;
    if (snapshotRef !== null || snapshot) report.snapshot = snapshotRef;
    if (published !== undefined) report.published = published;
    if (publishing && error !== undefined) report.restored = restored;
    if (schemas) report.schema = schemas;
    if (error !== undefined) {
      const honk = toHonkError(error);
      report.error = honk.toJSON();
      Object.defineProperty(report, 'cause', { value: honk, enumerable: false });
    }
    return report;
  };

  try {
    harness.start();
    prepared = await harness.step(
      prepareTask(task, options.connectors, { signal, logger, activity: harness.watchdog }),
      (late) => late.close(),
    );
    checkPlanSchema(prepared, task, schemaHash(plan.schema));
    const { source, sink, schema } = prepared;
    schemas = { source: schemaLines(schema) };

    if (prepared.snapshot) {
      harness.enter('snapshot');
      const taken = await harness.step(prepared.snapshot());
      snapshot = taken;
      snapshotRef = await harness.step(taken.take(), (late) => late && taken.discard(late));
      if (snapshotRef) harness.emit({ type: 'task-snapshot-taken', taskId: task.id, ref: snapshotRef });
    }

    harness.enter('validate');
    const openChunked = sink.openChunked as NonNullable<typeof sink.openChunked>;
    staging = await harness.step(
      openChunked.call(sink, schema, { signal, ...prepared.publish, plan: planId }),
      (late) => late.close?.(),
    );
    const opened = await harness.step(staging.finish(chunks.map((_, index) => chunkName(index))), (late) =>
      late.abort(),
    );
    writer = opened;
    const staged: StagedTarget = await harness.step(opened.stage());
    if (staged.rows !== rows) {
      throw new ValidationFailedError(
        `Task '${task.id}': the chunks recorded ${rows} rows but the staging holds ${staged.rows}, so nothing was published.`,
        { details: { taskId: task.id, recordedRows: rows, stagedRows: staged.rows } },
      );
    }
    if (prepared.validators.length > 0) {
      const hashing = validationSession(
        prepared.validators,
        task.validate,
        schema,
        options.workers,
        combineSummaries(prepared.validators, chunks, task.id),
      );
      session = hashing;
      const stagedSchema = await harness.step(
        readBackStaged({
          staged,
          hashing,
          taskId: task.id,
          signal,
          batchRows: task.batchRows ?? DEFAULT_BATCH_ROWS,
          workers: options.workers,
          sourceRows: rows,
          touch: () => harness.watchdog.touch(),
        }),
      );
      schemas.target = schemaLines(stagedSchema);
      validation = await harness.step(hashing.report());
      assertValid(validation, { taskId: task.id });
    }
    // Every chunk read its own moment; the same data only if nothing changed since the plan.
    // (One chunk is one read at one moment: nothing to reconcile.)
    if (source.checkUnchanged && chunks.length > 1) await harness.step(source.checkUnchanged(plan.pin, { rows }));

    harness.enter('publish');
    if (snapshotRef && options.onSnapshot) await harness.step(options.onSnapshot(snapshotRef));
    if (options.beforePublish) await harness.step(options.beforePublish());
    const publish = opened.publish();
    publishing = publish;
    published = (await harness.step(publish)).ref;
    logger.info({ taskId: task.id, rows, chunks: chunks.length }, 'published');
    return finish();
  } catch (error) {
    harness.fail(error);
    const honk = toHonkError(error);
    logger.warn({ taskId: task.id, phase: harness.phase, code: honk.code }, 'chunked task finish failed');
    const publishEnded =
      publishing === undefined ||
      harness.current !== publishing ||
      (await settlesWithin(publishing, SETTLE_AFTER_ABORT_MS));
    // Staging a retry can use is kept; staging known to be useless goes (fenced first).
    const useless = !ChunksMissingError.isInstance(error) && (honk.code === 'SOURCE_CHANGED' || !honk.retryable);
    const target = writer ?? staging;
    if (useless && target) {
      const discard = async () => {
        await options.beforeDiscard?.();
        await target.abort();
      };
      await harness.cleanup('removing the staged chunks', discard);
    }
    const taken = snapshot;
    const ref = snapshotRef;
    if (taken && ref && !publishing) {
      if (await harness.cleanup('discarding the unused snapshot', () => taken.discard(ref))) snapshotRef = null;
    } else if (taken && ref && publishing && publishEnded) {
      harness.enter('rollback');
      restored = await harness.cleanup('restoring the snapshot', () => taken.restore(ref));
    }
    await harness.settle(publishing);
    return finish(error);
  } finally {
    const closing: Array<[string, (() => Promise<unknown>) | undefined]> = [
      ['closing the validation workers', session ? () => (session as AsyncValidationSession).close() : undefined],
      ['closing the chunked staging', staging?.close ? () => staging?.close?.() as Promise<void> : undefined],
      ['closing the source and sink', prepared ? () => (prepared as Prepared).close() : undefined],
    ];
    for (const [what, close] of closing) if (close) await harness.cleanup(what, close);
  }
}

/**
 * Per validator, the source-side summary of the whole task: the `combine` of its chunks'
 * summaries (each chunk observed a disjoint part of the source, like a worker thread does).
 */
export function combineSummaries(
  validators: readonly Validator[],
  chunks: readonly ChunkResult[],
  taskId: string,
): Json[] {
  // An empty chunk adds nothing, and its summary may name another encoding (no bytes came to
  // be hashed as rows): only chunks with rows are combined, unless every chunk is empty.
  const withRows = chunks.filter((chunk) => chunk.rows > 0);
  const counted = withRows.length > 0 ? withRows : chunks.slice(0, 1);
  return validators.map((validator, index) => {
    const parts = counted.map((chunk) => chunk.summaries[index]);
    if (
      parts.some((part) => part === undefined) ||
      counted.some((chunk) => chunk.summaries.length !== validators.length)
    ) {
      throw new HonkError(
        'INTERNAL',
        `Task '${taskId}': its chunks recorded validation summaries for other validate options; plan the chunks again (change or re-enqueue the task).`,
      );
    }
    const encodings = new Set(parts.map((part) => summaryEncoding(part as Json)));
    if (encodings.size > 1) {
      throw new HonkError(
        'INTERNAL',
        `Task '${taskId}': its chunks were hashed in different encodings (${[...encodings].join(', ')}), so their summaries do not add up; run every agent with the same worker settings.`,
      );
    }
    if (parts.length === 1) return parts[0] as Json;
    if (!validator.combine) {
      throw new HonkError(
        'CONFIG_INVALID',
        `Validator "${validator.name}" cannot combine summaries, so it cannot validate a chunked task.`,
      );
    }
    return validator.combine(parts as Json[]);
  });
}

/**
 * Driving a chunked task (see `docs/chunks.md`).
 *
 * With a task store (agents): each claim of the chunked task runs {@link runChunkedStep},
 * which decides from the record and its chunk records what this attempt does:
 * - no plan yet, or the previous attempt found the source changed → plan the chunks and hand
 *   them to the queue (`TaskStore.split`); the attempt ends and the task waits;
 * - a chunk died or was cancelled → the task fails (CHUNK_FAILED, not retried; a chunk that
 *   found the source changed fails it with SOURCE_CHANGED instead, which plans again). When
 *   the task runs again after such a failure (requeued, resumed), its failed chunks run
 *   again and its finished ones are kept;
 * - chunks still running (the task was woken early) → wait again;
 * - every chunk succeeded → validate the whole and publish ({@link finishChunks}); chunks
 *   whose staged data went missing run again first.
 * Each chunk record is claimed and run by any agent ({@link runChunk}); a chunk that
 * succeeded is the task's checkpoint: it never runs again under the same plan.
 *
 * Without a store (`runTask` of a task with `chunks`, or a store without `split`):
 * {@link runChunkedLocally} plans, runs the chunks one after another and finishes, in one
 * attempt — chunked staging without checkpoints across attempts.
 */
import { HonkError, TransientError, toHonkError } from '../../errors/honk-error.ts';
import { silentLogger } from '../../observe/logger.ts';
import type { SplitInput, SplitResult, TaskRecord } from '../../queue/task-store.ts';
import { prepareTask } from '../prepare-task.ts';
import type { RunTaskOptions } from '../run-task.ts';
import type { ChunkResult, TaskReport } from '../task-report.ts';
import { finishChunks } from './finish-chunks.ts';
import { type ChunkPlan, type PlannedChunks, parsePlan, planChunks } from './plan-chunks.ts';
import { parseResult, runChunk } from './run-chunk.ts';

/** What a chunked task's step needs of its task store. */
export interface ChunkQueue {
  /** The task's chunk records (`<id>#0 …`), any plan. */
  chunks(): Promise<TaskRecord[]>;
  /** `TaskStore.split` of this task under the step's lease. */
  split(input: SplitInput): Promise<SplitResult>;
}

export interface ChunkedStepOptions extends RunTaskOptions {
  /** The chunked task's record as claimed. */
  record: TaskRecord;
  queue: ChunkQueue;
  /** The fencing point before the staging of every chunk is removed (see finish-chunks.ts). */
  beforeDiscard?: () => Promise<void>;
}

/** What a step did: ended the attempt by splitting, or ran to a report (published or failed). */
export type ChunkedStep = { kind: 'split'; result: SplitResult } | { kind: 'report'; report: TaskReport };

/** One claim of a chunked task (see the module comment). Never throws: failures come back as a report. */
export async function runChunkedStep(options: ChunkedStepOptions): Promise<ChunkedStep> {
  const { record, queue, task } = options;
  const startedAt = new Date();
  try {
    const chunked = record.chunked;
    const plan = parsePlan(chunked?.plan);
    // How the task's previous attempt ended (the current one is the last history entry).
    const previous = record.history.at(-2);
    const previousError = previous?.outcome === 'failed' ? previous.error?.code : undefined;
    if (chunked === undefined || plan === undefined || previousError === 'SOURCE_CHANGED') {
      const planned = await plan_(options);
      return { kind: 'split', result: await queue.split(splitInput(planned)) };
    }
    const records = await queue.chunks();
    const again = (rerun?: number[]) =>
      queue.split({
        planId: chunked.planId,
        plan: chunked.plan,
        chunks: refsOf(chunked.planId, chunked.chunks, records),
        ...(rerun ? { rerun } : {}),
      });
    const mine = new Map<number, TaskRecord>();
    for (const chunk of records) {
      if (chunk.chunkOf?.plan === chunked.planId && chunk.chunkOf.index < chunked.chunks) {
        mine.set(chunk.chunkOf.index, chunk);
      }
    }
    if (mine.size < chunked.chunks) {
      throw new HonkError('INTERNAL', `Task "${task.id}": chunk records of plan ${chunked.planId} are missing.`);
    }
    const ordered = [...mine.entries()].sort(([a], [b]) => a - b).map(([, chunk]) => chunk);
    const failed = ordered.filter((chunk) => chunk.state === 'dead' || chunk.state === 'cancelled');
    if (failed.length > 0) {
      // Run again after a CHUNK_FAILED (requeued or resumed): the failed chunks run again.
      if (previousError === 'CHUNK_FAILED') {
        return { kind: 'split', result: await again() };
      }
      return { kind: 'report', report: failure(task.id, startedAt, chunkFailure(task.id, failed)) };
    }
    if (ordered.some((chunk) => chunk.state !== 'succeeded')) return { kind: 'split', result: await again() };
    const results: ChunkResult[] = [];
    const unrecorded: number[] = [];
    for (const [index, chunk] of ordered.entries()) {
      const run = (chunk.report as { chunk?: { result?: unknown } } | undefined)?.chunk?.result;
      try {
        results.push(parseResult(run as never));
      } catch {
        unrecorded.push(index);
      }
    }
    if (unrecorded.length > 0) return { kind: 'split', result: await again(unrecorded) };
    const report = await finishChunks({
      ...options,
      planId: chunked.planId,
      plan,
      chunks: results,
    });
    if (!report.ok && report.error?.code === 'CHUNKS_MISSING') {
      const missing = (report.error.details?.chunks as string[] | undefined) ?? [];
      const rerun = missing.map((name) => Number(name)).filter((index) => Number.isInteger(index));
      options.logger?.warn({ taskId: task.id, chunks: missing }, 'staged chunks went missing; running them again');
      return { kind: 'split', result: await again(rerun) };
    }
    return { kind: 'report', report };
  } catch (error) {
    return { kind: 'report', report: failure(task.id, startedAt, error) };
  }
}

/** Plans a task's chunks (preflight, partitions, pin). */
async function plan_(options: RunTaskOptions): Promise<PlannedChunks> {
  const signal = options.signal ?? new AbortController().signal;
  const prepared = await prepareTask(options.task, options.connectors, {
    signal,
    logger: options.logger ?? silentLogger,
  });
  try {
    const planned = await planChunks(prepared, options.task);
    // The sink refuses what it cannot stage in chunks (a single-file target …) now, before any chunk runs.
    const staging = await prepared.sink.openChunked?.(prepared.schema, {
      signal,
      ...prepared.publish,
      plan: planned.planId,
    });
    await staging?.close?.();
    return planned;
  } finally {
    await prepared.close();
  }
}

function splitInput(planned: PlannedChunks): SplitInput {
  return { planId: planned.planId, plan: planned.plan, chunks: planned.chunks };
}

/** The refs of a plan's chunks, from their records (a re-split must hand the same ones back). */
function refsOf(planId: string, count: number, records: readonly TaskRecord[]) {
  const refs = new Array(count);
  for (const record of records) {
    if (record.chunkOf?.plan === planId && record.chunkOf.index < count)
      refs[record.chunkOf.index] = record.chunkOf.ref;
  }
  return refs;
}

/** The error a chunked task fails with when chunks died or were cancelled. */
function chunkFailure(taskId: string, failed: readonly TaskRecord[]): HonkError {
  const changed = failed.find((chunk) => chunk.lastError?.code === 'SOURCE_CHANGED');
  if (changed) {
    return new TransientError(
      `Task "${taskId}": chunk ${changed.chunkOf?.index} found the source changed since the chunks were planned (${changed.lastError?.message}); the chunks are planned again.`,
      { code: 'SOURCE_CHANGED' },
    );
  }
  const first = failed[0] as TaskRecord;
  const why =
    first.state === 'cancelled'
      ? 'was cancelled'
      : `failed${first.lastError ? ` (${first.lastError.code}: ${first.lastError.message})` : ''} after ${first.attempts} attempt(s)`;
  return new HonkError(
    'CHUNK_FAILED',
    `Task "${taskId}": chunk ${first.chunkOf?.index} ("${first.id}") ${why}${failed.length > 1 ? `, and ${failed.length - 1} more chunk(s) did not finish` : ''}. Nothing was published. Fix the cause and requeue the task: its failed chunks run again, finished ones are kept.`,
    {
      details: {
        chunks: failed.map((chunk) => chunk.id),
        ...(first.lastError ? { chunkError: first.lastError.code } : {}),
      },
    },
  );
}

function failure(taskId: string, startedAt: Date, error: unknown): TaskReport {
  const honk = toHonkError(error);
  const report: TaskReport = {
    taskId,
    ok: false,
    stats: { rows: 0, bytes: 0, batches: 0, elapsedMs: Date.now() - startedAt.getTime(), rowsPerSecond: 0 },
    timings: {},
    error: honk.toJSON(),
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
  };
  Object.defineProperty(report, 'cause', { value: honk, enumerable: false });
  return report;
}

/**
 * A chunked task in one attempt, without a task store: plan, run every chunk in turn, then
 * validate the whole and publish once. On failure nothing is published and the staged
 * chunks are removed.
 */
export async function runChunkedLocally(options: RunTaskOptions): Promise<TaskReport> {
  const { task } = options;
  const startedAt = new Date();
  let planned: PlannedChunks;
  try {
    planned = await plan_(options);
  } catch (error) {
    return failure(task.id, startedAt, error);
  }
  const results: ChunkResult[] = [];
  let before = { rows: 0, bytes: 0, batches: 0 };
  for (const [index, ref] of planned.chunks.entries()) {
    const report = await runChunk({
      ...options,
      chunk: { index, plan: planned.planId, ref },
      onEvent: (event) => {
        if (event.type === 'task-progress') {
          // One task to the caller: progress adds up over the chunks.
          options.onEvent?.({
            ...event,
            taskId: task.id,
            rows: before.rows + event.rows,
            bytes: before.bytes + event.bytes,
            batches: before.batches + event.batches,
          });
        } else if (event.type === 'task-phase' && event.phase !== 'done') {
          options.onEvent?.({ ...event, taskId: task.id });
        }
      },
    });
    if (!report.ok || !report.chunk) {
      await discardStaging(options, planned.planId);
      return { ...report, taskId: task.id };
    }
    results.push(report.chunk.result);
    before = {
      rows: before.rows + report.stats.rows,
      bytes: before.bytes + report.stats.bytes,
      batches: before.batches + report.stats.batches,
    };
  }
  const report = await finishChunks({
    ...options,
    planId: planned.planId,
    plan: planned.plan as ChunkPlan,
    chunks: results,
  });
  if (!report.ok) await discardStaging(options, planned.planId);
  return report;
}

/** Removes a local run's staged chunks after it failed (a later run plans anew). */
async function discardStaging(options: RunTaskOptions, planId: string): Promise<void> {
  const signal = new AbortController().signal;
  const logger = options.logger ?? silentLogger;
  try {
    const prepared = await prepareTask(options.task, options.connectors, { signal, logger });
    try {
      const staging = await prepared.sink.openChunked?.(prepared.schema, { signal, ...prepared.publish, plan: planId });
      await staging?.abort();
      await staging?.close?.();
    } finally {
      await prepared.close();
    }
  } catch (error) {
    logger.warn({ taskId: options.task.id, err: String(error) }, 'could not remove the staged chunks');
  }
}

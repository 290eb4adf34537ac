/**
 * The result of one run of one task, and the events `runTask` emits while it works.
 * Reports are JSON-safe so they can be stored on task records and written by `--report`.
 */
import type { Json, SnapshotRef } from '../connector/connector.ts';
import type { SerializedHonkError } from '../errors/honk-error.ts';
import type { ValidationReport } from '../validate/validator.ts';
import type { IncrementalReport } from './incremental-run.ts';

/** The phases of a run, in order. */
export type RunPhase = 'preflight' | 'snapshot' | 'transfer' | 'validate' | 'publish' | 'rollback' | 'done';

export interface TransferStats {
  rows: number;
  /** Arrow buffer bytes moved (uncompressed, in memory): comparable across formats. */
  bytes: number;
  batches: number;
  elapsedMs: number;
  rowsPerSecond: number;
}

export interface TaskReport {
  taskId: string;
  ok: boolean;
  stats: TransferStats;
  validation?: ValidationReport;
  snapshot?: SnapshotRef | null;
  /** Where the data was published (connector-specific JSON). */
  published?: Json;
  /** Whether a failed publish was rolled back from the snapshot. */
  restored?: boolean;
  /** Milliseconds spent in each phase. */
  timings: Partial<Record<RunPhase, number>>;
  /**
   * How the rows moved: `arrow` (decoded, transformed, encoded) or `raw` (the source's bytes
   * forwarded untouched to a sink that speaks the same format; see `Source.readRaw`).
   * With `raw`, `stats.bytes` counts those bytes rather than Arrow buffers.
   */
  path?: 'arrow' | 'raw';
  /** An incremental run's increment: the marks it started from and committed, rows read and written. */
  incremental?: IncrementalReport;
  /** Arrow schemas as text, source side after transforms and at the target. */
  schema?: { source: string[]; target?: string[] };
  /** A chunk sub-task's run (see `docs/chunks.md`): what it staged and recorded. */
  chunk?: ChunkRun;
  /** A chunked task's publish: its chunks in sum (`stats` then add up every chunk's transfer). */
  chunks?: ChunksSummary;
  error?: SerializedHonkError;
  startedAt: string;
  endedAt: string;
}

/**
 * What a chunk records once staged: its source side's validation summaries (one per
 * validator, in `createValidators` order, summed over the chunks when the task publishes)
 * and what it moved. The same JSON is committed with the chunk's staged rows.
 */
export interface ChunkResult {
  [key: string]: Json;
  summaries: Json[];
  rows: number;
  bytes: number;
  path: 'arrow' | 'raw';
}

/** {@link TaskReport.chunk}. */
export interface ChunkRun {
  [key: string]: Json;
  index: number;
  plan: string;
  /** True when an earlier attempt had staged the chunk already: nothing was moved again. */
  reused: boolean;
  result: ChunkResult;
}

/** {@link TaskReport.chunks}. */
export interface ChunksSummary {
  [key: string]: Json;
  plan: string;
  count: number;
  rows: number;
}

/** Events emitted by `runTask` through its `onEvent` callback. */
export type RunEvent =
  | { type: 'task-phase'; taskId: string; phase: RunPhase }
  | ({ type: 'task-progress'; taskId: string } & TransferStats)
  | { type: 'task-snapshot-taken'; taskId: string; ref: SnapshotRef };

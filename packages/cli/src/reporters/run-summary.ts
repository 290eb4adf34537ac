/**
 * The machine-readable outcome of `honk run`: one entry per task of the spec (after
 * `--only`), written by `--json` to stdout and by `--report <file>`. Stable field names:
 * CI jobs and dashboards parse it.
 */
import type { TaskRecord } from '@honk/core';

export interface TaskOutcome {
  id: string;
  state: TaskRecord['state'];
  /** `ran` this invocation, or `skipped` because an identical definition already succeeded. */
  action: 'ran' | 'skipped' | 'waiting';
  attempts: number;
  rows?: number;
  bytes?: number;
  durationMs?: number;
  /** Milliseconds per phase of the succeeded attempt (preflight, snapshot, transfer, validate, publish). */
  timings?: Record<string, number>;
  /** How the rows moved: `raw` (bytes forwarded untouched) or `arrow`. */
  path?: string;
  error?: { code: string; message: string; retryable: boolean };
  validation?: unknown;
  snapshot?: unknown;
  /** An incremental task's increment: the marks (`from`, `to`), rows read and written (see @honk/core IncrementalReport). */
  incremental?: unknown;
}

export interface RunSummary {
  spec: string;
  store: string;
  ok: boolean;
  /** The signal that stopped the run; its running tasks were released, not failed. */
  interrupted?: string;
  /** Expired snapshots the end-of-run sweep discarded. */
  snapshotsDiscarded?: number;
  startedAt: string;
  endedAt: string;
  counts: Record<string, number>;
  tasks: TaskOutcome[];
}

interface ReportLike {
  stats?: { rows?: number; bytes?: number; elapsedMs?: number };
  timings?: Record<string, number>;
  path?: string;
  validation?: unknown;
  snapshot?: unknown;
  incremental?: unknown;
  startedAt?: string;
  endedAt?: string;
}

/** Builds the outcome of one task from its record after the run. */
export function outcomeOf(record: TaskRecord, ranThisTime: boolean): TaskOutcome {
  const report = (record.report ?? undefined) as ReportLike | undefined;
  const outcome: TaskOutcome = {
    id: record.id,
    state: record.state,
    action: ranThisTime ? 'ran' : record.state === 'succeeded' ? 'skipped' : 'waiting',
    attempts: record.attempts,
  };
  if (report?.stats) {
    if (report.stats.rows !== undefined) outcome.rows = report.stats.rows;
    if (report.stats.bytes !== undefined) outcome.bytes = report.stats.bytes;
  }
  if (report?.startedAt && report.endedAt)
    outcome.durationMs = Date.parse(report.endedAt) - Date.parse(report.startedAt);
  if (report?.timings) {
    outcome.timings = Object.fromEntries(Object.entries(report.timings).map(([phase, ms]) => [phase, Math.round(ms)]));
  }
  if (report?.path) outcome.path = report.path;
  if (report?.validation) outcome.validation = report.validation;
  if (report?.snapshot) outcome.snapshot = report.snapshot;
  if (report?.incremental) outcome.incremental = report.incremental;
  if (record.state !== 'succeeded' && record.lastError) outcome.error = { ...record.lastError };
  return outcome;
}

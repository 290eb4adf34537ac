/**
 * A chunked task's progress summed over its chunk records, for status views (`honk status`,
 * Backstage): how many chunks are in each state and the rows staged so far.
 */
import { chunkTaskId } from './chunk-split.ts';
import type { TaskRecord, TaskState } from './task-store.ts';

export interface ChunkProgress {
  [key: string]: string | number | Partial<Record<TaskState, number>>;
  plan: string;
  /** Chunks in the plan. */
  total: number;
  /** Chunks of the plan by state (states with none are left out). */
  states: Partial<Record<TaskState, number>>;
  /** Rows staged by succeeded chunks, plus what running chunks reported so far. */
  rows: number;
}

/** The ids of a chunked task's chunk records (none for an unchunked task). */
export function chunkIdsOf(record: TaskRecord): string[] {
  return Array.from({ length: record.chunked?.chunks ?? 0 }, (_, index) => chunkTaskId(record.id, index));
}

/**
 * `record`'s chunks in sum, looked up in `chunks` (by id; other records are ignored), or
 * undefined for a task that is not chunked.
 */
export function chunkProgress(record: TaskRecord, chunks: ReadonlyMap<string, TaskRecord>): ChunkProgress | undefined {
  const chunked = record.chunked;
  if (!chunked) return undefined;
  const progress: ChunkProgress = { plan: chunked.planId, total: chunked.chunks, states: {}, rows: 0 };
  for (const id of chunkIdsOf(record)) {
    const chunk = chunks.get(id);
    if (chunk?.chunkOf?.plan !== chunked.planId) continue;
    progress.states[chunk.state] = (progress.states[chunk.state] ?? 0) + 1;
    const staged = (chunk.report as { chunk?: { result?: { rows?: unknown } } } | undefined)?.chunk?.result?.rows;
    const moving = (chunk.progress as { rows?: unknown } | undefined)?.rows;
    if (chunk.state === 'succeeded' && typeof staged === 'number') progress.rows += staged;
    else if (chunk.state === 'running' && typeof moving === 'number') progress.rows += moving;
  }
  return progress;
}

/**
 * What `runTask` needs to move one dataset: both endpoints resolved to a connector and its
 * options, plus transforms, validation and snapshot settings. The control plane builds
 * these from spec files; programs may build them directly.
 */
import type { Json, PublishMode, SnapshotRef } from '../connector/connector.ts';
import type { TransformOptions } from '../transfer/transform.ts';
import type { ValidateOptions } from '../validate/validator.ts';

export interface ResolvedEndpoint {
  /** Connector name (`file`, `postgres` …), looked up in the registry. */
  connector: string;
  /** The connection's name in the spec, for messages. */
  connection: string;
  /** Connection options (validated by the connector's `optionsSchema`). */
  options: Record<string, unknown>;
  /** Endpoint options (validated by the connector's `endpointSchema`). */
  endpoint: Record<string, unknown>;
}

export interface ResolvedTarget extends ResolvedEndpoint {
  /** Default `replace`. */
  mode?: PublishMode;
  /** Key columns, for `merge`. */
  key?: string[];
}

/** Default snapshot retention: a week, long enough to notice a bad publish and roll it back. */
export const DEFAULT_SNAPSHOT_KEEP_FOR_MS = 7 * 86_400_000;

export interface SnapshotOptions {
  /** Take a snapshot of an existing target before publishing. Default true when the connector can. */
  enabled?: boolean;
  /**
   * Keep the snapshot this long (ms) after it was taken; then the sweep (`honk agent`'s
   * scheduler, and the end of every `honk run`) discards it. Default
   * {@link DEFAULT_SNAPSHOT_KEEP_FOR_MS} (7 days). A task keeps one snapshot at a time: the
   * one of its latest publish; an older one is discarded when a newer publish replaces it.
   */
  keepForMs?: number;
}

/** An incremental task's settings (see docs/incremental.md and `connector/incremental-mark.ts`). */
export interface IncrementalOptions {
  /** The source column past whose high-water mark each run reads. */
  cursor: string;
  /** Timestamp cursors: read only rows at most this old (ms) behind the source's clock. Default 0. */
  lagMs?: number;
  /** Every Nth run also compares the whole target with the source up to the mark. Default never. */
  fullCheckEvery?: number;
  /**
   * Whose mark the target keeps. Default: `meta.scheduledFrom` (a scheduled run continues its
   * task's mark), else the task id. Spec tasks set it to the spec's task id.
   */
  markKey?: string;
}

export interface TaskDefinition {
  /** Unique, the idempotency key: staging names derive from it. */
  id: string;
  source: ResolvedEndpoint;
  target: ResolvedTarget;
  transform?: TransformOptions;
  validate?: ValidateOptions;
  snapshot?: SnapshotOptions;
  /**
   * Move only the rows past the high-water mark the target keeps (target mode `append` or
   * `merge`). A re-run moves what changed since the last published run.
   */
  incremental?: IncrementalOptions;
  /** Rows per batch. Default 65,536. */
  batchRows?: number;
  /**
   * Move the dataset in chunks (see `docs/chunks.md`): the source's partitions, each staged
   * and recorded on its own, so a restart repeats only unfinished chunks and a fleet's agents
   * move chunks at once; publish happens once, after every chunk is staged and the whole is
   * validated. Needs a source with `partitionedRead` and a sink with `chunkedStaging`.
   * Absent: one indivisible attempt.
   */
  chunks?: ChunkOptions;
  /**
   * Abort an attempt that made no progress for this long, in ms (TIMED_OUT, retried). Default
   * 10 minutes (`DEFAULT_IDLE_TIMEOUT_MS`); 0 turns the limit off. Phases that report no
   * progress (a snapshot, a publish) count as idle for their whole duration.
   */
  idleTimeoutMs?: number;
  /** Abort an attempt that runs longer than this in total, in ms (TIMED_OUT, retried). Default none. */
  timeoutMs?: number;
  /** Free-form labels, copied into events and reports. */
  labels?: Record<string, string>;
  /** Extra JSON carried along (catalog entity ref …). */
  meta?: Record<string, Json>;
  /** Directory against which relative paths (transform modules) resolve. Default cwd. */
  baseDir?: string;
}

/** {@link TaskDefinition.chunks}. */
export interface ChunkOptions {
  /** At most this many chunks (the source decides how to split). Default {@link DEFAULT_MAX_CHUNKS}. */
  max?: number;
}

/** Chunks of a chunked task that sets no `max`. */
export const DEFAULT_MAX_CHUNKS = 16;

export type { SnapshotRef };

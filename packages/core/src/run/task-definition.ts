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

export interface SnapshotOptions {
  /** Take a snapshot of an existing target before publishing. Default true when the connector can. */
  enabled?: boolean;
  /** Keep snapshots this long (ms) before the sweep discards them. */
  keepForMs?: number;
}

export interface TaskDefinition {
  /** Unique, the idempotency key: staging names derive from it. */
  id: string;
  source: ResolvedEndpoint;
  target: ResolvedTarget;
  transform?: TransformOptions;
  validate?: ValidateOptions;
  snapshot?: SnapshotOptions;
  /** Rows per batch. Default 65,536. */
  batchRows?: number;
  /** Free-form labels, copied into events and reports. */
  labels?: Record<string, string>;
  /** Extra JSON carried along (catalog entity ref …). */
  meta?: Record<string, Json>;
  /** Directory against which relative paths (transform modules) resolve. Default cwd. */
  baseDir?: string;
}

export type { SnapshotRef };

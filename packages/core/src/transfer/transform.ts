/**
 * The transform contract, version 1: a step between source and sink that maps record
 * batches to record batches. Transforms are pure per batch (no state that depends on batch
 * boundaries), so results do not depend on how the source splits its data.
 */
import type { RecordBatch, Schema } from 'apache-arrow';

export interface TransformContext {
  /** Rows before this batch in the stream, so errors can name the row. */
  rowOffset: number;
  signal: AbortSignal;
}

export interface BatchTransform {
  readonly name: string;
  /**
   * The schema `apply` produces for a given input schema. Called at preflight, before any
   * data moves; throws ConfigError or SchemaMismatchError naming the column.
   */
  outputSchema(input: Schema): Schema | Promise<Schema>;
  apply(batch: RecordBatch, context: TransformContext): RecordBatch | Promise<RecordBatch>;
}

/** Arrow type names accepted by `cast:` (see docs/transforms.md). */
export type CastTargetName = string;

/** The `transform:` block of a task, applied in this order: select, rename, cast, module. */
export interface TransformOptions {
  /** Keep only these columns, in this order. */
  select?: string[];
  /** Rename columns: `{ old: new }`. */
  rename?: Record<string, string>;
  /** Convert columns: `{ column: "int64" | "timestamp[us, UTC]" | "decimal(38,2)" | … }`. */
  cast?: Record<string, CastTargetName>;
  /**
   * Allow lossy casts (overflow wraps to null, precision loss rounds, unparseable → null)
   * for all columns (`true`) or the listed ones. Default: a lossy value fails the task.
   */
  allowLossy?: boolean | string[];
  /** `./path/to/module.ts#exportName`: a function over record batches, loaded at run time. */
  module?: string;
}

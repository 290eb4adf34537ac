/**
 * The validator contract, version 1.
 *
 * Validation proves the staged data equals the source before anything is published.
 * A validator never re-reads the source: it observes each side in one streaming pass
 * (the source side while the transfer streams it, after transforms; the staged side when
 * the staged data is read back) through an accumulator, then compares the two summaries.
 * Summaries are JSON so they can be stored in reports and compared across processes.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json } from '../connector/connector.ts';

/** One line of a validation report. */
export interface ValidationCheck {
  /** Stable check name: `row-count`, `checksum`, `sample`, `schema`, or a custom validator's name. */
  name: string;
  expected: Json;
  actual: Json;
  ok: boolean;
  /** Human explanation when not ok (which column, which key …). */
  message?: string;
}

export interface ValidationReport {
  ok: boolean;
  checks: ValidationCheck[];
}

/** Observes one side (source or staged) batch by batch; must use memory independent of row count. */
export interface ValidationAccumulator {
  observe(batch: RecordBatch): void;
  /** The summary of everything observed. */
  result(): Json;
}

export interface Validator {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** A fresh accumulator for one side. `schema` is the schema of the batches it will observe. */
  accumulator(schema: Schema): ValidationAccumulator;
  /** Compare the two sides' summaries. */
  compare(input: { source: Json; staged: Json; sourceSchema: Schema; stagedSchema: Schema }): ValidationCheck[];
  /**
   * Merges the summaries of accumulators that each observed a disjoint part of one side
   * (batches spread over worker threads) into the summary one accumulator observing every
   * batch would have given. Optional: a validator without it observes on the main thread.
   */
  combine?(summaries: readonly Json[]): Json;
  /**
   * Observing costs next to nothing per batch (a count, the schema): such validators never
   * send batches to worker threads on their own. Default false.
   */
  readonly light?: boolean;
}

/** The `validate:` block of a task. */
export interface ValidateOptions {
  /** Compare row counts. Default true. */
  rowCount?: boolean;
  /** Compare the order-independent 64-bit checksum. Default true. */
  checksum?: boolean;
  /** Compare this many rows chosen by key hash (0 = off). Default 100. */
  sample?: number;
  /** Compare schemas (names, order, logical types). Default true. */
  schema?: boolean;
  /** Key columns for `sample`; default: all columns. */
  key?: string[];
}

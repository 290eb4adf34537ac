/**
 * Runs a set of validators over one transfer: the source side while it streams, the staged
 * side when it is read back, then one report.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json } from '../connector/connector.ts';
import { HonkError, ValidationFailedError } from '../errors/honk-error.ts';
import type { ValidationAccumulator, ValidationCheck, ValidationReport, Validator } from './validator.ts';

export interface ValidationSession {
  /** Feed one source batch (after transforms). Cheap: each batch is hashed once for all validators. */
  observeSource(batch: RecordBatch): void;
  /**
   * Declare the staged side's schema before its batches. Needed when the staged data may
   * have no batches at all; otherwise the first {@link observeStaged} batch's schema is used.
   */
  startStaged(schema: Schema): void;
  /** Feed one batch read back from the staged target. */
  observeStaged(batch: RecordBatch): void;
  /** Compare both sides. Call after the staged side was fully read. */
  report(): ValidationReport;
  /** The source side's summary per validator (what a chunk of a chunked task records). */
  sourceSummaries(): Json[];
}

/**
 * Creates a session. `sourceSchema` is the schema of the batches given to `observeSource`
 * (the transformed schema, which is what the sink receives).
 */
export function createValidationSession(
  validators: readonly Validator[],
  sourceSchema: Schema,
  options: { sourceSummaries?: readonly Json[] } = {},
): ValidationSession {
  const source: ValidationAccumulator[] = validators.map((v) => v.accumulator(sourceSchema));
  const given = options.sourceSummaries;
  let staged: ValidationAccumulator[] | null = null;
  let stagedSchema: Schema | null = null;

  const startStaged = (schema: Schema): void => {
    if (staged !== null) {
      throw new HonkError(
        'INTERNAL',
        'ValidationSession.startStaged was called twice; a session validates one staged read.',
      );
    }
    stagedSchema = schema;
    staged = validators.map((v) => v.accumulator(schema));
  };

  return {
    observeSource(batch) {
      if (staged !== null) {
        throw new HonkError('INTERNAL', 'ValidationSession.observeSource was called after the staged side started.');
      }
      for (const accumulator of source) accumulator.observe(batch);
    },
    startStaged,
    observeStaged(batch) {
      if (staged === null) startStaged(batch.schema);
      for (const accumulator of staged!) accumulator.observe(batch);
    },
    report() {
      if (staged === null || stagedSchema === null) {
        throw new HonkError(
          'INTERNAL',
          'ValidationSession.report was called before the staged side was read: call startStaged(schema) or observeStaged(batch) first.',
        );
      }
      const stagedSide = staged as ValidationAccumulator[];
      const checks: ValidationCheck[] = [];
      validators.forEach((validator, i) => {
        checks.push(
          ...validator.compare({
            source: given === undefined ? source[i]!.result() : (given[i] as Json),
            staged: stagedSide[i]!.result(),
            sourceSchema,
            stagedSchema: stagedSchema as Schema,
          }),
        );
      });
      return { ok: checks.every((check) => check.ok), checks };
    },
    sourceSummaries() {
      return given === undefined ? source.map((accumulator) => accumulator.result()) : [...given];
    },
  };
}

/** Longest rendering of an expected/actual value inside an error message. */
const MAX_VALUE_TEXT = 300;

function render(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT)}…` : text;
}

/**
 * Throws {@link ValidationFailedError} (code VALIDATION_FAILED, not retryable: the same data
 * would fail again) when any check failed. The message lists every failing check with its
 * expected and actual values; `details.checks` carries them structured.
 */
export function assertValid(report: ValidationReport, context: { taskId: string }): void {
  if (report.ok) return;
  const failing = report.checks.filter((check) => !check.ok);
  const lines = failing.map(
    (check) =>
      `- ${check.name}: expected ${render(check.expected)}, actual ${render(check.actual)}${check.message ? ` — ${check.message}` : ''}`,
  );
  throw new ValidationFailedError(
    `Task '${context.taskId}': the staged data does not match the source, so nothing was published. Failing checks:\n${lines.join('\n')}`,
    { details: { taskId: context.taskId, checks: failing } },
  );
}

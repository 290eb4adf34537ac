/**
 * Validation on worker threads gives exactly the report of validation on the main thread:
 * the same summaries (counts, checksums, sampled keys with their sums) once the parts are
 * combined, for equal data and for data that differs, and a failure in a worker surfaces
 * as an error instead of a hang.
 */
import { makeData, RecordBatch, type Schema, Struct } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { isHonkError } from '../../src/errors/honk-error.ts';
import { makeTrickyBatches, trickySchema } from '../../src/testing/tricky-data.ts';
import { createValidators } from '../../src/validate/create-validators.ts';
import { createParallelValidationSession } from '../../src/validate/parallel-validation-session.ts';
import { createValidationSession } from '../../src/validate/validation-session.ts';
import type { ValidateOptions, ValidationReport } from '../../src/validate/validator.ts';
import { WorkerPool } from '../../src/workers/worker-pool.ts';

const pool = new WorkerPool({ size: 2 });
afterAll(() => pool.close());

const data = { rows: 13_000, batchRows: 500, lists: true, binary: true };
const schema: Schema = trickySchema(data);
const batches = [...makeTrickyBatches(data)];

/** The same rows with one value of one row changed (row 6,345: the `big` column). */
function withOneRowChanged(): RecordBatch[] {
  return batches.map((batch, index) => {
    if (index !== 12) return batch;
    const column = batch.schema.fields.findIndex((field) => field.name === 'big');
    const children = batch.data.children.map((child, j) => {
      if (j !== column) return child;
      const values = (child.values as BigInt64Array).slice();
      values[345] = values[345]! + 1n;
      return makeData({
        type: child.type,
        length: child.length,
        nullCount: child.nullCount,
        nullBitmap: child.nullBitmap,
        data: values,
      } as never);
    });
    return new RecordBatch(
      batch.schema,
      makeData({ type: new Struct(batch.schema.fields), length: batch.numRows, children }),
    );
  });
}

function inline(options: ValidateOptions, staged: readonly RecordBatch[]): ValidationReport {
  const session = createValidationSession(createValidators(options), schema);
  for (const batch of batches) session.observeSource(batch);
  session.startStaged(schema);
  for (const batch of staged) session.observeStaged(batch);
  return session.report();
}

async function parallel(options: ValidateOptions, staged: readonly RecordBatch[]): Promise<ValidationReport> {
  const session = createParallelValidationSession(options, schema, { pool, inlineRows: 4_000, depth: 2 });
  try {
    for (const batch of batches) await session.observeSource(batch);
    session.startStaged(schema);
    // The staged side in another order: order must not matter.
    for (const batch of [...staged].reverse()) await session.observeStaged(batch);
    return await session.report();
  } finally {
    await session.close();
  }
}

describe('validation on worker threads', () => {
  it.each<[string, ValidateOptions]>([
    ['every check, sample by all columns', {}],
    ['sample of 40 by key', { sample: 40, key: ['id'] }],
  ])('gives the inline report for equal data (%s)', async (_, options) => {
    const expected = inline(options, batches);
    const actual = await parallel(options, batches);
    expect(expected.ok).toBe(true);
    expect(actual).toEqual(expected);
    // The checksum covered every row.
    const checksum = actual.checks.find((check) => check.name === 'checksum');
    expect(checksum?.actual).toMatchObject({ rows: data.rows });
  });

  it('gives the inline report, naming the same row and column, when one value differs', async () => {
    const options: ValidateOptions = { sample: data.rows, key: ['id'] };
    const changed = withOneRowChanged();
    const expected = inline(options, changed);
    const actual = await parallel(options, changed);
    expect(expected.ok).toBe(false);
    expect(actual).toEqual(expected);
    const sample = actual.checks.find((check) => check.name === 'sample');
    expect(JSON.stringify(sample?.actual)).toContain('"big"');
  });

  it('fails with an error when its worker dies mid-way, and does not hang', async () => {
    const doomed = new WorkerPool({ size: 1 });
    const session = createParallelValidationSession({}, schema, { pool: doomed, inlineRows: 0, depth: 1 });
    let observed = 0;
    const failure = (async () => {
      for (const batch of batches) {
        await session.observeSource(batch);
        observed++;
      }
      session.startStaged(schema);
      return session.report();
    })().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    while (observed < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await doomed.close();
    const error = await failure;
    expect(isHonkError(error)).toBe(true);
    expect(observed).toBeLessThan(batches.length);
    await session.close();
  });
});

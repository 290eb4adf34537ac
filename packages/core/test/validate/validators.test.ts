import {
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  type RecordBatch,
  Schema,
  TimestampMicrosecond,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { isHonkError, ValidationFailedError } from '../../src/errors/honk-error.ts';
import {
  assertValid,
  checksumValidator,
  createValidationSession,
  createValidators,
  rowCountValidator,
  sampleValidator,
  schemaValidator,
  type ValidationReport,
  type Validator,
} from '../../src/validate/index.ts';
import { ROW_HASH_VERSION } from '../../src/validate/row-hash.ts';
import { batchOf, fixed, variable } from './arrow-fixtures.ts';

interface Orders {
  ids: number[];
  names: (string | null)[];
  amounts: number[];
}

function orders(count: number): Orders {
  return {
    ids: Array.from({ length: count }, (_, i) => i + 1),
    names: Array.from({ length: count }, (_, i) => (i % 10 === 3 ? null : `customer ${i} 🦆`)),
    amounts: Array.from({ length: count }, (_, i) => i * 1.25),
  };
}

/** The source shape: int32 ids, utf8 names, float64 amounts. */
function sourceBatch(o: Orders): RecordBatch {
  return batchOf({
    id: fixed(new Int32(), Int32Array.from(o.ids)),
    name: variable(new Utf8(), o.names),
    amount: fixed(new Float64(), Float64Array.from(o.amounts)),
  });
}

/** What a sink might hand back: int64 ids, dictionary-encoded names, in another order and split. */
function stagedBatches(o: Orders, split: number): RecordBatch[] {
  const order = o.ids.map((_, i) => i).reverse();
  const batch = batchOf({
    id: fixed(
      new Int64(),
      BigInt64Array.from(order, (i) => BigInt(o.ids[i]!)),
    ),
    name: vectorFromArray(
      order.map((i) => o.names[i]!),
      new Dictionary(new Utf8(), new Int32()),
    ).data[0]!,
    amount: fixed(
      new Float64(),
      Float64Array.from(order, (i) => o.amounts[i]!),
    ),
  });
  return [batch.slice(0, split), batch.slice(split)];
}

function run(validators: Validator[], source: RecordBatch[], staged: RecordBatch[]): ValidationReport {
  const session = createValidationSession(validators, source[0]!.schema);
  for (const batch of source) session.observeSource(batch);
  session.startStaged(staged[0]!.schema);
  for (const batch of staged) session.observeStaged(batch);
  return session.report();
}

function check(report: ValidationReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check in ${JSON.stringify(report)}`);
  return found;
}

describe('validation session', () => {
  it('passes when a sink stores the same rows in other physical types, order and batches', () => {
    const o = orders(500);
    const report = run(createValidators({ key: ['id'] }), [sourceBatch(o)], stagedBatches(o, 123));
    expect(report.checks.map((c) => c.name)).toEqual(['schema', 'row-count', 'checksum', 'sample']);
    expect(report.ok, JSON.stringify(report, null, 2)).toBe(true);
    expect(check(report, 'row-count').expected).toEqual(500);
    expect(check(report, 'sample').expected).toEqual({ sampled: 100 });
    expect(() => assertValid(report, { taskId: 'orders' })).not.toThrow();
  });

  it('fails row-count and checksum when a row is missing or duplicated', () => {
    const o = orders(50);
    const source = [sourceBatch(o)];
    const missing = run([rowCountValidator(), checksumValidator()], source, [sourceBatch(o).slice(0, 49)]);
    expect(check(missing, 'row-count')).toMatchObject({ ok: false, expected: 50, actual: 49 });
    expect(check(missing, 'row-count').message).toContain('1 row(s) fewer');
    expect(check(missing, 'checksum').ok).toBe(false);

    const duplicated = run([rowCountValidator(), checksumValidator()], source, [
      sourceBatch(o),
      sourceBatch(o).slice(7, 8),
    ]);
    expect(check(duplicated, 'row-count').ok).toBe(false);
    expect(check(duplicated, 'checksum').ok).toBe(false);
  });

  it('sample names the key and the column of a modified row', () => {
    const o = orders(2000);
    const changed = { ...o, amounts: [...o.amounts] };
    const validators = [checksumValidator(), sampleValidator({ rows: 2000, key: ['id'] })];
    changed.amounts[1233] = 99;
    const report = run(validators, [sourceBatch(o)], [sourceBatch(changed)]);
    expect(check(report, 'checksum').ok).toBe(false);
    const sample = check(report, 'sample');
    expect(sample.ok).toBe(false);
    expect(sample.message).toContain('row with key {"id":1234} differs in column(s) amount');
    expect(sample.actual).toMatchObject({
      mismatches: [{ key: { id: 1234 }, problem: 'differs', columns: ['amount'] }],
    });
  });

  it('sample reports missing and unexpected keys, and keeps only k rows', () => {
    const o = orders(300);
    const staged = { ids: [...o.ids], names: [...o.names], amounts: [...o.amounts] };
    staged.ids[10] = 10_000; // id 11 is gone, id 10000 appeared
    const validator = sampleValidator({ rows: 300, key: ['id'] });
    const report = run([validator], [sourceBatch(o)], [sourceBatch(staged)]);
    const sample = check(report, 'sample');
    expect(sample.ok).toBe(false);
    expect(sample.message).toContain('row with key {"id":11} is missing from the staged data');
    expect(sample.message).toContain('row with key {"id":10000} is in the staged data but not in the source');

    const small = sampleValidator({ rows: 5, key: ['id'] }).accumulator(sourceBatch(o).schema);
    small.observe(sourceBatch(o));
    const summary = small.result() as { entries: { keyHash: string }[] };
    expect(summary.entries).toHaveLength(5);
    const hashes = summary.entries.map((e) => e.keyHash);
    expect([...hashes].sort()).toEqual(hashes);
  });

  it('sample picks the same keys on both sides whatever the batch split (bottom-k)', () => {
    const o = orders(1000);
    const a = sampleValidator({ rows: 20, key: ['id'] }).accumulator(sourceBatch(o).schema);
    a.observe(sourceBatch(o));
    const b = sampleValidator({ rows: 20, key: ['id'] }).accumulator(stagedBatches(o, 1)[0]!.schema);
    for (const batch of stagedBatches(o, 777)) b.observe(batch);
    const keys = (r: unknown) => (r as { entries: { keyHash: string; rowHash: string }[] }).entries;
    expect(keys(b.result())).toEqual(
      keys(a.result()).map((e) => expect.objectContaining({ keyHash: e.keyHash, rowHash: e.rowHash })),
    );
  });

  it('sample fails with a clear message when a key column is missing', () => {
    const o = orders(10);
    const report = run([sampleValidator({ rows: 10, key: ['order_id'] })], [sourceBatch(o)], [sourceBatch(o)]);
    expect(check(report, 'sample').ok).toBe(false);
    expect(check(report, 'sample').message).toContain('order_id');
    expect(check(report, 'sample').message).toContain('validate.key');
  });

  it('schema catches a missing column and a type change', () => {
    const o = orders(5);
    const staged = batchOf({
      id: fixed(new Int32(), Int32Array.from(o.ids)),
      name: fixed(new Int32(), Int32Array.from(o.ids)),
    });
    const report = run([schemaValidator()], [sourceBatch(o)], [staged]);
    const schema = check(report, 'schema');
    expect(schema.ok).toBe(false);
    expect(schema.message).toContain('column amount is missing from the staged data');
    expect(schema.message).toContain('column name: utf8 became int32');
    expect(schema.expected).toEqual([
      { name: 'id', type: 'int32' },
      { name: 'name', type: 'utf8' },
      { name: 'amount', type: 'float64' },
    ]);
  });

  it('schema applies the documented equivalences and precision rules', () => {
    const compare = (source: Field[], staged: Field[]) =>
      schemaValidator().compare({
        source: null,
        staged: null,
        sourceSchema: new Schema(source),
        stagedSchema: new Schema(staged),
      })[0]!;
    const f = (name: string, type: any) => new Field(name, type, true);
    // Equivalent physical types pass.
    expect(
      compare(
        [f('a', new Int32()), f('b', new Utf8()), f('c', new TimestampMillisecond())],
        [f('a', new Int64()), f('b', new Dictionary(new LargeUtf8(), new Int32())), f('c', new TimestampMicrosecond())],
      ).ok,
    ).toBe(true);
    // µs → ms loses precision.
    const coarser = compare([f('t', new TimestampMicrosecond('UTC'))], [f('t', new TimestampMillisecond('UTC'))]);
    expect(coarser.ok).toBe(false);
    expect(coarser.message).toContain('coarser unit');
    // Zone renamed: ok with a note; naive → zoned: fails.
    const renamed = compare(
      [f('t', new TimestampMicrosecond('Europe/Stockholm'))],
      [f('t', new TimestampMicrosecond('UTC'))],
    );
    expect(renamed.ok).toBe(true);
    expect(renamed.message).toContain('zone annotation only');
    expect(compare([f('t', new TimestampMicrosecond())], [f('t', new TimestampMicrosecond('UTC'))]).ok).toBe(false);
    // float64 → float32 loses precision; column order matters.
    expect(compare([f('x', new Float64())], [f('x', new Float32())]).ok).toBe(false);
    const swapped = compare([f('a', new Int32()), f('b', new Int32())], [f('b', new Int32()), f('a', new Int32())]);
    expect(swapped.ok).toBe(false);
    expect(swapped.message).toContain('different order');
  });

  it('assertValid throws a non-retryable ValidationFailedError listing expected vs actual', () => {
    const o = orders(20);
    const report = run(createValidators(), [sourceBatch(o)], [sourceBatch(o).slice(0, 18)]);
    expect(report.ok).toBe(false);
    let thrown: unknown;
    try {
      assertValid(report, { taskId: 'orders-nightly' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationFailedError);
    expect(isHonkError(thrown)).toBe(true);
    const error = thrown as ValidationFailedError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("Task 'orders-nightly'");
    expect(error.message).toContain('- row-count: expected 20, actual 18');
    expect(error.message).toContain(`- checksum: expected {"version":${ROW_HASH_VERSION},"rows":20`);
    expect(error.message).not.toContain('- schema');
    expect(error.details.taskId).toBe('orders-nightly');
  });

  it('createValidators honours options and rejects bad ones', () => {
    expect(createValidators().map((v) => v.name)).toEqual(['schema', 'row-count', 'checksum', 'sample']);
    expect(createValidators({ schema: false, sample: 0 }).map((v) => v.name)).toEqual(['row-count', 'checksum']);
    expect(() => createValidators({ sample: -1 })).toThrow(/validate\.sample/);
    expect(() => createValidators({ sample: 1.5 })).toThrow(/validate\.sample/);
  });

  it('report needs the staged side', () => {
    const o = orders(3);
    const session = createValidationSession(createValidators(), sourceBatch(o).schema);
    session.observeSource(sourceBatch(o));
    expect(() => session.report()).toThrow(/startStaged/);
    session.startStaged(sourceBatch(o).schema);
    const report = session.report();
    expect(check(report, 'row-count')).toMatchObject({ ok: false, expected: 3, actual: 0 });
  });
});

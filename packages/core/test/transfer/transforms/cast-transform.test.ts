import {
  Bool,
  DateDay,
  Float32,
  Float64,
  Int8,
  Int32,
  Int64,
  type RecordBatch,
  Timestamp,
  TimeUnit,
  Uint32,
  Utf8,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type HonkError, isHonkError } from '../../../src/errors/honk-error.ts';
import { castTransform } from '../../../src/transfer/transforms/index.ts';
import { batchOf, column, context, fixed, rawBigInts, rawInt32s, run, valuesOf } from './helpers.ts';

type Casts = Record<string, string>;

async function cast(batch: RecordBatch, casts: Casts, allowLossy: boolean | string[] = false, rowOffset = 0) {
  return run(castTransform(casts, { allowLossy }), batch, rowOffset);
}

async function failure(action: () => unknown): Promise<HonkError> {
  try {
    await action();
  } catch (error) {
    expect(isHonkError(error)).toBe(true);
    return error as HonkError;
  }
  throw new Error('expected an error');
}

/** Casts `name` to utf8 so decimal and temporal results read as canonical text. */
async function asText(batch: RecordBatch, name: string): Promise<unknown[]> {
  return valuesOf(await cast(batch, { [name]: 'utf8' }), name);
}

const strings = (values: Array<string | null>) => batchOf({ s: column(new Utf8(), values) });

describe('integer casts', () => {
  it('widens int32 to int64 keeping nulls', async () => {
    const out = await cast(
      batchOf({ n: fixed(new Int32(), Int32Array.from([1, -2, 0, 2147483647, -2147483648]), [2]) }),
      {
        n: 'int64',
      },
    );
    expect(String(out.schema.fields[0]?.type)).toBe('Int64');
    expect(valuesOf(out, 'n')).toEqual([1n, -2n, null, 2147483647n, -2147483648n]);
  });

  it('range-checks narrowing and names column, absolute row and value', async () => {
    const batch = batchOf({ n: column(new Int64(), [1n, 300n, -5n]) });
    const error = await failure(() => cast(batch, { n: 'int8' }, false, 1000));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toContain('column "n" from int64 to int8');
    expect(error.message).toContain('"300" at row 1001');
    expect(error.details).toMatchObject({ column: 'n', row: 1001, value: '300', reason: 'overflow' });
    const lossy = await cast(batch, { n: 'int8' }, true);
    expect(valuesOf(lossy, 'n')).toEqual([1, null, -5]);
    expect(lossy.schema.fields[0]?.nullable).toBe(true);
  });

  it('rejects negative values for unsigned targets', async () => {
    const batch = batchOf({ n: column(new Int32(), [1, -1]) });
    expect((await failure(() => cast(batch, { n: 'uint32' }))).details.row).toBe(1);
    expect(valuesOf(await cast(batch, { n: 'uint64' }, ['n']), 'n')).toEqual([1n, null]);
  });

  it('keeps int64 beyond 2^53 exact through decimal(38,0) and back', async () => {
    const big = [9007199254740993n, -9223372036854775808n, 9223372036854775807n, -9007199254740993n, 0n];
    const batch = batchOf({ n: column(new Int64(), big) });
    const decimal = await cast(batch, { n: 'decimal(38,0)' });
    expect(await asText(decimal, 'n')).toEqual(big.map(String));
    const back = await cast(decimal, { n: 'int64' });
    expect(valuesOf(back, 'n')).toEqual(big);
  });

  it('checks integer → float exactness above 2^53 (float64) and 2^24 (float32)', async () => {
    const batch = batchOf({ n: column(new Int64(), [9007199254740992n, 9007199254740993n]) });
    const error = await failure(() => cast(batch, { n: 'float64' }));
    expect(error.details).toMatchObject({ row: 1, value: '9007199254740993', reason: 'precision' });
    expect(valuesOf(await cast(batch, { n: 'float64' }, true), 'n')).toEqual([9007199254740992, 9007199254740992]);
    const small = batchOf({ n: column(new Int32(), [16777216, 16777217]) });
    expect((await failure(() => cast(small, { n: 'float32' }))).details.row).toBe(1);
  });

  it('casts bool ↔ integer and rejects integers other than 0 and 1', async () => {
    const out = await cast(batchOf({ b: column(new Bool(), [true, false, null]) }), { b: 'int32' });
    expect(valuesOf(out, 'b')).toEqual([1, 0, null]);
    const ints = batchOf({ n: column(new Int32(), [0, 1, 2]) });
    expect((await failure(() => cast(ints, { n: 'bool' }))).details).toMatchObject({ row: 2, value: '2' });
    expect(valuesOf(await cast(ints, { n: 'bool' }, true), 'n')).toEqual([false, true, null]);
  });
});

describe('float casts', () => {
  it('requires integral, in-range values for float → integer; allowLossy rounds or nulls', async () => {
    const batch = batchOf({ x: column(new Float64(), [3, 1.5, -2.5, 1e10, Number.NaN, null]) });
    expect((await failure(() => cast(batch, { x: 'int32' }))).details).toMatchObject({
      row: 1,
      value: '1.5',
      reason: 'precision',
    });
    expect(valuesOf(await cast(batch, { x: 'int32' }, true), 'x')).toEqual([3, 2, -3, null, null, null]);
    expect(valuesOf(await cast(batchOf({ x: column(new Float64(), [1e15, -3]) }), { x: 'int64' }), 'x')).toEqual([
      1000000000000000n,
      -3n,
    ]);
  });

  it('float64 → float32 reports precision loss and overflow', async () => {
    const batch = batchOf({ x: column(new Float64(), [0.5, 0.1, 1e300]) });
    expect((await failure(() => cast(batch, { x: 'float32' }))).details.row).toBe(1);
    expect(valuesOf(await cast(batch, { x: 'float32' }, true), 'x')).toEqual([0.5, Math.fround(0.1), null]);
  });

  it('float → decimal uses the shortest text of the float', async () => {
    const batch = batchOf({ x: column(new Float64(), [0.1, -2.5, 0.125]) });
    const error = await failure(() => cast(batch, { x: 'decimal(10,2)' }));
    expect(error.details).toMatchObject({ row: 2, value: '0.125', reason: 'precision' });
    const lossy = await cast(batch, { x: 'decimal(10,2)' }, true);
    expect(await asText(lossy, 'x')).toEqual(['0.10', '-2.50', '0.13']);
  });
});

describe('decimal casts', () => {
  const decimals = async (values: Array<string | null>, type: string) =>
    cast(batchOf({ d: column(new Utf8(), values) }), { d: type });

  it('scales up exactly and scales down only without dropping non-zero digits', async () => {
    const d = await decimals(['12.345', '-0.001', null], 'decimal(10,3)');
    expect(await asText(await cast(d, { d: 'decimal(12,5)' }), 'd')).toEqual(['12.34500', '-0.00100', null]);
    const error = await failure(() => cast(d, { d: 'decimal(10,2)' }));
    expect(error.details).toMatchObject({ column: 'd', row: 0, value: '12.345', reason: 'precision' });
    expect(await asText(await cast(d, { d: 'decimal(10,2)' }, true), 'd')).toEqual(['12.35', '0.00', null]);
    const exact = await decimals(['12.300', '-7.000'], 'decimal(10,3)');
    expect(await asText(await cast(exact, { d: 'decimal(10,2)' }), 'd')).toEqual(['12.30', '-7.00']);
  });

  it('treats precision overflow as loss (null under allowLossy)', async () => {
    const d = await decimals(['999.99', '-12.5'], 'decimal(10,2)');
    expect((await failure(() => cast(d, { d: 'decimal(4,2)' }))).details).toMatchObject({ row: 0, reason: 'overflow' });
    expect(await asText(await cast(d, { d: 'decimal(4,2)' }, true), 'd')).toEqual([null, '-12.50']);
  });

  it('converts integers to decimals and decimals to integers exactly', async () => {
    const ints = batchOf({ n: column(new Int32(), [999, -1234]) });
    expect(await asText(await cast(ints, { n: 'decimal(6,2)' }), 'n')).toEqual(['999.00', '-1234.00']);
    expect((await failure(() => cast(ints, { n: 'decimal(5,2)' }))).details).toMatchObject({
      row: 1,
      reason: 'overflow',
    });
    const d = await decimals(['12.00', '12.50', '-12.50'], 'decimal(10,2)');
    expect((await failure(() => cast(d, { d: 'int32' }))).details).toMatchObject({ row: 1, value: '12.50' });
    expect(valuesOf(await cast(d, { d: 'int32' }, true), 'd')).toEqual([12, 13, -13]);
  });

  it('converts decimals to floats when the float reads back as the same number', async () => {
    const d = await decimals(['0.1', '-2.5'], 'decimal(30,20)');
    expect(valuesOf(await cast(d, { d: 'float64' }), 'd')).toEqual([0.1, -2.5]);
    const long = await decimals(['0.12345678901234567890'], 'decimal(30,20)');
    expect((await failure(() => cast(long, { d: 'float64' }))).details.reason).toBe('precision');
  });
});

describe('string casts', () => {
  it('parses integers, treating blank strings as null and naming unparseable values', async () => {
    const batch = strings([' 42 ', '-9223372036854775808', '', null, '007']);
    expect(valuesOf(await cast(batch, { s: 'int64' }), 's')).toEqual([42n, -9223372036854775808n, null, null, 7n]);
    const bad = strings(['1', '12x', '9223372036854775808']);
    const error = await failure(() => cast(bad, { s: 'int64' }, false, 50));
    expect(error.message).toContain('"12x" at row 51');
    expect(error.details.reason).toBe('unparseable');
    expect(valuesOf(await cast(bad, { s: 'int64' }, true), 's')).toEqual([1n, null, null]);
    expect((await failure(() => cast(strings(['1.0']), { s: 'int32' }))).details.reason).toBe('unparseable');
  });

  it('parses floats, booleans and dates', async () => {
    expect(valuesOf(await cast(strings(['1.5', '-1e3', 'NaN', '.25']), { s: 'float64' }), 's')).toEqual([
      1.5,
      -1000,
      Number.NaN,
      0.25,
    ]);
    expect((await failure(() => cast(strings(['1e999']), { s: 'float64' }))).details.reason).toBe('overflow');
    expect(valuesOf(await cast(strings(['true', 'F', 'yes', '0', null]), { s: 'bool' }), 's')).toEqual([
      true,
      false,
      true,
      false,
      null,
    ]);
    expect((await failure(() => cast(strings(['maybe']), { s: 'bool' }))).details.value).toBe('maybe');
    const dates = await cast(strings(['2024-02-29', '1969-12-31']), { s: 'date' });
    expect(rawInt32s(dates, 's')[0]).toBe(19782);
    expect(await asText(dates, 's')).toEqual(['2024-02-29', '1969-12-31']);
    expect((await failure(() => cast(strings(['2023-02-29']), { s: 'date32' }))).details.value).toBe('2023-02-29');
  });

  it('parses timestamps with offsets and zones', async () => {
    const batch = strings(['2024-03-01T10:00:00+01:00', '2024-03-01 09:00:00Z', '2024-03-01T09:00:00.5']);
    const utc = await cast(batch, { s: 'timestamp[us, UTC]' });
    const nine = BigInt(Date.UTC(2024, 2, 1, 9)) * 1000n;
    expect(rawBigInts(utc, 's')).toEqual([nine, nine, nine + 500_000n]);
    expect(String(utc.schema.fields[0]?.type)).toContain('UTC');
    // No offset in the text: the wall clock is read in the target zone (CET in winter, CEST in summer).
    const local = await cast(strings(['2024-01-15 12:00:00', '2024-07-15 12:00:00']), {
      s: 'timestamp[ms, Europe/Stockholm]',
    });
    expect(rawBigInts(local, 's')).toEqual([BigInt(Date.UTC(2024, 0, 15, 11)), BigInt(Date.UTC(2024, 6, 15, 10))]);
    expect(await asText(local, 's')).toEqual(['2024-01-15T11:00:00.000Z', '2024-07-15T10:00:00.000Z']);
  });

  it('reports sub-unit digits as precision loss and rounds them under allowLossy', async () => {
    const batch = strings(['2024-01-01T00:00:00.1234565']);
    expect((await failure(() => cast(batch, { s: 'timestamp' }))).details.reason).toBe('precision');
    const out = await cast(batch, { s: 'timestamp' }, ['s']);
    expect(rawBigInts(out, 's')).toEqual([BigInt(Date.UTC(2024, 0, 1)) * 1000n + 123_457n]);
    expect((await failure(() => cast(strings(['2024-01-01T25:00']), { s: 'timestamp' }))).details.reason).toBe(
      'unparseable',
    );
  });

  it('prints canonical text for every type', async () => {
    const batch = batchOf({
      i: column(new Int32(), [-12, null]),
      l: column(new Int64(), [-9223372036854775808n, 5n]),
      f: column(new Float64(), [0.1, -1e21]),
      b: column(new Bool(), [true, false]),
      d: fixed(new DateDay(), Int32Array.from([0, -1])),
      t: fixed(new Timestamp(TimeUnit.NANOSECOND, 'UTC'), BigInt64Array.from([1n, -1n])),
      n: fixed(new Timestamp(TimeUnit.SECOND), BigInt64Array.from([86_400n, 0n])),
      u: column(new Uint32(), [4294967295, 0]),
    });
    const out = await cast(batch, {
      i: 'utf8',
      l: 'string',
      f: 'utf8',
      b: 'utf8',
      d: 'utf8',
      t: 'utf8',
      n: 'large_utf8',
      u: 'utf8',
    });
    expect(valuesOf(out, 'i')).toEqual(['-12', null]);
    expect(valuesOf(out, 'l')).toEqual(['-9223372036854775808', '5']);
    expect(valuesOf(out, 'f')).toEqual(['0.1', '-1e+21']);
    expect(valuesOf(out, 'b')).toEqual(['true', 'false']);
    expect(valuesOf(out, 'd')).toEqual(['1970-01-01', '1969-12-31']);
    expect(valuesOf(out, 't')).toEqual(['1970-01-01T00:00:00.000000001Z', '1969-12-31T23:59:59.999999999Z']);
    expect(valuesOf(out, 'n')).toEqual(['1970-01-02T00:00:00', '1970-01-01T00:00:00']);
    expect(valuesOf(out, 'u')).toEqual(['4294967295', '0']);
  });
});

describe('temporal casts', () => {
  const ms = (text: string) => BigInt(Date.parse(text));

  it('changes timestamp units exactly, reporting dropped precision and overflow', async () => {
    const batch = batchOf({
      t: fixed(new Timestamp(TimeUnit.MILLISECOND), BigInt64Array.from([2000n, 1500n, -1500n])),
    });
    expect((await failure(() => cast(batch, { t: 'timestamp[s]' }))).details).toMatchObject({
      row: 1,
      reason: 'precision',
    });
    expect(rawBigInts(await cast(batch, { t: 'timestamp[s]' }, true), 't')).toEqual([2n, 2n, -2n]);
    expect(rawBigInts(await cast(batch, { t: 'timestamp[ns]' }), 't')).toEqual([
      2000000000n,
      1500000000n,
      -1500000000n,
    ]);
    const far = batchOf({ t: fixed(new Timestamp(TimeUnit.SECOND), BigInt64Array.from([1_000_000_000_000n])) });
    expect((await failure(() => cast(far, { t: 'timestamp[ns]' }))).details.reason).toBe('overflow');
  });

  it('keeps the instant when only the zone annotation changes', async () => {
    const values = BigInt64Array.from([ms('2024-03-01T09:00:00Z')]);
    const out = await cast(batchOf({ t: fixed(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), values) }), {
      t: 'timestamp[ms, Europe/Stockholm]',
    });
    expect(rawBigInts(out, 't')).toEqual([values[0]]);
    expect(String(out.schema.fields[0]?.type)).toContain('Europe/Stockholm');
  });

  it('converts date ↔ timestamp at midnight, in the zone when there is one', async () => {
    const dates = batchOf({ d: fixed(new DateDay(), Int32Array.from([19782, -1]), []) });
    const naive = await cast(dates, { d: 'timestamp[us]' });
    expect(rawBigInts(naive, 'd')).toEqual([19782n * 86_400_000_000n, -86_400_000_000n]);
    expect(valuesOf(await cast(naive, { d: 'date' }), 'd')).toEqual(valuesOf(dates, 'd'));
    const zoned = await cast(dates, { d: 'timestamp[ms, Europe/Stockholm]' });
    expect(rawBigInts(zoned, 'd')[0]).toBe(ms('2024-02-28T23:00:00Z'));
    const back = await cast(zoned, { d: 'date32' });
    expect(rawInt32s(back, 'd')[0]).toBe(19782);
    // Not midnight → the time of day would be lost.
    const noon = batchOf({
      t: fixed(new Timestamp(TimeUnit.MILLISECOND), BigInt64Array.from([ms('2024-02-29T12:00:00Z')])),
    });
    expect((await failure(() => cast(noon, { t: 'date' }))).details.reason).toBe('precision');
    expect((await cast(noon, { t: 'date' }, true)).getChild('t')?.data[0]?.values[0]).toBe(19782);
  });
});

describe('preflight and safety', () => {
  const batch = () =>
    batchOf({
      id: column(new Int32(), [1]),
      when: fixed(new DateDay(), Int32Array.from([1])),
      s: column(new Utf8(), ['x']),
    });

  it('rejects an unsupported pair naming column, from-type and to-type', async () => {
    const error = await failure(() => castTransform({ when: 'int32' }).outputSchema(batch().schema));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toContain('column "when" from date32 to int32');
  });

  it('rejects unknown columns, type names, zones and stray allowLossy entries', async () => {
    const unknown = await failure(() => castTransform({ idd: 'int64' }).outputSchema(batch().schema));
    expect(unknown.code).toBe('CONFIG_INVALID');
    expect(unknown.message).toContain('"idd"');
    expect(unknown.message).toContain('"id", "when", "s"');
    expect((await failure(() => castTransform({ id: 'int65' }).outputSchema(batch().schema))).message).toContain(
      'transform.cast.id',
    );
    expect(
      (await failure(() => castTransform({ s: 'timestamp[us, Mars/Olympus]' }).outputSchema(batch().schema))).message,
    ).toContain('Mars/Olympus');
    const stray = await failure(() =>
      castTransform({ id: 'int64' }, { allowLossy: ['s'] }).outputSchema(batch().schema),
    );
    expect(stray.message).toContain('allowLossy');
  });

  it('applies allowLossy only to the listed columns', async () => {
    const two = batchOf({ a: column(new Int32(), [1000]), b: column(new Int32(), [1000]) });
    const error = await failure(() => cast(two, { a: 'int8', b: 'int8' }, ['a']));
    expect(error.details.column).toBe('b');
  });

  it('does not mutate the input batch, also when sliced and nulling values', async () => {
    const source = batchOf({ n: fixed(new Int32(), Int32Array.from([1, 500, 3, 4, 500, 6, 7, 8, 9, 10]), [3, 7]) });
    const sliced = source.slice(2, 9);
    const before = {
      values: Int32Array.from(source.getChild('n')?.data[0]?.values as Int32Array),
      bitmap: Uint8Array.from(source.getChild('n')?.data[0]?.nullBitmap as Uint8Array),
    };
    const out = await cast(sliced, { n: 'int8' }, true);
    expect(valuesOf(out, 'n')).toEqual([3, null, null, 6, 7, null, 9]);
    expect(valuesOf(sliced, 'n')).toEqual([3, null, 500, 6, 7, null, 9]);
    expect(source.getChild('n')?.data[0]?.values).toEqual(before.values);
    expect(source.getChild('n')?.data[0]?.nullBitmap).toEqual(before.bitmap);
    expect(String(sliced.schema.fields[0]?.type)).toBe('Int32');
  });

  it('rejects lossy values in casts from a narrower type too (int8 → uint32)', async () => {
    const out = await cast(batchOf({ n: column(new Int8(), [-1, 5]) }), { n: 'uint32' }, true);
    expect(valuesOf(out, 'n')).toEqual([null, 5]);
  });

  it('honours the abort signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const transform = castTransform({ id: 'int64' });
    await transform.outputSchema(batch().schema);
    expect(() => transform.apply(batch(), { rowOffset: 0, signal: controller.signal })).toThrow(/abort/i);
  });

  it('leaves a column unchanged when cast to its own type', async () => {
    const b = batch();
    const out = await cast(b, { id: 'int32' });
    expect(out.getChild('id')?.data[0]).toBe(b.getChild('id')?.data[0]);
    expect(context().rowOffset).toBe(0);
  });
});

describe('float32 targets', () => {
  it('parses text into float32', async () => {
    expect(valuesOf(await cast(strings(['0.5', '1e39']), { s: 'float32' }, true), 's')).toEqual([0.5, null]);
    expect(String((await cast(strings(['1']), { s: 'float32' })).schema.fields[0]?.type)).toBe(String(new Float32()));
  });
});

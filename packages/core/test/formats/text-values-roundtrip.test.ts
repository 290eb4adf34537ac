/**
 * Values at the edges of what Arrow types hold, written as CSV and NDJSON and read back with
 * the written schema: every bit comes back (negative zero, years outside 0000–9999 as
 * ISO 8601 expanded years, the whole int64 range of every timestamp unit).
 */
import {
  type Data,
  DateDay,
  DateMillisecond,
  Field,
  Float32,
  Float64,
  makeData,
  type RecordBatch,
  Schema,
  Timestamp,
  TimeUnit,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../src/arrow/column-data.ts';
import { daysFromCivil } from '../../src/arrow/value-text.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { memoryInput, readInput, writeBatches } from './text-helpers.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function column(type: Field['type'], values: ArrayLike<number | bigint>): Data {
  return makeData({ type, length: values.length, data: values } as never);
}

/** Bits of every value, so -0 and +0 or two NaNs are told apart exactly. */
function bits(data: Data): string[] {
  const values = data.values as ArrayLike<number | bigint>;
  return Array.from({ length: data.length }, (_, index) => {
    const value = values[index] as number | bigint;
    return typeof value === 'bigint' ? String(value) : Object.is(value, -0) ? '-0' : String(value);
  });
}

const units = [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND];
const perSecond = [1n, 1_000n, 1_000_000n, 1_000_000_000n];

function edgeBatch(): RecordBatch {
  const days = [
    INT32_MIN,
    INT32_MAX,
    daysFromCivil(-1, 1, 1),
    daysFromCivil(0, 1, 1),
    daysFromCivil(9999, 12, 31),
    daysFromCivil(10000, 1, 1),
    -1,
    0,
  ];
  const fields: Field[] = [
    new Field('f64', new Float64(), true),
    new Field('f32', new Float32(), true),
    new Field('d32', new DateDay(), true),
    new Field('d64', new DateMillisecond(), true),
  ];
  const columns: Data[] = [
    column(new Float64(), new Float64Array([-0, 0, 1.5, -1e-300, 5e-324, -0, Number.NaN, -Infinity])),
    column(new Float32(), new Float32Array([-0, 0, 0.1, -3.4e38, 1e-45, -0, 2.5, Number.POSITIVE_INFINITY])),
    column(new DateDay(), new Int32Array(days)),
    column(new DateMillisecond(), new BigInt64Array(days.map((day) => BigInt(day) * 86_400_000n))),
  ];
  for (const [index, unit] of units.entries()) {
    const scale = perSecond[index] as bigint;
    const at = (year: number) => BigInt(daysFromCivil(year, 1, 1)) * 86_400n * scale;
    const values = new BigInt64Array([
      INT64_MIN,
      INT64_MAX,
      unit === TimeUnit.NANOSECOND ? -1n : at(-1) - 1n,
      unit === TimeUnit.NANOSECOND ? 1n : at(10000),
      at(1970) - 1n,
      at(2000) + scale / 3n,
      unit === TimeUnit.NANOSECOND ? at(1678) : at(0),
      unit === TimeUnit.NANOSECOND ? at(2262) : at(-2000) + 123n,
    ]);
    for (const zone of [undefined, 'UTC', 'Europe/Stockholm']) {
      const type = new Timestamp(unit, zone);
      fields.push(new Field(`ts_${index}_${zone ?? 'naive'}`, type, true));
      columns.push(column(type, values));
    }
  }
  const schema = new Schema(fields);
  return makeRecordBatch(schema, columns, 8);
}

const codecs: [string, FormatCodec][] = [
  ['csv', csvCodec],
  ['ndjson', ndjsonCodec],
];

describe.each(codecs)('%s keeps edge values exactly', (format, codec) => {
  it('negative zero, expanded years, the whole int64 range of every timestamp unit', async () => {
    const batch = edgeBatch();
    const text = await writeBatches(codec, batch.schema, [batch]);
    const types = new Map(batch.schema.fields.map((field) => [field.name, field.type]));
    const { schema, batches } = await readInput(codec, memoryInput(`edge.${format}`, text), { types }, 3);
    expect(schema.fields.map((field) => String(field.type))).toEqual(batch.schema.fields.map((f) => String(f.type)));
    for (const [index, field] of batch.schema.fields.entries()) {
      const read = batches.flatMap((part) => bits(part.getChildAt(index)?.data[0] as Data));
      expect(read, field.name).toEqual(bits(batch.getChildAt(index)?.data[0] as Data));
    }
    const written = text.toString('utf8');
    expect(written).toContain('-0.0');
    expect(written).toContain('+010000-01-01');
    expect(written).toContain('-000001-01-01');
    expect(written).toContain('-000002-12-31T23:59:59');
  });

  it('reads the expanded-year forms other writers use, and refuses dates that do not exist', async () => {
    const lines = ['+10000-01-01', '-0001-01-01', '+000000-03-01', '2024-02-29'];
    const body =
      format === 'csv'
        ? `d\n${lines.join('\n')}\n`
        : `${lines.map((line) => JSON.stringify({ d: line })).join('\n')}\n`;
    const types = new Map([['d', new DateDay()]]);
    const { batches } = await readInput(codec, memoryInput(`years.${format}`, body), { types });
    expect(Array.from(batches[0]?.getChildAt(0)?.data[0]?.values as Int32Array)).toEqual([
      daysFromCivil(10000, 1, 1),
      daysFromCivil(-1, 1, 1),
      daysFromCivil(0, 3, 1),
      daysFromCivil(2024, 2, 29),
    ]);
    const bad = format === 'csv' ? 'd\n2023-02-29\n' : '{"d":"2023-02-29"}\n';
    await expect(readInput(codec, memoryInput(`bad.${format}`, bad), { types })).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringContaining('2023-02-29'),
    });
  });

  it('refuses a leap second (23:59:60) naming file, row, column and value, instead of rolling it into the next minute', async () => {
    const values = ['2016-12-31T23:59:59Z', '2016-12-31T23:59:60Z', '2017-01-01T00:00:00Z'];
    const body = (texts: string[]) =>
      format === 'csv' ? `at\n${texts.join('\n')}\n` : `${texts.map((at) => JSON.stringify({ at })).join('\n')}\n`;
    const where = format === 'csv' ? 'data row 2' : 'line 2';
    for (const unit of units) {
      const types = new Map([['at', new Timestamp(unit, 'UTC')]]);
      await expect(readInput(codec, memoryInput(`leap.${format}`, body(values)), { types })).rejects.toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        details: { file: `leap.${format}`, column: 'at', row: 2 },
        message: expect.stringMatching(
          new RegExp(`"2016-12-31T23:59:60Z" in column "at" \\(${where} of leap\\.${format}\\).*leap second`),
        ),
      });
    }
    // With an offset, with a fraction, without a zone.
    for (const leap of ['2016-12-31T18:59:60-05:00', '2016-12-31 23:59:60.5', '2016-12-31T23:59:60.000000']) {
      const types = new Map([['at', new Timestamp(TimeUnit.MICROSECOND)]]);
      await expect(
        readInput(codec, memoryInput(`leap.${format}`, body([leap])), { types }),
        leap,
      ).rejects.toMatchObject({
        code: 'DATA_CORRUPT',
        message: expect.stringContaining('leap second'),
      });
    }
  });

  it('a leap second in the inference sample keeps the column text, exactly as written', async () => {
    const texts = ['2016-12-31T23:59:59Z', '2016-12-31T23:59:60Z'];
    const body =
      format === 'csv' ? `at\n${texts.join('\n')}\n` : `${texts.map((at) => JSON.stringify({ at })).join('\n')}\n`;
    const { schema, batches } = await readInput(codec, memoryInput(`leap.${format}`, body));
    expect(String(schema.fields[0]?.type)).toBe('Utf8');
    expect(batches.flatMap((batch) => batch.getChildAt(0)?.toArray())).toEqual(texts);
  });

  it('refuses a timestamp outside the range of its unit instead of wrapping it', async () => {
    const body = format === 'csv' ? 't\n9999-12-31T00:00:00\n' : '{"t":"9999-12-31T00:00:00"}\n';
    const types = new Map([['t', new Timestamp(TimeUnit.NANOSECOND)]]);
    await expect(readInput(codec, memoryInput(`range.${format}`, body), { types })).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringMatching(/9999-12-31T00:00:00.*"t"/),
    });
  });
});

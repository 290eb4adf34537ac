/**
 * The Storage Read API's Arrow converted to the REST path's types (storage-arrow.ts) where
 * the service may send another form than the emulator does: other time units, DATETIME and
 * TIME as text, 64-bit offsets, date64. Exact conversions pass; anything that would change
 * a value is refused naming the column and row.
 */
import {
  type Data,
  DateMillisecond,
  Decimal,
  Field,
  LargeUtf8,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimeNanosecond,
  TimestampNanosecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowSchemaOf, conformBatch } from '../src/index.ts';

function batchOf(fields: Field[], columns: Data[]): RecordBatch {
  const schema = new Schema(fields);
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(fields), length: columns[0]!.length, nullCount: 0, children: columns }),
  );
}

const target = arrowSchemaOf([
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'dt', type: 'DATETIME' },
  { name: 't', type: 'TIME' },
  { name: 'd', type: 'DATE' },
  { name: 's', type: 'STRING' },
]);

describe('Storage Read API Arrow → REST types', () => {
  it('converts other units and text forms exactly', () => {
    const batch = batchOf(
      [
        new Field('ts', new TimestampNanosecond('+00:00')),
        new Field('dt', new Utf8()),
        new Field('t', new TimeNanosecond()),
        new Field('d', new DateMillisecond()),
        new Field('s', new LargeUtf8()),
      ],
      [
        makeData({
          type: new TimestampNanosecond('+00:00'),
          length: 2,
          data: BigInt64Array.of(1_709_208_000_123_456_000n, 0n),
        }),
        vectorFromArray(['2024-02-29T12:00:00.5', null], new Utf8()).data[0]!,
        makeData({ type: new TimeNanosecond(), length: 2, data: BigInt64Array.of(86_399_999_999_000n, 0n) }),
        makeData({ type: new DateMillisecond(), length: 2, data: BigInt64Array.of(86_400_000n * 19_723n, 0n) }),
        vectorFromArray(['Grüße', ''], new LargeUtf8()).data[0]!,
      ],
    );
    const out = conformBatch(target, batch, 'streams/0', 1);
    expect(out.schema.fields.map(String)).toEqual(target.fields.map(String));
    const value = (name: string, row = 0) => out.getChild(name)!.data[0]!.values[row];
    expect(value('ts')).toBe(1_709_208_000_123_456n);
    expect(value('dt')).toBe(1_709_208_000_500_000n);
    expect(out.getChild('dt')!.get(1)).toBeNull();
    expect(value('t')).toBe(86_399_999_999n);
    expect(value('d')).toBe(19_723);
    expect(out.getChild('s')!.get(0)).toBe('Grüße');
  });

  it('refuses what would change a value, naming the column and row', () => {
    const nanos = batchOf(
      [new Field('ts', new TimestampNanosecond('UTC'))],
      [makeData({ type: new TimestampNanosecond('UTC'), length: 2, data: BigInt64Array.of(0n, 1_500n) })],
    );
    const schema = arrowSchemaOf([{ name: 'ts', type: 'TIMESTAMP' }]);
    expect(() => conformBatch(schema, nanos, 'streams/3', 101)).toThrow(
      expect.objectContaining({
        code: 'DATA_CORRUPT',
        message: expect.stringMatching(/column "ts" in row 102 of stream streams\/3/),
      }),
    );
    // NUMERIC(5, 2) receives 9 fractional digits from the API: 1.234 does not fit.
    const decimal = new Decimal(9, 38, 128);
    const words = new Uint32Array(4);
    words[0] = 1_234_000_000;
    const numeric = batchOf([new Field('n', decimal)], [makeData({ type: decimal, length: 1, data: words })]);
    expect(() =>
      conformBatch(arrowSchemaOf([{ name: 'n', type: 'NUMERIC', precision: '5', scale: '2' }]), numeric, 's', 1),
    ).toThrow(
      expect.objectContaining({
        code: 'DATA_CORRUPT',
        message: expect.stringMatching(/more than 2 fractional digits/),
      }),
    );
    // A type the API does not document for the column.
    const text = batchOf([new Field('i', new Utf8())], [vectorFromArray(['1'], new Utf8()).data[0]!]);
    expect(() => conformBatch(arrowSchemaOf([{ name: 'i', type: 'INT64' }]), text, 's', 1)).toThrow(
      expect.objectContaining({
        code: 'DATA_CORRUPT',
        message: expect.stringMatching(/sent Arrow type Utf8 where Int64/),
      }),
    );
  });
});

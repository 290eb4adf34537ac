/**
 * Dictionary-encoded columns (pandas categoricals in Parquet, apache-arrow's
 * `tableFromArrays` strings) written as CSV and NDJSON: each row holds the value its index
 * points at, spelled exactly as a plain column of the value type spells it, NULLs kept
 * (a NULL index and a NULL in the dictionary alike), whatever the index type, with
 * dictionaries that change between batches, dictionaries in several chunks and sliced batches.
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeUtf8,
  List,
  makeData,
  makeVector,
  type RecordBatch,
  Schema,
  Struct,
  Timestamp,
  TimeUnit,
  Uint8,
  Uint32,
  Uint64,
  Utf8,
  Vector,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../src/arrow/column-data.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { memoryInput, readInput, writeBatches } from './text-helpers.ts';

type IndexType = Int8 | Int16 | Int32 | Int64 | Uint8 | Uint32;

/** A validity bitmap with the given rows NULL. */
function bitmap(length: number, nulls: readonly number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(length / 8)).fill(0xff);
  for (const row of nulls) bits[row >> 3] = (bits[row >> 3] as number) & ~(1 << (row & 7));
  return bits;
}

function fixed(type: DataType, values: ArrayLike<number | bigint>, nulls: readonly number[] = []): Data {
  return makeData({
    type,
    length: values.length,
    data: values,
    nullBitmap: bitmap(values.length, nulls),
    nullCount: nulls.length,
  } as never) as Data;
}

function bytes(type: DataType, values: (Uint8Array | null)[]): Data {
  const offsets = new Int32Array(values.length + 1);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [index, value] of values.entries()) {
    if (value) parts.push(value);
    at += value?.length ?? 0;
    offsets[index + 1] = at;
  }
  const nulls = values.flatMap((value, index) => (value === null ? [index] : []));
  return makeData({
    type,
    length: values.length,
    valueOffsets: offsets,
    data: new Uint8Array(Buffer.concat(parts)),
    nullBitmap: bitmap(values.length, nulls),
    nullCount: nulls.length,
  } as never) as Data;
}

function decimals(values: bigint[], scale: number, nulls: readonly number[]): Data {
  const words = new Uint32Array(values.length * 4);
  for (const [index, value] of values.entries()) {
    let rest = BigInt.asUintN(128, value);
    for (let word = 0; word < 4; word++) {
      words[index * 4 + word] = Number(rest & 0xffffffffn);
      rest >>= 32n;
    }
  }
  return makeData({
    type: new Decimal(scale, 38, 128),
    length: values.length,
    data: words,
    nullBitmap: bitmap(values.length, nulls),
    nullCount: nulls.length,
  });
}

const DAY = 86_400_000n;

/**
 * Dictionaries of every value type the text writers hold: hard values of each type and one
 * NULL (the last entry).
 */
function dictionaries(): [string, Data][] {
  const text = (values: (string | null)[]) => values.map((value) => (value === null ? null : Buffer.from(value)));
  const list = makeData({
    type: new List(new Field('item', new Int32(), true)),
    length: 3,
    valueOffsets: new Int32Array([0, 2, 2, 3]),
    child: fixed(new Int32(), Int32Array.of(1, -2, 7), [2]),
    nullBitmap: bitmap(3, [2]),
    nullCount: 1,
  } as never) as Data;
  return [
    ['utf8', bytes(new Utf8(), text(['plain', '', 'a,b "quoted"', ' padded ', '🦆 åäö', null]))],
    ['large_utf8', vectorFromArray(['x', '', 'y z', null], new LargeUtf8()).data[0] as Data],
    ['int32', fixed(new Int32(), Int32Array.of(-2147483648, 0, 2147483647, 0), [3])],
    ['int64', fixed(new Int64(), BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n, 0n, 0n), [3])],
    ['uint64', fixed(new Uint64(), BigUint64Array.of(2n ** 64n - 1n, 0n, 0n), [2])],
    ['float64', fixed(new Float64(), Float64Array.of(-0, 0, Number.NaN, -Infinity, 0.1, 1e300, 0), [6])],
    ['float32', fixed(new Float32(), Float32Array.of(-0, 1.5, Number.POSITIVE_INFINITY, 0), [3])],
    ['bool', fixed(new Bool(), Uint8Array.of(0b001), [2])],
    ['decimal', decimals([12345n, -5n, -(10n ** 38n - 1n), 0n], 4, [3])],
    ['date32', fixed(new DateDay(), Int32Array.of(19_000, -1, 2_932_897, 0), [3])],
    ['date64', fixed(new DateMillisecond(), BigInt64Array.of(19_000n * DAY, -DAY, 0n), [2])],
    [
      'timestamp[us, UTC]',
      fixed(new Timestamp(TimeUnit.MICROSECOND, 'UTC'), BigInt64Array.of(1_700_000_000_123_456n, -1n, 0n), [2]),
    ],
    ['timestamp[ns]', fixed(new Timestamp(TimeUnit.NANOSECOND), BigInt64Array.of(2n ** 62n, -(2n ** 62n), 0n), [2])],
    ['binary', bytes(new Binary(), [Uint8Array.of(0, 255, 10), new Uint8Array(0), null])],
    ['list<int32>', list],
  ];
}

const indexTypes: IndexType[] = [new Int8(), new Int16(), new Int32(), new Int64(), new Uint8(), new Uint32()];

function typedIndices(type: IndexType, values: number[]): ArrayLike<number | bigint> {
  switch (type.bitWidth) {
    case 8:
      return type.isSigned ? Int8Array.from(values) : Uint8Array.from(values);
    case 16:
      return Int16Array.from(values);
    case 32:
      return type.isSigned ? Int32Array.from(values) : Uint32Array.from(values);
    default:
      return BigInt64Array.from(values, BigInt);
  }
}

/** A dictionary column over `dictionary` (one Vector of one or more chunks); `null` indices are NULL rows. */
function encoded(dictionary: Vector, indices: (number | null)[], indexType: IndexType): Data {
  const nulls = indices.flatMap((value, row) => (value === null ? [row] : []));
  return makeData({
    type: new Dictionary(dictionary.type, indexType as Int32),
    length: indices.length,
    data: typedIndices(
      indexType,
      indices.map((value) => value ?? 0),
    ),
    nullBitmap: bitmap(indices.length, nulls),
    nullCount: nulls.length,
    dictionary,
  } as never) as Data;
}

function batchOf(name: string, column: Data): RecordBatch {
  return makeRecordBatch(new Schema([new Field(name, column.type, true)]), [column], column.length);
}

/**
 * The oracle: each dictionary entry written on its own by the plain writer, one line per
 * value (single-column files: CSV without a header, NDJSON), so the line of a row is the
 * line of the entry its index points at.
 */
async function entryLines(codec: FormatCodec, dictionary: Data): Promise<string[]> {
  const written = await writeBatches(
    codec,
    new Schema([new Field('value', dictionary.type, true)]),
    [batchOf('value', dictionary)],
    { csv: { header: false } },
  );
  return written.toString('utf8').split('\n').slice(0, dictionary.length);
}

async function nullLine(codec: FormatCodec, type: DataType): Promise<string> {
  return (await entryLines(codec, fixed(type, new Int32Array(1), [0])))[0] as string;
}

const codecs: [string, FormatCodec][] = [
  ['csv', csvCodec],
  ['ndjson', ndjsonCodec],
];

describe.each(codecs)('%s writes dictionary-encoded columns as their values', (format, codec) => {
  for (const [name, dictionary] of dictionaries()) {
    if (format === 'csv' && name === 'list<int32>') continue;
    it(`dictionary<${name}> with every index type, NULL indices and a NULL entry`, async () => {
      const entries = await entryLines(codec, dictionary);
      const count = dictionary.length;
      // Every entry, some twice, in an order unlike the dictionary's; NULL rows in between.
      const indices = [count - 1, 0, null, ...Array.from({ length: count }, (_, at) => count - 1 - at), null, 0];
      const nullText = await nullLine(codec, new Int32());
      for (const indexType of indexTypes) {
        const column = encoded(makeVector(dictionary), indices, indexType);
        const schema = new Schema([new Field('value', column.type, true)]);
        const written = await writeBatches(codec, schema, [batchOf('value', column)], { csv: { header: false } });
        const expected = indices.map((index) => (index === null ? nullText : entries[index]));
        expect(written.toString('utf8'), `${name} indexed by ${indexType}`).toBe(`${expected.join('\n')}\n`);
      }
    });
  }

  it('dictionaries that change between batches, dictionaries in several chunks and sliced batches', async () => {
    const first = bytes(new Utf8(), [Buffer.from('a'), Buffer.from('b')]);
    const second = bytes(new Utf8(), [Buffer.from('x "y"'), Buffer.from('z'), null]);
    const third = bytes(new Utf8(), [Buffer.from('later')]);
    const replaced = encoded(makeVector(second), [2, 1, 0], new Int32());
    const chunked = encoded(new Vector([first, third]), [2, 0, 1, 2], new Int32());
    const sliced = batchOf('label', encoded(makeVector(second), [0, 1, null, 0, 1], new Int16())).slice(2, 5);
    const batches = [
      batchOf('label', encoded(makeVector(first), [1, 0], new Int32())),
      batchOf('label', replaced),
      batchOf('label', chunked),
      sliced,
    ];
    const schema = (batches[0] as RecordBatch).schema;
    const plain = ['b', 'a', null, 'z', 'x "y"', 'later', 'a', 'b', 'later', null, 'x "y"', 'z'];
    const expected = await writeBatches(codec, new Schema([new Field('label', new Utf8(), true)]), [
      batchOf('label', vectorFromArray(plain, new Utf8()).data[0] as Data),
    ]);
    expect((await writeBatches(codec, schema, batches)).toString('utf8')).toBe(expected.toString('utf8'));
  });

  it('a dictionary column reads back with the written schema as its values', async () => {
    const dictionary = makeVector(bytes(new Utf8(), [Buffer.from('red'), Buffer.from('green, blue')]));
    const batch = batchOf('colour', encoded(dictionary, [0, 1, null, 1], new Int32()));
    const written = await writeBatches(codec, batch.schema, [batch]);
    const types = new Map<string, DataType>([['colour', new Utf8()]]);
    const { batches } = await readInput(codec, memoryInput(`c.${format}`, written), { types });
    expect(batches.flatMap((read) => read.getChild('colour')?.toArray())).toEqual([
      'red',
      'green, blue',
      null,
      'green, blue',
    ]);
  });

  it('an index outside the dictionary is refused naming column and row, not written as something else', async () => {
    const dictionary = makeVector(bytes(new Utf8(), [Buffer.from('only')]));
    const batch = batchOf('label', encoded(dictionary, [0, 0, 3], new Int32()));
    await expect(writeBatches(codec, batch.schema, [batch])).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringMatching(/column "label", row 3\b.*index 3.*1 entr/),
    });
  });
});

describe('writability of dictionary columns (preflight)', () => {
  const dictionary = (value: DataType) => new Schema([new Field('d', new Dictionary(value, new Int32()), true)]);
  it('a dictionary of a writable type is writable; of a type the format cannot hold it is refused naming the column', () => {
    for (const codec of [csvCodec, ndjsonCodec]) {
      expect(codec.checkWritable, codec.name).toBeTypeOf('function');
      expect(() => codec.checkWritable?.(dictionary(new Utf8()))).not.toThrow();
      expect(() => codec.checkWritable?.(dictionary(new Timestamp(TimeUnit.MILLISECOND, 'UTC')))).not.toThrow();
      expect(() => codec.checkWritable?.(dictionary(new Struct([new Field('a', new Int32(), true)])))).toThrowError(
        /column "d" has type Dictionary<Int32, Struct<\{a:Int32\}>>, which (csv|ndjson) cannot hold/,
      );
    }
    expect(() => ndjsonCodec.checkWritable?.(dictionary(new List(new Field('item', new Int32(), true))))).not.toThrow();
    expect(() => csvCodec.checkWritable?.(dictionary(new List(new Field('item', new Int32(), true))))).toThrowError(
      /column "d" .* which csv cannot hold/,
    );
  });
});

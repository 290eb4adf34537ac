/**
 * A utf8 column holding bytes that are not UTF-8 (possible in Parquet and Arrow IPC files)
 * cannot be written as CSV or NDJSON without changing it: the writers refuse it with a
 * non-retryable DATA_CORRUPT naming the column and the 1-based row of the data written to
 * the target (counted across part files), instead of replacing the bytes with U+FFFD.
 */
import {
  type Data,
  type DataType,
  Dictionary,
  Field,
  Int32,
  LargeUtf8,
  List,
  makeData,
  makeVector,
  type RecordBatch,
  Schema,
  Utf8,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../src/arrow/column-data.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { writeBatches } from './text-helpers.ts';

function utf8(cells: (number[] | null)[]): Data {
  const offsets = new Int32Array(cells.length + 1);
  const bytes: number[] = [];
  const bits = new Uint8Array(Math.ceil(cells.length / 8));
  for (const [row, cell] of cells.entries()) {
    if (cell !== null) bits[row >> 3] = (bits[row >> 3] as number) | (1 << (row & 7));
    bytes.push(...(cell ?? []));
    offsets[row + 1] = bytes.length;
  }
  const nullCount = cells.filter((cell) => cell === null).length;
  return makeData({
    type: new Utf8(),
    length: cells.length,
    valueOffsets: offsets,
    data: Uint8Array.from(bytes),
    nullBitmap: bits,
    nullCount,
  }) as Data;
}

/** A NULL cell whose slot still holds bytes (Arrow allows it; they are never read). */
function nullWithBytes(): Data {
  return makeData({
    type: new Utf8(),
    length: 2,
    valueOffsets: Int32Array.of(0, 2, 4),
    data: Uint8Array.of(0xff, 0xfe, 0x6f, 0x6b),
    nullBitmap: Uint8Array.of(0b10),
    nullCount: 1,
  }) as Data;
}

const ascii = (text: string) => [...Buffer.from(text)];

function batch(columns: Record<string, Data>): RecordBatch {
  const fields = Object.entries(columns).map(([name, data]) => new Field(name, data.type as DataType, true));
  const first = Object.values(columns)[0] as Data;
  return makeRecordBatch(new Schema(fields), Object.values(columns), first.length);
}

const codecs: [string, FormatCodec][] = [
  ['csv', csvCodec],
  ['ndjson', ndjsonCodec],
];

describe.each(codecs)('%s refuses invalid UTF-8 at write', (_format, codec) => {
  it('names the column and the 1-based row; not retryable; no U+FFFD written', async () => {
    const good = batch({ id: utf8([ascii('1'), ascii('2')]), name: utf8([ascii('a'), ascii('b')]) });
    const bad = batch({
      id: utf8([ascii('3'), ascii('4'), ascii('5')]),
      name: utf8([ascii('ok'), [0x63, 0x61, 0x66, 0xe9], ascii('fine')]),
    });
    const written = writeBatches(codec, good.schema, [good, bad]);
    await expect(written).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      details: { column: 'name', row: 4 },
      message: expect.stringMatching(/column "name", row 4 .*not valid UTF-8.*63 61 66 e9/),
    });
  });

  it('counts the rows of earlier part files (precedingRows)', async () => {
    const bad = batch({ name: utf8([ascii('ok'), [0xff]]) });
    await expect(writeBatches(codec, bad.schema, [bad], { precedingRows: 1000 })).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      details: { column: 'name', row: 1002 },
    });
  });

  it('a cell that cuts a character in two, in bytes that are valid UTF-8 as a whole', async () => {
    // "é" is c3 a9: the offsets put each byte in its own cell.
    const split = makeData({
      type: new Utf8(),
      length: 3,
      valueOffsets: Int32Array.of(0, 1, 2, 3),
      data: Uint8Array.of(0x61, 0xc3, 0xa9),
    }) as Data;
    const cut = batch({ name: split });
    await expect(writeBatches(codec, cut.schema, [cut])).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      details: { column: 'name', row: 2 },
    });
  });

  it('bytes under a NULL are not data: the batch is written', async () => {
    const nulls = batch({ name: nullWithBytes() });
    const written = (await writeBatches(codec, nulls.schema, [nulls], { csv: { header: false } })).toString('utf8');
    expect(written).not.toContain('\ufffd');
    expect(written.split('\n')[1]).toMatch(/ok/);
  });

  it('large_utf8 values (written through text) are checked too', async () => {
    const large = makeData({
      type: new LargeUtf8(),
      length: 3,
      valueOffsets: BigInt64Array.of(0n, 1n, 2n, 3n),
      data: Uint8Array.of(0x61, 0x62, 0xc0),
    }) as Data;
    const bad = batch({ text: large });
    await expect(writeBatches(codec, bad.schema, [bad])).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      details: { column: 'text', row: 3 },
    });
  });

  it('a dictionary entry that is not UTF-8 is refused at the first row that uses it; an unused one is not', async () => {
    const dictionary = makeVector(utf8([ascii('fine'), [0x80], ascii('also fine')]));
    const column = (indices: number[]) =>
      makeData({
        type: new Dictionary(new Utf8(), new Int32()),
        length: indices.length,
        data: Int32Array.from(indices),
        dictionary,
      } as never) as Data;
    const unused = batch({ label: column([0, 2, 0]) });
    expect((await writeBatches(codec, unused.schema, [unused])).toString('utf8')).toContain('also fine');
    const used = batch({ label: column([0, 2, 1, 1]) });
    await expect(writeBatches(codec, used.schema, [used])).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      details: { column: 'label', row: 3 },
    });
  });
});

describe('ndjson list elements', () => {
  it('a list<utf8> element that is not UTF-8 is refused naming the row holding the list', async () => {
    const elements = utf8([ascii('a'), ascii('b'), [0xed, 0xa0, 0x80]]);
    const lists = makeData({
      type: new List(new Field('item', new Utf8(), true)),
      length: 2,
      valueOffsets: Int32Array.of(0, 2, 3),
      child: elements,
    } as never) as Data;
    const bad = batch({ tags: lists });
    await expect(writeBatches(ndjsonCodec, bad.schema, [bad])).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      details: { column: 'tags', row: 2 },
    });
  });
});

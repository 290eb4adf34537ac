/**
 * What a text file can be besides well-formed rows: compressed (gzip, zstd; by name or by
 * magic bytes), empty, not UTF-8, or made of wide rows.
 */
import zlib from 'node:zlib';
import { type DataType, Field, Int64, List, makeData, type RecordBatch, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../src/arrow/column-data.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { memoryInput, readInput, writeBatches } from './text-helpers.ts';

const codecs: [string, FormatCodec][] = [
  ['csv', csvCodec],
  ['ndjson', ndjsonCodec],
];

function rowsOf(format: string, count: number, from = 0): string {
  const lines: string[] = format === 'csv' ? ['id,name'] : [];
  for (let index = from; index < from + count; index++) {
    lines.push(format === 'csv' ? `${index},name ${index}` : JSON.stringify({ id: index, name: `name ${index}` }));
  }
  return `${lines.join('\n')}\n`;
}

function ids(batches: RecordBatch[]): number[] {
  return batches.flatMap((batch) => Array.from(batch.getChild('id')?.toArray() as BigInt64Array, Number));
}

const compress = {
  gzip: (bytes: Buffer) => zlib.gzipSync(bytes),
  zstd: (bytes: Buffer) => zlib.zstdCompressSync(bytes),
};

describe.each(codecs)('%s compressed input and output', (format, codec) => {
  for (const [kind, pack] of Object.entries(compress)) {
    const extension = kind === 'gzip' ? 'gz' : 'zst';
    it(`reads ${kind} by extension and by magic bytes, in small chunks`, async () => {
      const packed = pack(Buffer.from(rowsOf(format, 5000)));
      for (const name of [`data.${format}.${extension}`, `data.${format}`]) {
        const { schema, batches } = await readInput(codec, memoryInput(name, packed, 1000), {}, 700);
        expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual(['id:Int64', 'name:Utf8']);
        expect(ids(batches)).toEqual(Array.from({ length: 5000 }, (_, index) => index));
      }
    });

    it(`reads concatenated ${kind} members or frames`, async () => {
      const packed = Buffer.concat([
        pack(Buffer.from(rowsOf(format, 3))),
        pack(Buffer.from(rowsOf(format, 4, 3).replace(/^id,name\n/, ''))),
      ]);
      const { batches } = await readInput(codec, memoryInput(`parts.${format}.${extension}`, packed, 7));
      expect(ids(batches)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });

    it(`refuses a truncated or corrupt ${kind} stream with DATA_CORRUPT naming the file`, async () => {
      const packed = pack(Buffer.from(rowsOf(format, 20_000)));
      const truncated = packed.subarray(0, packed.length - 20);
      await expect(readInput(codec, memoryInput(`cut.${format}.${extension}`, truncated))).rejects.toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        message: expect.stringMatching(new RegExp(`cut\\.${format}\\.${extension}.*${kind}`)),
      });
      const corrupt = Buffer.from(packed);
      for (let at = 200; at < 260; at++) corrupt[at] = (corrupt[at] as number) ^ 0x5a;
      await expect(readInput(codec, memoryInput(`bad.${format}.${extension}`, corrupt))).rejects.toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        message: expect.stringContaining(`bad.${format}.${extension}`),
      });
    });

    it(`refuses bytes after the last ${kind} member or frame instead of ignoring them`, async () => {
      const packed = Buffer.concat([pack(Buffer.from(rowsOf(format, 3))), Buffer.from('trailing garbage')]);
      await expect(readInput(codec, memoryInput(`tail.${format}.${extension}`, packed, 5))).rejects.toMatchObject({
        code: 'DATA_CORRUPT',
        message: expect.stringContaining(`tail.${format}.${extension}`),
      });
    });

    it(`a ${kind} writer passes a failing sink's error on instead of hanging`, async () => {
      const schema = new Schema([new Field('text', new Utf8(), true)]);
      const text = Buffer.from(
        Array.from({ length: 20_000 }, (_, index) => `row ${index} ${'x'.repeat(200)}`).join(''),
      );
      const offsets = new Int32Array(20_001).map((_, index) => index * (text.length / 20_000));
      const batch = makeRecordBatch(
        schema,
        [makeData({ type: new Utf8(), length: 20_000, valueOffsets: offsets, data: text })],
        20_000,
      );
      const failing = {
        async write() {
          throw new Error('disk full');
        },
      };
      const writer = codec.createWriter(failing, schema, { compression: kind as 'gzip' | 'zstd' });
      const run = async () => {
        for (let round = 0; round < 50; round++) await writer.write(batch);
        await writer.finish();
      };
      await expect(run()).rejects.toThrow('disk full');
    });

    it(`writes ${kind} when asked, which reads back decompressed`, async () => {
      const schema = new Schema([new Field('id', new Int64(), true)]);
      const batch = makeRecordBatch(
        schema,
        [makeData({ type: new Int64(), length: 3, data: new BigInt64Array([1n, -2n, 9007199254740993n]) })],
        3,
      );
      const bytes = await writeBatches(codec, schema, [batch], { compression: kind as 'gzip' | 'zstd' });
      const plain = kind === 'gzip' ? zlib.gunzipSync(bytes) : zlib.zstdDecompressSync(bytes);
      expect(plain.toString()).toBe(
        format === 'csv' ? 'id\n1\n-2\n9007199254740993\n' : '{"id":1}\n{"id":-2}\n{"id":9007199254740993}\n',
      );
      const { batches } = await readInput(codec, memoryInput(`out.${format}.${extension}`, bytes), {
        types: new Map([['id', new Int64()]]),
      });
      expect(batches[0]?.getChild('id')?.toArray()).toEqual(new BigInt64Array([1n, -2n, 9007199254740993n]));
    });
  }

  it('refuses a file named .gz that is not gzip', async () => {
    await expect(readInput(codec, memoryInput(`plain.${format}.gz`, rowsOf(format, 2)))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringMatching(/plain\..*\.gz.*gzip/),
    });
  });
});

describe.each(codecs)('%s empty files', (format, codec) => {
  it('a 0-byte file is DATA_CORRUPT at schema read, naming the file and saying it is empty', async () => {
    for (const bytes of [Buffer.alloc(0), zlib.gzipSync(Buffer.alloc(0)), Buffer.from('\n\n')]) {
      const error = await codec.readSchema(memoryInput(`empty.${format}`, bytes)).catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        message: expect.stringMatching(
          format === 'csv' ? /empty\.csv.*empty.*header row/ : /empty\.ndjson.*(empty|no JSON object)/,
        ),
      });
    }
  });

  it('an empty file with declared columns (what a writer of no rows leaves) is a 0-row dataset', async () => {
    const types = new Map<string, Int64>([['id', new Int64()]]);
    const options = format === 'csv' ? { types, csv: { header: false } } : { types };
    const { schema, batches } = await readInput(codec, memoryInput(`none.${format}`, ''), options);
    expect(schema.fields.map((field) => field.name)).toEqual(['id']);
    expect(batches).toEqual([]);
  });

  if (format === 'csv') {
    it('a header-only CSV is a valid 0-row dataset with columns', async () => {
      const { schema, batches } = await readInput(codec, memoryInput('header.csv', 'id,name\n'));
      expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual(['id:Utf8', 'name:Utf8']);
      expect(batches).toEqual([]);
    });
  }
});

describe.each(codecs)('%s invalid UTF-8', (format, codec) => {
  const bad = Buffer.from([0x66, 0xff, 0x6f]); // "f", an invalid byte, "o"
  const row = (index: number, name: Buffer) =>
    format === 'csv'
      ? Buffer.concat([Buffer.from(`${index},`), name, Buffer.from('\n')])
      : Buffer.concat([Buffer.from(`{"id":${index},"name":"`), name, Buffer.from('"}\n')]);

  function file(badRow: number, rows = 3000): Buffer {
    const parts = [Buffer.from(format === 'csv' ? 'id,name\n' : '')];
    for (let index = 1; index <= rows; index++) parts.push(row(index, index === badRow ? bad : Buffer.from('ok')));
    return Buffer.concat(parts);
  }

  it('in a sampled row: DATA_CORRUPT at schema read, naming file, row and column', async () => {
    await expect(codec.readSchema(memoryInput(`sample.${format}`, file(7)))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringMatching(
        format === 'csv' ? /sample\.csv.*row 7.*"name".*UTF-8/ : /sample\.ndjson.*line 7.*"name".*UTF-8/,
      ),
    });
  });

  it('beyond the sample: DATA_CORRUPT at read, naming file, row and column', async () => {
    const types = new Map([['name', new Utf8()]]);
    await expect(readInput(codec, memoryInput(`late.${format}`, file(2500)), { types }, 1000)).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringMatching(
        format === 'csv' ? /late\.csv.*row 2500.*"name".*UTF-8/ : /late\.ndjson.*line 2500.*"name".*UTF-8/,
      ),
    });
  });

  it('in an escaped string or a column name', async () => {
    const escaped =
      format === 'csv'
        ? Buffer.concat([Buffer.from('id,name\n1,"a ""'), bad, Buffer.from('"\n')])
        : Buffer.concat([Buffer.from('{"id":1,"name":"a \\"'), bad, Buffer.from('"}\n')]);
    await expect(codec.readSchema(memoryInput(`escaped.${format}`, escaped))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringMatching(/"name".*UTF-8/),
    });
    const header =
      format === 'csv'
        ? Buffer.concat([Buffer.from('id,'), bad, Buffer.from('\n1,2\n')])
        : Buffer.concat([Buffer.from('{"id":1,"'), bad, Buffer.from('":2}\n')]);
    await expect(codec.readSchema(memoryInput(`header.${format}`, header))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringMatching(/header\..*column name.*UTF-8/),
    });
  });
});

describe.each(codecs)('%s batches follow bytes', (format, codec) => {
  it('wide rows make batches of a few MiB, not batchRows rows', async () => {
    const wide = 'x'.repeat(1000);
    const lines = format === 'csv' ? ['id,text'] : [];
    for (let index = 0; index < 30_000; index++) {
      lines.push(format === 'csv' ? `${index},${wide}` : `{"id":${index},"text":"${wide}"}`);
    }
    const input = memoryInput(`wide.${format}`, `${lines.join('\n')}\n`, 1024 * 1024);
    const { batches } = await readInput(codec, input, {}, 65_536);
    expect(batches.length).toBeGreaterThan(2);
    expect(Math.max(...batches.map((batch) => batch.numRows))).toBeLessThan(10_000);
    expect(ids(batches)).toEqual(Array.from({ length: 30_000 }, (_, index) => index));
  });
});

describe('ndjson errors name the line', () => {
  it('counts blank lines, and names the line of a bad list element', async () => {
    const types = new Map<string, DataType>([
      ['id', new Int64()],
      ['xs', new List(new Field('item', new Int64(), true))],
    ]);
    const body = '{"id":1,"xs":[1]}\n\n\n{"id":2,"xs":[2]}\n{"id":"x","xs":[]}\n';
    await expect(readInput(ndjsonCodec, memoryInput('lines.ndjson', body), { types })).rejects.toMatchObject({
      message: expect.stringMatching(/"x" in column "id" \(line 5 of lines\.ndjson\)/),
    });
    const list = '{"id":1,"xs":[1]}\n\n{"id":2,"xs":[2,3,"y"]}\n';
    await expect(readInput(ndjsonCodec, memoryInput('list.ndjson', list), { types })).rejects.toMatchObject({
      message: expect.stringMatching(/"y" in column "xs\[\]" \(line 3 of list\.ndjson\)/),
    });
  });
});

describe.each(codecs)('%s batches built on worker threads', (format, codec) => {
  it('keep row order, and a bad value in a later batch is refused naming its row', async () => {
    // 5,000 rows in batches of 700: the first batch is built on the main thread, the rest on workers.
    const { batches } = await readInput(codec, memoryInput(`order.${format}`, rowsOf(format, 5000)), {}, 700);
    expect(batches.length).toBe(8);
    expect(ids(batches)).toEqual(Array.from({ length: 5000 }, (_, index) => index));
    const types = new Map<string, DataType>([['id', new Int64()]]);
    const bad = rowsOf(format, 5000).replace(
      format === 'csv' ? '\n4321,' : '{"id":4321,',
      format === 'csv' ? '\nfour,' : '{"id":"four",',
    );
    await expect(readInput(codec, memoryInput(`bad.${format}`, bad), { types }, 700)).rejects.toMatchObject({
      code: expect.stringMatching(/DATA_CORRUPT|SCHEMA_MISMATCH/),
      message: expect.stringMatching(format === 'csv' ? /"four".*data row 4322/ : /"four".*line 4322/),
    });
  });
});

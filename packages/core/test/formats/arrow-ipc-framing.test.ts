/**
 * Arrow IPC in both framings: the file format (Feather v2, `ARROW1` at both ends) as other
 * writers produce it, and what Honk writes for `.arrow` / `.feather` (file) and `.arrows`
 * (stream), checked with apache-arrow's own readers, independent of Honk's codec.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSink, createFileSource } from '../../src/connectors/file/index.ts';
import { arrowIpcCodec } from '../../src/formats/arrow-ipc-codec.ts';
import type { ByteInput } from '../../src/formats/format-codec.ts';
import { RandomAccessBlob } from '../../src/formats/random-access-blob.ts';
import { context, readAll, signal, tempRoot } from '../connectors/file/fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

/** Four batches of 1000 rows: an int64 id, a text column and a dictionary-encoded one. */
function table(): A.Table {
  const colourType = new A.Dictionary(new A.Utf8(), new A.Int32(), 0);
  const colours = A.vectorFromArray(['red', 'blue'], new A.Utf8());
  const schema = new A.Schema([
    new A.Field('id', new A.Int64()),
    new A.Field('name', new A.Utf8()),
    new A.Field('colour', colourType),
  ]);
  const batches = Array.from({ length: 4 }, (_, part) => {
    const ids = Array.from({ length: 1000 }, (_, row) => BigInt(part * 1000 + row));
    const colour = A.makeData({
      type: colourType,
      length: 1000,
      data: Int32Array.from(ids, (id) => (id % 3n === 0n ? 0 : 1)),
      dictionary: colours,
    });
    const columns = [
      A.vectorFromArray(ids, new A.Int64()).data[0],
      A.vectorFromArray(
        ids.map((id) => `name-${id}`),
        new A.Utf8(),
      ).data[0],
      colour,
    ];
    return new A.RecordBatch(
      schema,
      A.makeData({ type: new A.Struct(schema.fields), length: 1000, children: columns as A.Data[] }),
    );
  });
  return new A.Table(schema, batches);
}

const ids = (batches: A.RecordBatch[]) => batches.flatMap((batch) => [...(batch.getChild('id')?.toArray() ?? [])]);
const text = (bytes: Uint8Array, from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString('latin1');

describe('reading the Arrow IPC file format', () => {
  it("reads a file written by apache-arrow's RecordBatchFileWriter, every batch and the dictionary", async () => {
    const expected = table();
    const bytes = A.RecordBatchFileWriter.writeAll(expected).toUint8Array(true);
    expect(text(bytes, 0, 6)).toBe('ARROW1');
    await writeFile(path.join(root, 'orders.feather'), bytes);
    const source = createFileSource({ options: { root }, endpoint: { path: 'orders.feather' } });
    expect((await source.schema()).fields.map((field) => String(field.type))).toEqual([
      'Int64',
      'Utf8',
      'Dictionary<Int32, Utf8>',
    ]);
    const batches = await readAll(source, 700);
    expect(ids(batches)).toEqual(ids(expected.batches));
    expect(batches.flatMap((batch) => [...(batch.getChild('colour')?.toArray() ?? [])]).slice(0, 3)).toEqual([
      'red',
      'blue',
      'blue',
    ]);
  });

  it('reads a file batch by batch through random access, never the whole file at once', async () => {
    const bytes = A.RecordBatchFileWriter.writeAll(table()).toUint8Array(true);
    const reads: number[] = [];
    const input: ByteInput = {
      name: 'memory.arrow',
      size: bytes.length,
      blob: () =>
        new RandomAccessBlob({
          size: bytes.length,
          read: async (offset, length) => {
            reads.push(length);
            return bytes.slice(offset, offset + length);
          },
        }),
      stream: () => {
        throw new Error('the file format is read by random access, not as a stream');
      },
    };
    const batches: A.RecordBatch[] = [];
    for await (const batch of arrowIpcCodec.read(input, { batchRows: 10_000 })) batches.push(batch);
    expect(batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(4000);
    expect(Math.max(...reads)).toBeLessThan(bytes.length / 2);
  });

  it('a truncated file is DATA_CORRUPT naming the file', async () => {
    const bytes = A.RecordBatchFileWriter.writeAll(table()).toUint8Array(true);
    const broken = new Uint8Array(bytes.subarray(0, bytes.length - 40));
    broken.set(new TextEncoder().encode('ARROW1'), broken.length - 6);
    await writeFile(path.join(root, 'broken.arrow'), broken);
    const source = createFileSource({ options: { root }, endpoint: { path: 'broken.arrow' } });
    await expect(readAll(source)).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringContaining('broken.arrow'),
    });
  });
});

describe('writing Arrow IPC', () => {
  async function write(name: string): Promise<Uint8Array> {
    const data = table();
    const sink = createFileSink({ options: { root }, endpoint: { path: name }, context: context() });
    const writer = await sink.open(data.schema, { signal: signal(), mode: 'replace' });
    for (const batch of data.batches) await writer.write(batch);
    await writer.stage();
    await writer.publish();
    return new Uint8Array(await readFile(path.join(root, name)));
  }

  it("writes .arrow and .feather in the file format, which apache-arrow's RecordBatchFileReader reads", async () => {
    for (const name of ['orders.arrow', 'orders.feather']) {
      const bytes = await write(name);
      expect(text(bytes, 0, 6)).toBe('ARROW1');
      expect(text(bytes, bytes.length - 6, bytes.length)).toBe('ARROW1');
      const reader = A.RecordBatchFileReader.from(bytes).open();
      expect(reader.numRecordBatches).toBe(4);
      expect(ids([...reader])).toEqual(ids(table().batches));
    }
  });

  it('writes .arrows in the stream format, and Honk reads both back', async () => {
    const bytes = await write('orders.arrows');
    expect(text(bytes, 0, 6)).not.toBe('ARROW1');
    expect(ids([...A.RecordBatchStreamReader.from(bytes)])).toEqual(ids(table().batches));
    await write('orders.arrow');
    for (const name of ['orders.arrows', 'orders.arrow']) {
      const source = createFileSource({ options: { root }, endpoint: { path: name } });
      expect(ids(await readAll(source, 1000))).toEqual(ids(table().batches));
    }
  });
});

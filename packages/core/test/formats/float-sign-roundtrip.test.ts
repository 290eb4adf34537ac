/**
 * −0.0 through every format that keeps it: the checksum of what each format reads back
 * equals the source's, now that the checksum tells −0.0 from +0.0, and a task into each
 * format validates and publishes.
 */
import path from 'node:path';
import { type Data, Field, Float32, Float64, List, makeData, type RecordBatch, Schema } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../src/arrow/column-data.ts';
import { createFileSource, fileConnector } from '../../src/connectors/file/index.ts';
import { arrowIpcCodec } from '../../src/formats/arrow-ipc-codec.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { parquetCodec } from '../../src/formats/parquet-codec.ts';
import { ConnectorRegistry } from '../../src/index.ts';
import { runTask } from '../../src/run/run-task.ts';
import { createMemoryConnector, MemoryStorage } from '../../src/testing/index.ts';
import { Checksum } from '../../src/validate/row-hash.ts';
import { readAll, tempRoot } from '../connectors/file/fixtures.ts';
import { memoryInput, readInput, writeBatches } from './text-helpers.ts';

function floats(type: Float32 | Float64, values: number[]): Data {
  const array = type instanceof Float32 ? Float32Array.from(values) : Float64Array.from(values);
  return makeData({ type, length: values.length, data: array } as never) as Data;
}

/** −0.0 and +0.0 side by side (and NaN, ±Infinity), float64 and float32, and in a list. */
function signedZeros(): RecordBatch {
  const values = [-0, 0, -0, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, -0];
  const list = makeData({
    type: new List(new Field('item', new Float64(), true)),
    length: values.length,
    valueOffsets: Int32Array.from({ length: values.length + 1 }, (_, index) => index),
    child: floats(
      new Float64(),
      values.map((value) => (Object.is(value, -0) ? 0 : -0)),
    ),
  } as never) as Data;
  const columns: Record<string, Data> = {
    f64: floats(new Float64(), values),
    f32: floats(new Float32(), values),
    list,
  };
  const schema = new Schema(Object.entries(columns).map(([name, data]) => new Field(name, data.type, true)));
  return makeRecordBatch(schema, Object.values(columns), values.length);
}

function checksumOf(batches: RecordBatch[]): string {
  const checksum = new Checksum();
  for (const batch of batches) checksum.add(batch);
  return checksum.sum;
}

const codecs: [string, FormatCodec, boolean][] = [
  ['parquet', parquetCodec, true],
  ['arrow', arrowIpcCodec, true],
  ['ndjson', ndjsonCodec, true],
  ['csv', csvCodec, false],
];

describe('−0.0 and the checksum', () => {
  it('−0.0 changes a checksum: the batch with its signs flipped sums differently', () => {
    const batch = signedZeros();
    const flipped = makeRecordBatch(
      batch.schema,
      [floats(new Float64(), [0, 0, 0, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, 0]), ...batch.data.children.slice(1)],
      batch.numRows,
    );
    expect(checksumOf([flipped])).not.toBe(checksumOf([batch]));
  });

  for (const [format, codec, lists] of codecs) {
    it(`${format} reads −0.0 back with the source's checksum`, async () => {
      let batch = signedZeros();
      if (!lists)
        batch = makeRecordBatch(
          new Schema(batch.schema.fields.slice(0, 2)),
          batch.data.children.slice(0, 2),
          batch.numRows,
        );
      const bytes = await writeBatches(codec, batch.schema, [batch], { name: `zeros.${format}` });
      const types = new Map(batch.schema.fields.map((field) => [field.name, field.type]));
      const { batches } = await readInput(codec, memoryInput(`zeros.${format}`, bytes), { types }, 3);
      expect(checksumOf(batches)).toBe(checksumOf([batch]));
      const f64 = batches.flatMap((read) => Array.from(read.getChild('f64')?.toArray() as Float64Array));
      expect(f64.map((value) => Object.is(value, -0))).toEqual([true, false, true, false, false, false, true]);
    });
  }
});

describe('−0.0 into every file format, end to end', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ root, cleanup } = await tempRoot());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('validates (checksum included) and publishes; the target keeps the sign', async () => {
    const batch = signedZeros();
    for (const [format, , lists] of codecs) {
      const storage = new MemoryStorage();
      const source = lists
        ? batch
        : makeRecordBatch(new Schema(batch.schema.fields.slice(0, 2)), batch.data.children.slice(0, 2), batch.numRows);
      storage.set('zeros', source.schema, [source]);
      const target = `zeros.${format}`;
      const report = await runTask({
        connectors: new ConnectorRegistry([createMemoryConnector({ default: storage }), fileConnector]),
        task: {
          id: `zeros-${format}`,
          source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'zeros' } },
          target: { connector: 'file', connection: 'out', options: { root }, endpoint: { path: target } },
          validate: { rowCount: true, checksum: true, sample: 10, schema: true },
        },
      });
      expect(report.error, format).toBeUndefined();
      expect(report.validation?.checks.find((check) => check.name === 'checksum')?.ok, format).toBe(true);
      const schema = format === 'csv' || format === 'ndjson' ? { f64: 'float64', f32: 'float32' } : undefined;
      const back = createFileSource({ options: { root }, endpoint: { path: target, ...(schema ? { schema } : {}) } });
      const read = await readAll(back, 100);
      expect(
        read.flatMap((part) =>
          Array.from(part.getChild('f64')?.toArray() as Float64Array, (value) => Object.is(value, -0)),
        ),
        path.basename(target),
      ).toEqual([true, false, true, false, false, false, true]);
    }
  });
});

import { Schema } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../../src/arrow/column-data.ts';
import { typeName } from '../../../src/arrow/type-names.ts';
import type { FileEndpoint } from '../../../src/connectors/file/index.ts';
import { createFileSink, createFileSource } from '../../../src/connectors/file/index.ts';
import {
  canonicalRows,
  context,
  readAll,
  schemaNames,
  signal,
  tempRoot,
  trickyBatch,
  trickyTypes,
} from './fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

function withoutLists() {
  const batch = trickyBatch();
  const keep = batch.schema.fields.filter((field) => field.name !== 'tags');
  const schema = new Schema(keep);
  return makeRecordBatch(
    schema,
    keep.map((field) => batch.getChild(field.name)?.data[0] as never),
    batch.numRows,
  );
}

async function roundTrip(endpoint: FileEndpoint, readEndpoint: FileEndpoint, batch = trickyBatch()) {
  const sink = createFileSink({ options: { root }, endpoint, context: context() });
  const writer = await sink.open(batch.schema, { signal: signal(), mode: 'replace' });
  // Two writes of slices: sliced data (offsets into shared buffers) must be written right.
  await writer.write(batch.slice(0, 2));
  await writer.write(batch.slice(2));
  const staged = await writer.stage();
  expect(staged.rows).toBe(batch.numRows);
  const stagedRows = canonicalRows(await readAll(staged.reader()));
  await writer.publish();
  const source = createFileSource({ options: { root }, endpoint: readEndpoint });
  const schema = await source.schema();
  const read = await readAll(source);
  return { schema, rows: canonicalRows(read), stagedRows, expected: canonicalRows([batch]) };
}

const explicit = (names: string[]) =>
  Object.fromEntries(
    Object.entries(trickyTypes)
      .filter(([name]) => names.includes(name))
      .map(([name, type]) => [name, typeName(type)]),
  );

describe('file connector round trips the tricky types', () => {
  it('parquet keeps every type exactly', async () => {
    const result = await roundTrip(
      { path: 'out/orders.parquet', parquet: { compression: 'snappy', dictionary: ['name'] } },
      { path: 'out/orders.parquet' },
    );
    expect(schemaNames(result.schema)).toEqual(schemaNames(trickyBatch().schema));
    expect(result.rows).toEqual(result.expected);
    expect(result.stagedRows).toEqual(result.expected);
  });

  it('arrow IPC keeps every type exactly', async () => {
    const result = await roundTrip({ path: 'orders.arrows' }, { path: 'orders.arrows' });
    expect(schemaNames(result.schema)).toEqual(schemaNames(trickyBatch().schema));
    expect(result.rows).toEqual(result.expected);
  });

  it('ndjson keeps every type with an explicit schema', async () => {
    const all = Object.keys(trickyTypes);
    const result = await roundTrip({ path: 'orders.ndjson' }, { path: 'orders.ndjson', schema: explicit(all) });
    expect(schemaNames(result.schema)).toEqual(schemaNames(trickyBatch().schema));
    expect(result.rows).toEqual(result.expected);
    expect(result.stagedRows).toEqual(result.expected);
  });

  it('csv keeps every non-list type with an explicit schema, NULL and "" apart', async () => {
    const batch = withoutLists();
    const names = batch.schema.fields.map((field) => field.name);
    const result = await roundTrip({ path: 'orders.csv' }, { path: 'orders.csv', schema: explicit(names) }, batch);
    expect(schemaNames(result.schema)).toEqual(schemaNames(batch.schema));
    expect(result.rows).toEqual(result.expected);
    expect(result.stagedRows).toEqual(result.expected);
    const row1 = result.rows[1] as Record<string, unknown>;
    const row4 = result.rows[4] as Record<string, unknown>;
    expect(row1.name).toBe('');
    expect(row4.name).toBeNull();
  });

  it('csv with nullValue keeps NULL and "" apart too', async () => {
    const batch = withoutLists();
    const names = batch.schema.fields.map((field) => field.name);
    const csv = { nullValue: '\\N', delimiter: ';' };
    const result = await roundTrip(
      { path: 'orders.csv', csv },
      { path: 'orders.csv', csv, schema: explicit(names) },
      batch,
    );
    expect(result.rows).toEqual(result.expected);
  });

  it('csv refuses a list column at check time', async () => {
    const sink = createFileSink({ options: { root }, endpoint: { path: 'x.csv' }, context: context() });
    await expect(sink.check?.(trickyBatch().schema, { mode: 'replace' })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringContaining('"tags"'),
    });
  });
});

/**
 * The type mapping table (bigquery-types.ts, README.md), row by row: every BigQuery type is
 * read into its Arrow type with its value exact, written back through the sink (Parquet load
 * job) into a new table of the same BigQuery types, and read again unchanged. Unsupported
 * types fail at plan time naming the column; values BigQuery would change are refused per row.
 */
import { ConnectorRegistry, runTask } from '@honk/core';
import { createMemoryConnector, fingerprint, MemoryStorage } from '@honk/core/testing';
import {
  Field,
  Int32,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimeNanosecond,
  Timestamp,
  TimeUnit,
  Uint64,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryConnector, createBigQuerySink, createBigQuerySource } from '../src/index.ts';
import { type EmulatorHarness, PROJECT, startEmulatorHarness } from './helpers/emulator-setup.ts';

let h: EmulatorHarness;
beforeAll(async () => {
  h = await startEmulatorHarness(['types']);
});
afterAll(async () => h?.emulator.stop());

const fields = [
  { name: 'i', type: 'INT64' },
  { name: 'n', type: 'NUMERIC' },
  { name: 'bn', type: 'BIGNUMERIC' },
  { name: 'f', type: 'FLOAT64' },
  { name: 'b', type: 'BOOL' },
  { name: 's', type: 'STRING' },
  { name: 'by', type: 'BYTES' },
  { name: 'd', type: 'DATE' },
  { name: 'dt', type: 'DATETIME' },
  { name: 't', type: 'TIME' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'j', type: 'JSON' },
  { name: 'g', type: 'GEOGRAPHY' },
  { name: 'a', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'r',
    type: 'RECORD',
    fields: [
      { name: 'x', type: 'INT64' },
      { name: 'y', type: 'STRING' },
    ],
  },
  { name: 'rg', type: 'RANGE', rangeElementType: { type: 'DATE' } },
];

const rows = [
  {
    i: '-9223372036854775808',
    n: '-99999999999999999999999999999.999999999',
    bn: '12345678901234567890123456789012345678.12345678901234567890123456789012345678',
    f: -0.5,
    b: true,
    s: 'Grüße 🦆',
    by: Buffer.from([0, 255, 10]).toString('base64'),
    d: '0001-01-01',
    dt: '9999-12-31T23:59:59.999999',
    t: '23:59:59.000001',
    ts: '2024-02-29 12:00:00.123456 UTC',
    j: '{"k":[1,2]}',
    g: 'POINT(1 2)',
    a: ['x', ''],
    r: { x: '42', y: null },
    rg: '[2024-01-01, UNBOUNDED)',
  },
  { i: '9007199254740993', a: [] },
];

async function readAll(table: string) {
  const source = createBigQuerySource({ api: h.api, endpoint: { table }, pageRows: 1 });
  const schema = await source.schema();
  const batches: RecordBatch[] = [];
  for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10 })) batches.push(batch);
  return { schema, batches };
}

describe('type mapping', () => {
  it('reads every BigQuery type into its Arrow type with the exact value', async () => {
    await h.api.insertTable({ projectId: PROJECT, datasetId: 'types', tableId: 'all' }, { schema: { fields } });
    await h.api.call(
      { operation: 'insertAll' },
      { method: 'POST', uri: '/datasets/types/tables/all/insertAll', json: { rows: rows.map((json) => ({ json })) } },
    );
    const { schema, batches } = await readAll('types.all');
    expect(schema.fields.map((field) => `${field.name}:${String(field.type)}`)).toEqual([
      'i:Int64',
      'n:Decimal[38e+9]',
      'bn:Decimal[76e+38]',
      'f:Float64',
      'b:Bool',
      's:Utf8',
      'by:Binary',
      'd:Date32<DAY>',
      'dt:Timestamp<MICROSECOND>',
      't:Time64<MICROSECOND>',
      'ts:Timestamp<MICROSECOND, UTC>',
      'j:Utf8',
      'g:Utf8',
      'a:List<Utf8>',
      'r:Struct<{x:Int64, y:Utf8}>',
      'rg:Struct<{start:Date32<DAY>, end:Date32<DAY>}>',
    ]);
    expect((schema.fields.find((field) => field.name === 'bn')!.type as { bitWidth?: number }).bitWidth).toBe(256);
    expect(schema.fields.find((field) => field.name === 'j')?.metadata.get('bigquery.type')).toBe('JSON');
    expect(batches).toHaveLength(2);
    const first = batches[0]!.get(0)!.toJSON() as Record<string, any>;
    expect(first.i).toBe(-9223372036854775808n);
    expect(first.f).toBe(-0.5);
    expect(first.b).toBe(true);
    expect(first.s).toBe('Grüße 🦆');
    expect([...first.by]).toEqual([0, 255, 10]);
    const column = (name: string) => batches[0]!.getChild(name)!.data[0]!.values;
    expect(column('d')[0]).toBe(-719162);
    expect(column('dt')[0]).toBe(253402300799999999n);
    expect(column('t')[0]).toBe(86399000001n);
    expect(column('ts')[0]).toBe(1709208000123456n);
    // NUMERIC -99999999999999999999999999999.999999999 at scale 9, as 128-bit two's complement.
    const words = column('n') as Uint32Array;
    let unscaled = 0n;
    for (let w = 3; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(words[w]!);
    expect(BigInt.asIntN(128, unscaled)).toBe(-99999999999999999999999999999999999999n);
    expect(first.j).toBe('{"k":[1,2]}');
    expect([...first.a]).toEqual(['x', '']);
    expect(first.r.toJSON()).toEqual({ x: 42n, y: null });
    expect(first.rg.toJSON().end).toBeNull();
    expect(batches[1]!.get(0)!.toJSON().i).toBe(9007199254740993n);
  });

  it('writes every type back through the sink into the same BigQuery types, values unchanged', async () => {
    const original = await readAll('types.all');
    const sink = createBigQuerySink({
      api: h.api,
      options: h.options,
      endpoint: { table: 'types.copy' },
      taskId: 'types-copy',
    });
    await sink.check!(original.schema, { mode: 'replace' });
    const writer = await sink.open(original.schema, { signal: new AbortController().signal, mode: 'replace' });
    for (const batch of original.batches) await writer.write(batch);
    await writer.stage();
    await writer.publish();
    const copy = await h.api.getTable({ projectId: PROJECT, datasetId: 'types', tableId: 'copy' });
    expect(copy?.schema?.fields?.map((field) => `${field.name}:${field.type}:${field.mode}`)).toEqual(
      fields.map((field) => `${field.name}:${field.type}:${field.mode ?? 'NULLABLE'}`),
    );
    const back = await readAll('types.copy');
    expect(await fingerprint(back.schema, back.batches)).toEqual(await fingerprint(original.schema, original.batches));
  });

  it('fails at plan time naming a column BigQuery cannot hold, before anything is created', async () => {
    const sink = createBigQuerySink({
      api: h.api,
      options: h.options,
      endpoint: { table: 'types.refused' },
      taskId: 'r',
    });
    const cases: [Field, RegExp][] = [
      [new Field('huge', new Uint64()), /column "huge" is uint64/],
      [new Field('nanos', new Timestamp(TimeUnit.NANOSECOND, 'UTC')), /column "nanos" is a nanosecond timestamp/],
      [new Field('clock', new TimeNanosecond()), /column "clock" is a nanosecond time/],
      [
        new Field('nested', new List(new Field('item', new List(new Field('item', new Int32()))))),
        /column "nested" is a list of lists/,
      ],
    ];
    for (const [field, message] of cases) {
      await expect(sink.check!(new Schema([field]), { mode: 'replace' })).rejects.toMatchObject({
        code: 'SCHEMA_MISMATCH',
        message: expect.stringMatching(message),
      });
    }
    await h.api.insertTable(
      { projectId: PROJECT, datasetId: 'types', tableId: 'interval' },
      {
        schema: { fields: [{ name: 'gap', type: 'INTERVAL' }] },
      },
    );
    const source = createBigQuerySource({ api: h.api, endpoint: { table: 'types.interval' }, pageRows: 10 });
    await expect(source.schema()).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringMatching(/column "gap" has BigQuery type INTERVAL/),
    });
    expect(await h.api.getTable({ projectId: PROJECT, datasetId: 'types', tableId: 'refused' })).toBeNull();
  });

  it('refuses a NULL list naming its column and row, and publishes nothing', async () => {
    const item = makeData({ type: new Int32(), length: 2, data: Int32Array.of(1, 2) });
    const listType = new List(new Field('item', new Int32(), true));
    const list = makeData({
      type: listType,
      length: 3,
      valueOffsets: Int32Array.of(0, 2, 2, 2),
      child: item,
      nullBitmap: Uint8Array.of(0b011),
      nullCount: 1,
    });
    const schema = new Schema([new Field('tags', listType, true)]);
    const batch = new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [list] }),
    );
    const storage = new MemoryStorage();
    storage.set('lists', schema, [batch]);
    const registry = new ConnectorRegistry([bigQueryConnector, createMemoryConnector({ default: storage })]);
    const report = await runTask({
      task: {
        id: 'null-list',
        source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'lists' } },
        target: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table: 'types.lists' } },
      },
      connectors: registry,
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'SCHEMA_MISMATCH', retryable: false });
    expect(report.error?.message).toMatch(/column "tags" is NULL in row 3/);
    expect(await h.api.getTable({ projectId: PROJECT, datasetId: 'types', tableId: 'lists' })).toBeNull();
  });
});

/**
 * Parquet files as other tools write them (Spark's INT96 timestamps, arrow-rs / pyarrow view
 * types, DuckDB's GEOMETRY columns and GeoParquet metadata), and types Parquet cannot hold.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as A from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSink, createFileSource, fileConnector } from '../../src/connectors/file/index.ts';
import { ConnectorRegistry, runTask } from '../../src/index.ts';
import { createMemoryConnector, MemoryStorage } from '../../src/testing/index.ts';
import { context, readAll, signal, tempRoot } from '../connectors/file/fixtures.ts';
import { literal, query } from './duckdb.ts';
import { int96, writeTinyParquet } from './tiny-parquet.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

const NANOS_PER_DAY = 86_400_000_000_000n;
/** 9999-12-31T23:59:59.999999: Spark's "end of time" sentinel, far outside int64 nanoseconds. */
const END_OF_TIME_US = 253_402_300_799_999_999n;
/** 0001-01-01T00:00:00 in microseconds. */
const YEAR_ONE_US = -62_135_596_800_000_000n;

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(root, name);
  await writeFile(file, bytes);
  return file;
}

function timestamps(values: (bigint | null)[]): Uint8Array {
  return writeTinyParquet({
    columns: [
      { name: 'id', physical: 'INT32', values: values.map((_, index) => index) },
      { name: 'ts', physical: 'INT96', values: values.map((value) => (value === null ? null : int96(value))) },
    ],
  });
}

async function readTimestamps(name: string, int96Unit?: 'us' | 'ns') {
  const source = createFileSource({
    options: { root },
    endpoint: { path: name, ...(int96Unit ? { parquet: { int96: int96Unit } } : {}) },
  });
  const schema = await source.schema();
  const batches = await readAll(source, 100);
  const values = batches.flatMap((batch) => {
    const column = batch.getChild('ts');
    return Array.from({ length: batch.numRows }, (_, row) =>
      column?.isValid(row) ? (column.data[0]?.values as BigInt64Array | undefined)?.[row] : null,
    );
  });
  return { type: schema.fields[1]?.type, values };
}

describe('INT96 timestamps', () => {
  it("reads Spark's 9999-12-31 sentinel and year 1 at microseconds instead of wrapping, as DuckDB reads them", async () => {
    const instants = [1_700_000_000_123_456n, END_OF_TIME_US, YEAR_ONE_US, null];
    const file = await put('spark.parquet', timestamps(instants.map((us) => (us === null ? null : us * 1000n))));
    const { type, values } = await readTimestamps('spark.parquet');
    expect(String(type)).toBe('Timestamp<MICROSECOND>');
    expect(values).toEqual(instants);
    const duck = await query(
      `SELECT CAST(epoch_us(ts) AS VARCHAR) AS us FROM read_parquet(${literal(file)}) ORDER BY id`,
    );
    expect(duck.map((row) => (row.us === null ? null : BigInt(row.us as string)))).toEqual(instants);
  });

  it('refuses, naming column, row group and row, a value whose nanoseconds microseconds would drop', async () => {
    await put('impala.parquet', timestamps([1_000n, 1_700_000_000_123_456_789n]));
    await expect(readTimestamps('impala.parquet')).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      details: { column: 'ts', rowGroup: 0, row: 1 },
      message: expect.stringContaining('parquet.int96'),
    });
  });

  it('int96: ns keeps nanoseconds, and refuses a value nanoseconds cannot hold instead of wrapping it', async () => {
    await put('impala.parquet', timestamps([1_700_000_000_123_456_789n, -NANOS_PER_DAY]));
    const read = await readTimestamps('impala.parquet', 'ns');
    expect(String(read.type)).toBe('Timestamp<NANOSECOND>');
    expect(read.values).toEqual([1_700_000_000_123_456_789n, -NANOS_PER_DAY]);
    await put('spark.parquet', timestamps([0n, END_OF_TIME_US * 1000n]));
    await expect(readTimestamps('spark.parquet', 'ns')).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      details: { column: 'ts', row: 1 },
    });
  });
});

describe('view types in Parquet', () => {
  it('a file whose embedded Arrow schema says string_view / binary_view reads as utf8 / binary and migrates validated', async () => {
    const strings = A.makeBuilder({ type: new A.Utf8View(), nullValues: [null] });
    const bytes = A.makeBuilder({ type: new A.BinaryView(), nullValues: [null] });
    for (const value of ['a string longer than twelve bytes', 'short', null]) {
      strings.append(value as never);
      bytes.append((value === null ? null : Buffer.from(value)) as never);
    }
    const table = new A.Table({ text: strings.finish().toVector(), data: bytes.finish().toVector() });
    // Written by arrow-rs directly (not through Honk's writer), as another arrow-rs tool would.
    const written = parquet.writeParquet(parquet.Table.fromIPCStream(A.tableToIPC(table, 'stream')));
    await put('views.parquet', written);
    const source = createFileSource({ options: { root }, endpoint: { path: 'views.parquet' } });
    const schema = await source.schema();
    expect(schema.fields.map((field) => String(field.type))).toEqual(['Utf8', 'Binary']);
    const rows = (await readAll(source, 10)).flatMap((batch) => batch.toArray().map((row) => row.toJSON()));
    expect(rows.map((row) => row.text)).toEqual(['a string longer than twelve bytes', 'short', null]);

    const report = await runTask({
      connectors: new ConnectorRegistry([fileConnector]),
      task: {
        id: 'views',
        source: { connector: 'file', connection: 'in', options: { root }, endpoint: { path: 'views.parquet' } },
        target: { connector: 'file', connection: 'out', options: { root }, endpoint: { path: 'copy.parquet' } },
      },
    });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
  });
});

describe('types Parquet cannot hold', () => {
  function memoryRun(table: A.Table, target: string) {
    const storage = new MemoryStorage();
    storage.set('data', table.schema, table.batches);
    return runTask({
      connectors: new ConnectorRegistry([createMemoryConnector({ default: storage }), fileConnector]),
      task: {
        id: 'refused',
        source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'data' } },
        target: { connector: 'file', connection: 'out', options: { root }, endpoint: { path: target } },
      },
    });
  }

  it('interval[month_day_nano] is refused at plan time naming the column, instead of hanging the writer', async () => {
    const builder = A.makeBuilder({ type: new A.IntervalMonthDayNano(), nullValues: [null] });
    for (let index = 0; index < 1000; index++) builder.append(new Int32Array([1, 2, 3, 0]) as never);
    const table = new A.Table({
      id: A.vectorFromArray(Array.from({ length: 1000 }, (_, i) => i)),
      span: builder.finish().toVector(),
    });
    const report = await memoryRun(table, 'spans.parquet');
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'SCHEMA_MISMATCH', retryable: false });
    expect(report.error?.message).toContain('"span"');
    expect(report.stats.rows).toBe(0);
  });

  it('a union column is refused at check time naming the column', async () => {
    const union = new A.SparseUnion([0, 1], [new A.Field('i', new A.Int32()), new A.Field('s', new A.Utf8())]);
    const sink = createFileSink({ options: { root }, endpoint: { path: 'u.parquet' }, context: context() });
    await expect(sink.check?.(new A.Schema([new A.Field('choice', union)]), { mode: 'replace' })).rejects.toMatchObject(
      {
        code: 'SCHEMA_MISMATCH',
        message: expect.stringContaining('"choice"'),
      },
    );
  });

  it('a date64 value with a time of day is refused naming column and row; whole days are written as DATE', async () => {
    const days = A.makeData({
      type: new A.DateMillisecond(),
      length: 3,
      data: new BigInt64Array([0n, 86_400_000n, 86_400_001n]),
    });
    const table = new A.Table({ day: A.makeVector(days) });
    const sink = createFileSink({ options: { root }, endpoint: { path: 'd.parquet' }, context: context() });
    const writer = await sink.open(table.schema, { signal: signal(), mode: 'replace' });
    await writer.write((table.batches[0] as A.RecordBatch).slice(0, 2));
    // The encoder runs on a worker thread: a refused batch fails that write or, at the latest, the stage.
    const refused = (async () => {
      await writer.write((table.batches[0] as A.RecordBatch).slice(2));
      await writer.stage();
    })();
    await expect(refused).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      details: { column: 'day', row: 2 },
    });
    await writer.abort();
  });
});

describe('GEOMETRY / GEOGRAPHY and GeoParquet metadata', () => {
  it('survive a Parquet → Parquet migration: the logical type with its CRS and the `geo` key-value metadata', async () => {
    const input = path.join(root, 'places.parquet');
    await query(
      `COPY (SELECT 1 AS id, 'POINT(1 2)'::GEOMETRY AS plain, 'POINT(3 4)'::GEOMETRY('OGC:CRS84') AS located) TO ${literal(input)} (FORMAT parquet, GEOPARQUET_VERSION 'BOTH')`,
    );
    const before = await query(
      `SELECT name, logical_type FROM parquet_schema(${literal(input)}) WHERE name <> 'duckdb_schema'`,
    );
    const report = await runTask({
      connectors: new ConnectorRegistry([fileConnector]),
      task: {
        id: 'geo',
        source: { connector: 'file', connection: 'in', options: { root }, endpoint: { path: 'places.parquet' } },
        target: { connector: 'file', connection: 'out', options: { root }, endpoint: { path: 'copy.parquet' } },
      },
    });
    expect(report.error).toBeUndefined();
    const output = literal(path.join(root, 'copy.parquet'));
    const after = await query(`SELECT name, logical_type FROM parquet_schema(${output}) WHERE name <> 'arrow_schema'`);
    const geometry = (rows: Record<string, unknown>[]) =>
      Object.fromEntries(rows.filter((row) => row.name !== 'id').map((row) => [row.name, row.logical_type]));
    expect(geometry(before).plain).toBe('GeometryType(crs=<null>)');
    expect(geometry(after)).toEqual(geometry(before));
    const keys = await query(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${output})`);
    const geo = keys.find((row) => row.key === 'geo');
    expect(JSON.parse(String(geo?.value)).primary_column).toBe('plain');
    const points = await query(
      `SELECT CAST(plain AS VARCHAR) AS plain, CAST(located AS VARCHAR) AS located FROM read_parquet(${output})`,
    );
    expect(points).toEqual([{ plain: 'POINT (1 2)', located: 'POINT (3 4)' }]);
  });
});

/**
 * Every Arrow type Honk accepts, written to Parquet by Honk (through a validated run) and read
 * back by DuckDB, an independent engine: DuckDB must see each column's meaning (a timestamp,
 * a date, a time …), not the bare integers arrow-rs leaves when it relies on `ARROW:schema`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as A from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileConnector } from '../../src/connectors/file/index.ts';
import { ConnectorRegistry, runTask } from '../../src/index.ts';
import { createMemoryConnector, MemoryStorage } from '../../src/testing/index.ts';
import { literal, query } from './duckdb.ts';

const DAY_MS = 86_400_000;

/** Column name → [type, first value, second value, DuckDB type, DuckDB text of the first value]. */
const columns: Record<string, [A.DataType, unknown, unknown, string, string]> = {
  int8: [new A.Int8(), -8, 7, 'TINYINT', '-8'],
  int16: [new A.Int16(), -300, 1, 'SMALLINT', '-300'],
  int32: [new A.Int32(), -70000, 1, 'INTEGER', '-70000'],
  int64: [new A.Int64(), -(2n ** 62n), 1n, 'BIGINT', String(-(2n ** 62n))],
  uint8: [new A.Uint8(), 250, 1, 'UTINYINT', '250'],
  uint16: [new A.Uint16(), 65000, 1, 'USMALLINT', '65000'],
  uint32: [new A.Uint32(), 4_000_000_000, 1, 'UINTEGER', '4000000000'],
  uint64: [new A.Uint64(), 2n ** 63n + 5n, 1n, 'UBIGINT', String(2n ** 63n + 5n)],
  float16: [new A.Float16(), 1.5, -2, 'FLOAT', '1.5'],
  float32: [new A.Float32(), 0.25, -1, 'FLOAT', '0.25'],
  float64: [new A.Float64(), -1.125, 1e300, 'DOUBLE', '-1.125'],
  decimal32: [new A.Decimal(2, 9, 32), new Uint32Array([12345]), new Uint32Array([1]), 'DECIMAL(9,2)', '123.45'],
  decimal64: [
    new A.Decimal(2, 18, 64),
    new Uint32Array([12345, 0]),
    new Uint32Array([1, 0]),
    'DECIMAL(18,2)',
    '123.45',
  ],
  decimal128: [
    new A.Decimal(4, 38, 128),
    new Uint32Array([12345, 0, 0, 0]),
    new Uint32Array([1, 0, 0, 0]),
    'DECIMAL(38,4)',
    '1.2345',
  ],
  date32: [new A.DateDay(), 19_675, 0, 'DATE', '2023-11-14'],
  date64: [new A.DateMillisecond(), BigInt(19_675 * DAY_MS), BigInt(-DAY_MS), 'DATE', '2023-11-14'],
  time32_s: [new A.TimeSecond(), 3723, 0, 'TIME', '01:02:03'],
  time32_ms: [new A.TimeMillisecond(), 3_723_456, 0, 'TIME', '01:02:03.456'],
  time64_us: [new A.TimeMicrosecond(), 3_723_456_789n, 0n, 'TIME', '01:02:03.456789'],
  time64_ns: [new A.TimeNanosecond(), 3_723_456_789_123n, 0n, 'TIME_NS', '01:02:03.456789123'],
  ts_s: [new A.Timestamp(A.TimeUnit.SECOND), 1_700_000_000n, 0n, 'TIMESTAMP', '2023-11-14 22:13:20'],
  ts_ms: [new A.Timestamp(A.TimeUnit.MILLISECOND), 1_700_000_000_123n, 0n, 'TIMESTAMP', '2023-11-14 22:13:20.123'],
  ts_us: [
    new A.Timestamp(A.TimeUnit.MICROSECOND),
    1_700_000_000_123_456n,
    0n,
    'TIMESTAMP',
    '2023-11-14 22:13:20.123456',
  ],
  ts_ns: [
    new A.Timestamp(A.TimeUnit.NANOSECOND),
    1_700_000_000_123_456_789n,
    0n,
    'TIMESTAMP_NS',
    '2023-11-14 22:13:20.123456789',
  ],
  ts_s_utc: [
    new A.Timestamp(A.TimeUnit.SECOND, 'UTC'),
    1_700_000_000n,
    0n,
    'TIMESTAMP WITH TIME ZONE',
    '2023-11-14 22:13:20+00',
  ],
  ts_ms_zone: [
    new A.Timestamp(A.TimeUnit.MILLISECOND, 'Europe/Stockholm'),
    1_700_000_000_123n,
    0n,
    'TIMESTAMP WITH TIME ZONE',
    '2023-11-14 22:13:20.123+00',
  ],
  ts_us_utc: [
    new A.Timestamp(A.TimeUnit.MICROSECOND, 'UTC'),
    1_700_000_000_123_456n,
    0n,
    'TIMESTAMP WITH TIME ZONE',
    '2023-11-14 22:13:20.123456+00',
  ],
  // No Parquet duration type exists: INT64 counts of the unit, as pyarrow writes them (documented).
  duration_ms: [new A.Duration(A.TimeUnit.MILLISECOND), 5000n, -1n, 'BIGINT', '5000'],
  interval_ym: [
    new A.IntervalYearMonth(),
    new Int32Array([1, 2]),
    new Int32Array([0, 0]),
    'INTERVAL',
    '1 year 2 months',
  ],
  interval_dt: [
    new A.IntervalDayTime(),
    new Int32Array([1, 500]),
    new Int32Array([0, 0]),
    'INTERVAL',
    '1 day 00:00:00.5',
  ],
  utf8: [new A.Utf8(), 'héllo', '', 'VARCHAR', 'héllo'],
  large_utf8: [new A.LargeUtf8(), 'large', 'x', 'VARCHAR', 'large'],
  utf8_view: [
    new A.Utf8View(),
    'a view string longer than twelve bytes',
    'v',
    'VARCHAR',
    'a view string longer than twelve bytes',
  ],
  binary: [new A.Binary(), new Uint8Array([0, 1, 2]), new Uint8Array(0), 'BLOB', '\\x00\\x01\\x02'],
  large_binary: [new A.LargeBinary(), new Uint8Array([255]), new Uint8Array(0), 'BLOB', '\\xFF'],
  binary_view: [new A.BinaryView(), new Uint8Array([65, 66]), new Uint8Array(0), 'BLOB', 'AB'],
  fixed_binary: [new A.FixedSizeBinary(3), new Uint8Array([65, 66, 67]), new Uint8Array([0, 0, 0]), 'BLOB', 'ABC'],
  bool: [new A.Bool(), true, false, 'BOOLEAN', 'true'],
  list_int: [new A.List(new A.Field('item', new A.Int32(), true)), [1, null, 3], [], 'INTEGER[]', '[1, NULL, 3]'],
  large_list_utf8: [new A.LargeList(new A.Field('item', new A.Utf8(), true)), ['a', 'b'], [], 'VARCHAR[]', '[a, b]'],
  fixed_list: [
    new A.FixedSizeList(2, new A.Field('item', new A.Int16(), true)),
    [4, 5],
    [0, 0],
    'SMALLINT[]',
    '[4, 5]',
  ],
  list_ts_s: [
    new A.List(new A.Field('item', new A.Timestamp(A.TimeUnit.SECOND), true)),
    [1_700_000_000_000], // the builder takes epoch milliseconds
    [],
    'TIMESTAMP[]',
    "['2023-11-14 22:13:20']",
  ],
  struct: [
    new A.Struct([new A.Field('a', new A.Int32(), true), new A.Field('d', new A.DateMillisecond(), true)]),
    { a: 1, d: new Date(19_675 * DAY_MS) },
    { a: 2, d: new Date(0) },
    'STRUCT(a INTEGER, d DATE)',
    "{'a': 1, 'd': 2023-11-14}",
  ],
  map: [
    new A.Map_(
      new A.Field(
        'entries',
        new A.Struct([new A.Field('key', new A.Utf8(), false), new A.Field('value', new A.Int32(), true)]),
        false,
      ) as never,
    ),
    new Map([['k', 1]]),
    new Map(),
    'MAP(VARCHAR, INTEGER)',
    '{k=1}',
  ],
  dictionary: [new A.Dictionary(new A.Utf8(), new A.Int32()), 'red', 'blue', 'VARCHAR', 'red'],
  dictionary_ts_s: [
    new A.Dictionary(new A.Timestamp(A.TimeUnit.SECOND), new A.Int32()),
    1_700_000_000n,
    0n,
    'TIMESTAMP',
    '2023-11-14 22:13:20',
  ],
};

/** Types given as their stored values (a typed array) rather than through a builder. */
const RAW_TYPES = new Set<A.Type>([A.Type.Int, A.Type.Date, A.Type.Time, A.Type.Timestamp, A.Type.Duration]);

/** Three rows per column: two values and a NULL. */
function batch(): A.RecordBatch {
  const vectors: Record<string, A.Vector> = {};
  for (const [name, [type, first, second]] of Object.entries(columns)) {
    if (RAW_TYPES.has(type.typeId)) {
      const values = new (type as unknown as { ArrayType: new (values: unknown[]) => ArrayLike<unknown> }).ArrayType(
        typeof first === 'bigint' ? [first, second, 0n] : [first, second, 0],
      );
      vectors[name] = A.makeVector(
        A.makeData({ type, length: 3, nullCount: 1, nullBitmap: new Uint8Array([0b011]), data: values } as never),
      );
      continue;
    }
    if (name === 'dictionary_ts_s') {
      const dictionary = A.makeVector(
        A.makeData({
          type: new A.Timestamp(A.TimeUnit.SECOND),
          length: 2,
          data: new BigInt64Array([1_700_000_000n, 0n]),
        }),
      );
      vectors[name] = A.makeVector(
        A.makeData({
          type: type as A.Dictionary,
          length: 3,
          nullCount: 1,
          nullBitmap: new Uint8Array([0b011]),
          data: new Int32Array([0, 1, 0]),
          dictionary,
        }),
      );
      continue;
    }
    const builder = A.makeBuilder({ type, nullValues: [null] });
    builder.append(first as never);
    builder.append(second as never);
    builder.append(null as never);
    vectors[name] = builder.finish().toVector();
  }
  vectors.nothing = A.makeVector(A.makeData({ type: new A.Null(), length: 3 }));
  return new A.Table(vectors).batches[0] as A.RecordBatch;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'honk-parquet-types-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Parquet written by Honk, read by DuckDB', () => {
  it('keeps the logical type and value of every accepted Arrow type, and the run validates', async () => {
    const source = batch();
    const storage = new MemoryStorage();
    storage.set('all', source.schema, [source]);
    const registry = new ConnectorRegistry([createMemoryConnector({ default: storage }), fileConnector]);
    const report = await runTask({
      connectors: registry,
      task: {
        id: 'all-types',
        source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'all' } },
        target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'all.parquet' } },
      },
    });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.validation?.checks.filter((check) => !check.ok)).toEqual([]);
    // The conversions Parquet needs are named by the schema check, the values proven by the checksum.
    const schemaCheck = report.validation?.checks.find((check) => check.name === 'schema');
    expect(schemaCheck?.message).toContain('column ts_s: timestamp[s] became timestamp[ms] (a finer unit');
    expect(schemaCheck?.message).toContain('column date64: date64 became date32');
    expect(schemaCheck?.message).toContain('column time32_s: time32[s] became time32[ms]');

    const file = literal(path.join(root, 'all.parquet'));
    const described = await query(`DESCRIBE SELECT * FROM read_parquet(${file})`);
    const seen = Object.fromEntries(described.map((row) => [row.column_name, row.column_type]));
    const expectedTypes = Object.fromEntries(Object.entries(columns).map(([name, spec]) => [name, spec[3]]));
    expect(seen).toEqual({ ...expectedTypes, nothing: 'INTEGER' });

    const texts = Object.keys(columns)
      .map((name) => `CAST("${name}" AS VARCHAR) AS "${name}"`)
      .join(', ');
    const rows = await query(`SELECT ${texts} FROM read_parquet(${file})`);
    const expectedTexts = Object.fromEntries(Object.entries(columns).map(([name, spec]) => [name, spec[4]]));
    expect(rows[0]).toEqual(expectedTexts);
    expect(Object.values(rows[2] ?? {}).every((value) => value === null)).toBe(true);
  });

  it('writes decimal256 with the DECIMAL logical type (DuckDB itself stops at precision 38)', async () => {
    const builder = A.makeBuilder({ type: new A.Decimal(2, 60, 256), nullValues: [null] });
    builder.append(new Uint32Array([12345, 0, 0, 0, 0, 0, 0, 0]) as never);
    const table = new A.Table({ wide: builder.finish().toVector() });
    const storage = new MemoryStorage();
    storage.set('wide', table.schema, table.batches);
    const registry = new ConnectorRegistry([createMemoryConnector({ default: storage }), fileConnector]);
    const report = await runTask({
      connectors: registry,
      task: {
        id: 'wide',
        source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'wide' } },
        target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'wide.parquet' } },
      },
    });
    expect(report.ok).toBe(true);
    const schema = await query(
      `SELECT name, logical_type FROM parquet_schema(${literal(path.join(root, 'wide.parquet'))}) WHERE name = 'wide'`,
    );
    expect(schema[0]?.logical_type).toBe('DecimalType(scale=2, precision=60)');
  });
});

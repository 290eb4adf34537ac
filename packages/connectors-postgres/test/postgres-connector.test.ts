/**
 * The postgres connector against a real PostgreSQL server: type round trips, snapshot
 * consistency, publish modes and their atomicity, identifiers, and error mapping.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConnectorRegistry, fileConnector, isHonkError, runTask, type TaskDefinition } from '@honk/core';
import type { RecordBatch } from 'apache-arrow';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresConnector, stagingTableName } from '../src/index.ts';
import { context, createTestDatabase, serverUrl, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const registry = new ConnectorRegistry([postgresConnector]);

function task(
  id: string,
  source: Record<string, unknown>,
  target: Record<string, unknown>,
  extra: Partial<TaskDefinition> = {},
): TaskDefinition {
  return {
    id,
    source: { connector: 'postgres', connection: 'src', options: { url: db.url }, endpoint: source },
    target: { connector: 'postgres', connection: 'dst', options: { url: db.url }, endpoint: target },
    validate: { rowCount: true, checksum: true, sample: 20, schema: false },
    ...extra,
  } as TaskDefinition;
}

async function run(definition: TaskDefinition) {
  const report = await runTask({ task: definition, connectors: registry, progressIntervalMs: 0 });
  return report;
}

async function ok(definition: TaskDefinition) {
  const report = await run(definition);
  if (!report.ok) throw new Error(`${report.error?.code}: ${report.error?.message}`);
  return report;
}

function source(endpoint: Record<string, unknown>, options: Record<string, unknown> = {}) {
  return postgresConnector.createSource!({
    options: { url: db.url, ...options },
    endpoint: endpoint as never,
    context: context(),
  }) as Awaited<ReturnType<NonNullable<typeof postgresConnector.createSource>>>;
}

async function readAll(endpoint: Record<string, unknown>, batchRows = 1000): Promise<RecordBatch[]> {
  const s = await source(endpoint);
  const batches: RecordBatch[] = [];
  try {
    for await (const batch of s.read({ signal: new AbortController().signal, batchRows })) batches.push(batch);
  } finally {
    await s.close?.();
  }
  return batches;
}

async function rowsText(table: string): Promise<string[]> {
  return (await db.sql<{ r: string }>(`SELECT t::text AS r FROM ${table} t ORDER BY 1`)).map((row) => row.r);
}

async function tableNames(): Promise<string[]> {
  return (
    await db.sql<{ n: string }>(
      `SELECT schemaname || '.' || tablename AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    )
  ).map((row) => row.n);
}

const ALL_TYPES = `
  id int4 PRIMARY KEY, a int2, b int4, c int8, d numeric(38,10), e numeric, f real, g double precision, h boolean,
  i text, j bytea, k uuid, l date, m time, n timestamp, o timestamptz, p interval, q json, r jsonb,
  s int4[], u text[], v varchar(5), w char(3), x numeric(10,2)[], y mood, z timestamptz[]`;

describe('type round trip PostgreSQL → Arrow → PostgreSQL', () => {
  beforeAll(async () => {
    await db.sql(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
    await db.sql(`CREATE TABLE types_src (${ALL_TYPES})`);
    await db.sql(`INSERT INTO types_src VALUES
      (1, 32767, 2147483647, 9007199254740993, 9999999999999999999999999999.9999999999, 3.14159265358979323846264338327950288419716939937510,
       'NaN', 'Infinity', true, 'emoji 🦆🚀 and "quotes"', '\\x00ff10c3', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '0001-01-01',
       '23:59:59.999999', '1900-01-01 00:00:00.000001', '2024-02-29 12:00:00.123456+02', '1 year 2 mons -3 days 04:05:06.789', '{"a": [1, 2]}',
       '{"b": {"c": null}}', '{1,NULL,3}', '{"x",NULL,""}', 'abcde', 'ab', '{1.50,NULL,-2.25}', 'sad', '{"2020-01-01 00:00:00+00",NULL}'),
      (2, -32768, -2147483648, -9223372036854775808, -9999999999999999999999999999.9999999999, -0.000000000000000000000000001,
       '-Infinity', 'NaN', false, '', '\\x', '00000000-0000-0000-0000-000000000000', '2262-04-11', '00:00', '1677-09-21 00:12:44',
       '1970-01-01 00:00:00+00', '0', 'null', '[]', '{}', '{}', '', '', '{}', 'happy', '{}'),
      (3, 0, 0, 9223372036854775807, 0.0000000001, 'NaN', '-0', 1e308, NULL, 'Grüße\nJürgen', '\\x00', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
       '1970-01-01', '12:00', '2000-01-01', '1999-12-31 23:59:59.999999+00', '-178000000 years', '"s"', '1', '{-2147483648}', '{"日本"}',
       NULL, NULL, NULL, NULL, NULL),
      (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
  });

  it('maps each type to the documented Arrow type and keeps the declared type as metadata', async () => {
    const s = await source({ table: 'types_src' });
    const schema = await s.schema();
    await s.close?.();
    const types = Object.fromEntries(schema.fields.map((field) => [field.name, String(field.type)]));
    expect(types).toMatchObject({
      a: 'Int16',
      b: 'Int32',
      c: 'Int64',
      d: 'Decimal[38e+10]',
      e: 'Utf8',
      f: 'Float32',
      g: 'Float64',
      h: 'Bool',
      i: 'Utf8',
      j: 'Binary',
      k: 'Utf8',
      l: 'Date32<DAY>',
      m: 'Time64<MICROSECOND>',
      n: 'Timestamp<MICROSECOND>',
      o: 'Timestamp<MICROSECOND, UTC>',
      p: 'Interval<MONTH_DAY_NANO>',
      q: 'Utf8',
      r: 'Utf8',
      s: 'List<Int32>',
      u: 'List<Utf8>',
      v: 'Utf8',
      w: 'Utf8',
      x: 'List<Decimal[10e+2]>',
      y: 'Utf8',
    });
    expect(schema.fields.find((field) => field.name === 'r')!.metadata.get('honk.postgres.type')).toBe('jsonb');
    expect(schema.fields.find((field) => field.name === 'id')!.nullable).toBe(false);
  });

  it('decodes values exactly (int8 beyond 2^53, decimal extremes, special floats, NULLs)', async () => {
    const batches = await readAll({ query: 'SELECT * FROM types_src ORDER BY id' });
    const rows = batches.flatMap((batch) => batch.toArray().map((row) => row.toJSON()));
    expect(rows).toHaveLength(4);
    expect(rows[0]!.c).toBe(9007199254740993n);
    expect(rows[1]!.c).toBe(-9223372036854775808n);
    expect(rows[2]!.c).toBe(9223372036854775807n);
    expect(Number.isNaN(rows[0]!.f)).toBe(true);
    expect(rows[0]!.g).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(rows[2]!.f, -0)).toBe(true);
    expect(rows[0]!.e).toBe('3.14159265358979323846264338327950288419716939937510');
    expect(rows[1]!.e).toBe('-0.000000000000000000000000001');
    expect(rows[0]!.i).toBe('emoji 🦆🚀 and "quotes"');
    expect(Array.from(rows[0]!.j as Uint8Array)).toEqual([0, 255, 16, 195]);
    expect(rows[0]!.k).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(rows[0]!.o).toBe(Date.UTC(2024, 1, 29, 10, 0, 0, 123) + 0.456);
    expect(rows[0]!.r).toBe('{"b": {"c": null}}');
    expect(rows[0]!.s.toJSON()).toEqual([1, null, 3]);
    for (const [key, value] of Object.entries(rows[3]!)) if (key !== 'id') expect(value, key).toBeNull();
  });

  it('writes back every value and type exactly', async () => {
    await ok(task('roundtrip', { table: 'types_src' }, { table: 'types_dst' }));
    expect(await rowsText('types_dst')).toEqual(await rowsText('types_src'));
    const declared = async (table: string) =>
      db.sql(
        `SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '${table}'::regclass AND attnum > 0 ORDER BY attnum`,
      );
    const src = await declared('types_src');
    const dst = await declared('types_dst');
    // Enums become text (documented); everything else keeps its declared type.
    expect(dst.filter((column) => column.attname !== 'y')).toEqual(src.filter((column) => column.attname !== 'y'));
  });

  it('keeps −0.0 in float8, real and float8[] through PostgreSQL and a Parquet file, the checksum (which tells −0.0 from +0.0) validating each step', async () => {
    await db.sql(`CREATE TABLE zeros_src (id int4 PRIMARY KEY, d float8, r real, a float8[])`);
    await db.sql(
      `INSERT INTO zeros_src VALUES (1, '-0', '-0', '{-0,0}'), (2, '0', '0', '{0,-0}'), (3, '-0', '0', NULL)`,
    );
    const signs = async (table: string) =>
      db.sql<{ id: number; d: string; r: string; a: string | null }>(
        `SELECT id, d::text AS d, r::text AS r, a::text AS a FROM ${table} ORDER BY id`,
      );
    const expected = [
      { id: 1, d: '-0', r: '-0', a: '{-0,0}' },
      { id: 2, d: '0', r: '0', a: '{0,-0}' },
      { id: 3, d: '-0', r: '0', a: null },
    ];
    expect(await signs('zeros_src')).toEqual(expected);
    const decoded = await readAll({ table: 'zeros_src' });
    const d = decoded.flatMap((batch) => Array.from(batch.getChild('d')!.toArray() as Float64Array));
    expect(d.map((value) => Object.is(value, -0))).toEqual([true, false, true]);

    const checksumOk = (report: Awaited<ReturnType<typeof ok>>) =>
      report.validation?.checks.find((check) => check.name === 'checksum')?.ok;
    expect(checksumOk(await ok(task('zeros', { table: 'zeros_src' }, { table: 'zeros_dst' })))).toBe(true);
    expect(await signs('zeros_dst')).toEqual(expected);

    const root = await mkdtemp(path.join(tmpdir(), 'honk-zeros-'));
    try {
      const viaFile = new ConnectorRegistry([postgresConnector, fileConnector]);
      const file = { connector: 'file', connection: 'files', options: { root }, endpoint: { path: 'zeros.parquet' } };
      const postgres = (endpoint: Record<string, unknown>) => ({
        connector: 'postgres',
        connection: 'db',
        options: { url: db.url },
        endpoint,
      });
      const validate = { rowCount: true, checksum: true, sample: 10, schema: false };
      const out = await runTask({
        task: { id: 'zeros-out', source: postgres({ table: 'zeros_src' }), target: file, validate } as TaskDefinition,
        connectors: viaFile,
      });
      expect(out.error).toBeUndefined();
      expect(checksumOk(out)).toBe(true);
      const back = await runTask({
        task: { id: 'zeros-in', source: file, target: postgres({ table: 'zeros_back' }), validate } as TaskDefinition,
        connectors: viaFile,
      });
      expect(back.error).toBeUndefined();
      expect(checksumOk(back)).toBe(true);
      expect(await signs('zeros_back')).toEqual(expected);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('an unsupported type fails at schema() naming the column and type', async () => {
    await db.sql('CREATE TABLE odd (id int, spot point)');
    const s = await source({ table: 'odd' });
    await expect(s.schema()).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringContaining('"spot"'),
    });
    await expect(s.schema()).rejects.toMatchObject({ message: expect.stringContaining('point') });
    await s.close?.();
  });

  it('values Arrow cannot hold fail naming the column and row', async () => {
    await db.sql(
      `CREATE TABLE bad_dates (id int, d date); INSERT INTO bad_dates VALUES (1, '2020-01-01'), (2, 'infinity')`,
    );
    await expect(readAll({ query: 'SELECT * FROM bad_dates ORDER BY id' })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringMatching(/Column "d", row 2: .*infinity/),
    });
    await db.sql(
      `CREATE TABLE bad_numeric (id int, n numeric(10,2)); INSERT INTO bad_numeric VALUES (1, 1), (2, 2), (3, 'NaN')`,
    );
    await expect(readAll({ query: 'SELECT * FROM bad_numeric ORDER BY id' })).rejects.toMatchObject({
      message: expect.stringMatching(/Column "n", row 3: numeric NaN/),
    });
  });
});

describe('source', () => {
  it('reads one consistent snapshot: rows committed during the read are not seen', async () => {
    await db.sql('CREATE TABLE moving (id int8)');
    await db.sql('INSERT INTO moving SELECT generate_series(1, 5000)');
    const s = await source({ table: 'moving' });
    await s.schema();
    await db.sql('INSERT INTO moving SELECT generate_series(5001, 6000)');
    expect(await s.count!()).toBe(5000);
    let rows = 0;
    let first = true;
    for await (const batch of s.read({ signal: new AbortController().signal, batchRows: 1000 })) {
      rows += batch.numRows;
      if (first) {
        first = false;
        await db.sql('INSERT INTO moving SELECT generate_series(6001, 7000)');
      }
    }
    await s.close?.();
    expect(rows).toBe(5000);
  });

  it('a missing table is a NotFoundError naming it; a missing database too', async () => {
    const s = await source({ table: 'sales.nope' });
    await expect(s.schema()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('"sales"."nope"'),
    });
    const url = new URL(db.url);
    url.pathname = '/no_such_database';
    const t = await source({ table: 'x' }, { url: url.toString() });
    await expect(t.schema()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a bad password is an AuthError that never shows the password', async () => {
    const good = process.env.HONK_TEST_POSTGRES_PASSWORD_URL;
    expect(good).toBeTruthy();
    const url = new URL(good!);
    url.password = 'wrong-Secret-4242';
    const s = await source({ table: 'x' }, { url: url.toString() });
    const error = await s.schema().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isHonkError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    const text = `${(error as Error).message} ${JSON.stringify(error)}`;
    expect(text).not.toContain('wrong-Secret-4242');
    expect(text).toContain('test-pg');
  });

  it('a killed connection during a read is a TransientError', async () => {
    await db.sql(
      'CREATE TABLE long_read AS SELECT g AS id, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 200000) g',
    );
    const s = await source({ table: 'long_read' }, { applicationName: 'honk-kill-me' });
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    let seen = 0;
    const error = await (async () => {
      for await (const batch of s.read({ signal: new AbortController().signal, batchRows: 1000 })) {
        seen += batch.numRows;
        if (seen === 1000) {
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'honk-kill-me'`,
          );
        }
      }
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await admin.end();
    await s.close?.();
    expect(seen).toBeLessThan(200000);
    expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true });
  });
});

describe('sink', () => {
  beforeAll(async () => {
    await db.sql('CREATE TABLE people (id int8 PRIMARY KEY, name text NOT NULL, score numeric(12,2))');
    await db.sql(`INSERT INTO people SELECT g, 'p' || g, g * 1.5 FROM generate_series(1, 100) g`);
  });

  it('replace swaps in the new data and carries indexes, constraints, grants and comments over', async () => {
    await db.sql('CREATE TABLE rep (id int8 PRIMARY KEY, name text)');
    await db.sql('CREATE INDEX rep_name_idx ON rep (name)');
    await db.sql(`COMMENT ON TABLE rep IS 'the replaced table'`);
    await db.sql(`GRANT SELECT ON rep TO honk_password`);
    await db.sql(`INSERT INTO rep VALUES (999, 'old')`);
    await ok(task('replace-1', { query: 'SELECT id, name FROM people' }, { table: 'rep' }));
    expect(await db.sql('SELECT count(*)::int AS n, min(id)::int AS lo FROM rep')).toEqual([{ n: 100, lo: 1 }]);
    const indexes = (
      await db.sql<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'rep' ORDER BY 1`)
    ).map((row) => row.indexname);
    expect(indexes).toEqual(['rep_name_idx', 'rep_pkey']);
    expect(await db.sql(`SELECT obj_description('rep'::regclass, 'pg_class') AS c`)).toEqual([
      { c: 'the replaced table' },
    ]);
    expect(await db.sql(`SELECT has_table_privilege('honk_password', 'rep', 'SELECT') AS p`)).toEqual([{ p: true }]);
    expect((await tableNames()).filter((name) => name.includes('_honk_stage_'))).toEqual([]);
  });

  it('append adds rows once per task: a re-run does not duplicate', async () => {
    await db.sql("CREATE TABLE app (id int8, name text, extra text DEFAULT 'd')");
    const definition = task('append-1', { query: 'SELECT id, name FROM people WHERE id <= 10' }, { table: 'app' });
    definition.target.mode = 'append';
    definition.snapshot = { enabled: false };
    await ok(definition);
    await ok(definition);
    expect(await db.sql('SELECT count(*)::int AS n FROM app')).toEqual([{ n: 10 }]);
    const other = task('append-1', { query: 'SELECT id, name FROM people WHERE id > 90' }, { table: 'app' });
    other.target.mode = 'append';
    await ok(other);
    expect(await db.sql('SELECT count(*)::int AS n, count(DISTINCT extra)::int AS e FROM app')).toEqual([
      { n: 20, e: 1 },
    ]);
  });

  it('merge upserts on the key and requires a unique index on it', async () => {
    await db.sql('CREATE TABLE mer (id int8 PRIMARY KEY, name text, score numeric(12,2))');
    await db.sql(`INSERT INTO mer VALUES (1, 'stale', 0), (1000, 'kept', 7)`);
    const definition = task('merge-1', { query: 'SELECT id, name, score FROM people WHERE id <= 5' }, { table: 'mer' });
    definition.target.mode = 'merge';
    definition.target.key = ['id'];
    await ok(definition);
    await ok(definition);
    expect(await db.sql('SELECT id::int, name FROM mer ORDER BY id')).toEqual([
      { id: 1, name: 'p1' },
      { id: 2, name: 'p2' },
      { id: 3, name: 'p3' },
      { id: 4, name: 'p4' },
      { id: 5, name: 'p5' },
      { id: 1000, name: 'kept' },
    ]);
    await db.sql('CREATE TABLE mer_nokey (id int8, name text)');
    const noKey = task('merge-2', { query: 'SELECT id, name FROM people' }, { table: 'mer_nokey' });
    noKey.target.mode = 'merge';
    noKey.target.key = ['id'];
    const report = await run(noKey);
    expect(report.error).toMatchObject({ code: 'SCHEMA_MISMATCH', message: expect.stringContaining('unique index') });
  });

  it('check() refuses narrowing and missing columns for append, listing each', async () => {
    await db.sql('CREATE TABLE narrow (id int4, name varchar(3))');
    const definition = task(
      'narrow',
      { query: `SELECT id, name, 1.5::float8 AS ratio FROM people` },
      { table: 'narrow' },
    );
    definition.target.mode = 'append';
    const report = await run(definition);
    expect(report.ok).toBe(false);
    expect(report.error?.code).toBe('SCHEMA_MISMATCH');
    expect(report.error?.message).toContain('"id"');
    expect(report.error?.message).toContain('"ratio"');
    expect(await db.sql('SELECT count(*)::int AS n FROM narrow')).toEqual([{ n: 0 }]);
  });

  it('cleans staging leftovers of a crashed attempt; abort leaves nothing behind', async () => {
    const stage = stagingTableName('leftover', { schema: 'public', table: 'after_leftover' });
    await db.sql(`CREATE TABLE "${stage}" (junk int); INSERT INTO "${stage}" VALUES (1)`);
    await ok(task('leftover', { query: 'SELECT id FROM people' }, { table: 'after_leftover' }));
    expect(await db.sql('SELECT count(*)::int AS n FROM after_leftover')).toEqual([{ n: 100 }]);
    expect((await tableNames()).filter((name) => name.includes(stage))).toEqual([]);

    const sink = await postgresConnector.createSink!({
      options: { url: db.url },
      endpoint: { table: 'people' },
      context: context('abort-me'),
    });
    const batches = await readAll({ query: 'SELECT * FROM people' });
    const writer = await sink.open(batches[0]!.schema, { signal: new AbortController().signal, mode: 'replace' });
    await writer.write(batches[0]!);
    expect(
      (await tableNames()).some((name) =>
        name.includes(stagingTableName('abort-me', { schema: 'public', table: 'people' })),
      ),
    ).toBe(true);
    await writer.abort();
    await writer.abort();
    expect((await tableNames()).filter((name) => name.includes('_honk_stage_'))).toEqual([]);
    expect(await db.sql('SELECT count(*)::int AS n FROM people')).toEqual([{ n: 100 }]);
  });

  it('publish is atomic: a concurrent reader sees the old or the new table, never an empty or missing one', async () => {
    await db.sql('CREATE TABLE swap AS SELECT g AS id FROM generate_series(1, 3000) g');
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    const seen = new Set<number>();
    const errors: string[] = [];
    let stop = false;
    const polling = (async () => {
      while (!stop) {
        try {
          seen.add((await reader.query('SELECT count(*)::int AS n FROM swap')).rows[0].n);
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
    })();
    for (const [i, size] of [2000, 3000, 2000].entries()) {
      await ok(
        task(
          `swap-${i}`,
          { query: `SELECT g AS id FROM generate_series(1, ${size}) g` },
          { table: 'swap' },
          { snapshot: { enabled: false } },
        ),
      );
    }
    stop = true;
    await polling;
    await reader.end();
    expect(errors).toEqual([]);
    expect([...seen].every((n) => n === 2000 || n === 3000)).toBe(true);
  });

  it('weird identifiers work and cannot inject', async () => {
    await db.sql(`CREATE SCHEMA "Sch ema""x"`);
    await db.sql(
      `CREATE TABLE "Sch ema""x"."we""ird ta ble ünï" ("col""; DROP TABLE people; --" int, "Ünï code" text)`,
    );
    await db.sql(`INSERT INTO "Sch ema""x"."we""ird ta ble ünï" VALUES (1, 'a'), (2, NULL)`);
    const table = `"Sch ema""x"."we""ird ta ble ünï"`;
    await ok(task('weird', { table }, { table: '"Sch ema""x"."copy ünï"' }));
    expect(await db.sql(`SELECT * FROM "Sch ema""x"."copy ünï" ORDER BY 1`)).toEqual([
      { 'col"; DROP TABLE people; --': 1, 'Ünï code': 'a' },
      { 'col"; DROP TABLE people; --': 2, 'Ünï code': null },
    ]);
    await ok(task('weird-2', { table: 'people' }, { table: '"we""ird ta ble ünï"' }));
    // Unquoted, PostgreSQL would not read it as one name either: refused before anything runs.
    expect((await run(task('weird-3', { table: 'people' }, { table: 'we"ird ta ble ünï' }))).error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('table:'),
    });
    expect(await db.sql(`SELECT count(*)::int AS n FROM public."we""ird ta ble ünï"`)).toEqual([{ n: 100 }]);
  });

  it('replace with a snapshot keeps the old table aside and restore swaps it back with its indexes', async () => {
    await db.sql('CREATE TABLE snap_t (id int8 PRIMARY KEY, v text)');
    await db.sql(`INSERT INTO snap_t VALUES (1, 'old'), (2, 'old')`);
    const snapshot = await postgresConnector.createSnapshot!({
      options: { url: db.url },
      endpoint: { table: 'snap_t' },
      context: context('snap-t'),
    });
    const ref = await snapshot.take();
    expect(ref).not.toBeNull();
    await ok(
      task(
        'snap-t',
        { query: `SELECT 5::int8 AS id, 'new'::text AS v` },
        { table: 'snap_t' },
        { snapshot: { enabled: false } },
      ),
    );
    expect(await db.sql('SELECT v FROM snap_t')).toEqual([{ v: 'new' }]);
    await snapshot.restore(ref!);
    expect(await db.sql('SELECT id::int, v FROM snap_t ORDER BY id')).toEqual([
      { id: 1, v: 'old' },
      { id: 2, v: 'old' },
    ]);
    expect(
      (await db.sql(`SELECT indexname FROM pg_indexes WHERE tablename = 'snap_t'`)).map((row) => row.indexname),
    ).toEqual(['snap_t_pkey']);
    expect((await tableNames()).filter((name) => name.includes(String(ref!.snapshotTable)))).toEqual([]);
    expect(await db.sql('SELECT count(*)::int AS n FROM _honk_snapshots WHERE id = $1', [ref!.id])).toEqual([{ n: 0 }]);
  });
});

/**
 * Table names written as PostgreSQL writes them — quoted parts, spaces, upper case,
 * semicolons, non-ASCII, doubled quotes, whitespace around the dot — against real tables.
 * Each name is also used verbatim in the test's own SQL, so PostgreSQL's parser is the
 * oracle: Honk must read and write exactly the table PostgreSQL means by that text, and no
 * other table may appear.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectorRegistry, fileConnector, runTask, type TaskDefinition } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { context, createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'honk-pg-names-'));
  // A CSV header PostgreSQL would cut to 63 bytes (and so merge with any other column sharing that prefix).
  await writeFile(join(dir, 'long.csv'), `id,${'c'.repeat(68)}\n1,x\n`);
  await writeFile(join(dir, 'in.csv'), 'id,v\n1,från csv\n2,"semi; colon"\n3,"quote "" inside"\n');
  await db.sql(`CREATE SCHEMA "Sales"; CREATE SCHEMA "ÅÄÖ"; CREATE SCHEMA mixed`);
  await db.sql(`CREATE TABLE people AS SELECT g::int8 AS id, 'p' || g AS v FROM generate_series(1, 20) g`);
});
afterAll(async () => {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const registry = new ConnectorRegistry([postgresConnector, fileConnector]);

/** Each `written` text is valid SQL naming the table `[schema, table]`. */
const NAMES: Array<{ written: string; schema: string; table: string }> = [
  { written: 'public."My Table"', schema: 'public', table: 'My Table' },
  { written: '"Sales"."Q1; 2026"', schema: 'Sales', table: 'Q1; 2026' },
  { written: '"ÅÄÖ"."tåbell"', schema: 'ÅÄÖ', table: 'tåbell' },
  { written: '"a""b"', schema: 'public', table: 'a"b' },
  { written: 'Mixed.CaseFolded', schema: 'mixed', table: 'casefolded' },
  { written: ' "Sales" . "Spaced Out" ', schema: 'Sales', table: 'Spaced Out' },
  { written: `"Sales"."${'n'.repeat(59)}éé"`, schema: 'Sales', table: `${'n'.repeat(59)}éé` },
];

function pgEndpoint(endpoint: Record<string, unknown>) {
  return { connector: 'postgres', connection: 'pg', options: { url: db.url }, endpoint };
}

async function run(
  id: string,
  source: ReturnType<typeof pgEndpoint>,
  target: Record<string, unknown>,
  extra: Partial<TaskDefinition> = {},
) {
  const { mode, key, ...endpoint } = target;
  const definition = {
    id,
    source,
    target: { ...pgEndpoint(endpoint), ...(mode ? { mode } : {}), ...(key ? { key } : {}) },
    validate: { rowCount: true, checksum: true, sample: 5, schema: false },
    ...extra,
  } as TaskDefinition;
  const report = await runTask({ task: definition, connectors: registry, progressIntervalMs: 0 });
  if (!report.ok) throw new Error(`${report.error?.code}: ${report.error?.message}`);
  return report;
}

/** Every user table except Honk's bookkeeping, as [schema, table]. */
async function userTables(): Promise<string[]> {
  return (
    await db.sql<{ n: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS n FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tablename NOT LIKE '\\_honk\\_%' ORDER BY 1`,
    )
  ).map((row) => row.n);
}

async function rows(written: string): Promise<Array<{ id: number; v: string }>> {
  return db.sql(`SELECT id::int AS id, v FROM ${written} ORDER BY id`);
}

describe.each(NAMES)('table $written', ({ written, schema, table }) => {
  const own = `${JSON.stringify(schema)}.${JSON.stringify(table)}`;
  let before: string[];
  beforeAll(async () => {
    before = await userTables();
  });

  const reset = async () => {
    await db.sql(`DROP TABLE IF EXISTS ${written}`);
    await db.sql(`CREATE TABLE ${written} (id int8 PRIMARY KEY, v text)`);
    await db.sql(`INSERT INTO ${written} VALUES (100, 'old a'), (101, 'old b')`);
  };

  /** Only the named table was added; nothing of another name appeared. */
  const onlyThisTable = async () => {
    const after = (await userTables()).filter((name) => !before.includes(name));
    expect(after).toHaveLength(1);
    const found = await db.sql<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = $1::regclass`,
      [written],
    );
    expect(found).toEqual([{ schema, table }]);
  };

  it(`reads ${own}`, async () => {
    await reset();
    const source = await postgresConnector.createSource!({
      options: { url: db.url },
      endpoint: { table: written },
      context: context(),
    });
    try {
      expect(await source.count!()).toBe(2);
      const values: unknown[] = [];
      for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10 })) {
        for (const row of batch.toArray()) values.push(row.toJSON());
      }
      expect(values).toEqual([
        { id: 100n, v: 'old a' },
        { id: 101n, v: 'old b' },
      ]);
    } finally {
      await source.close?.();
    }
  });

  it('replace writes that table and no other', async () => {
    await reset();
    await run('names-replace', pgEndpoint({ query: 'SELECT id, v FROM people WHERE id <= 3' }), { table: written });
    expect(await rows(written)).toEqual([
      { id: 1, v: 'p1' },
      { id: 2, v: 'p2' },
      { id: 3, v: 'p3' },
    ]);
    await onlyThisTable();
    // The primary key was carried over onto the replacing table.
    expect(
      await db.sql(`SELECT count(*)::int AS n FROM pg_index WHERE indrelid = $1::regclass AND indisprimary`, [written]),
    ).toEqual([{ n: 1 }]);
  });

  it('replace into a table that does not exist yet creates it under that name', async () => {
    await db.sql(`DROP TABLE IF EXISTS ${written}`);
    await run('names-create', pgEndpoint({ query: 'SELECT id, v FROM people WHERE id = 7' }), { table: written });
    expect(await rows(written)).toEqual([{ id: 7, v: 'p7' }]);
    await onlyThisTable();
  });

  it('append adds the rows once, also when re-run', async () => {
    await reset();
    const source = pgEndpoint({ query: 'SELECT id, v FROM people WHERE id IN (4, 5)' });
    await run('names-append', source, { table: written, mode: 'append' });
    await run('names-append', source, { table: written, mode: 'append' });
    expect((await rows(written)).map((row) => row.id)).toEqual([4, 5, 100, 101]);
    await onlyThisTable();
  });

  it('merge upserts on the key', async () => {
    await reset();
    await run(
      'names-merge',
      pgEndpoint({ query: `SELECT id, v FROM (VALUES (100::int8, 'new a'), (6::int8, 'p6')) AS t(id, v)` }),
      { table: written, mode: 'merge', key: ['id'] },
    );
    expect(await rows(written)).toEqual([
      { id: 6, v: 'p6' },
      { id: 100, v: 'new a' },
      { id: 101, v: 'old b' },
    ]);
    await onlyThisTable();
  });

  it('CSV → PostgreSQL replace lands in that table', async () => {
    await reset();
    await run(
      'names-csv',
      { connector: 'file', connection: 'files', options: { root: dir }, endpoint: { path: 'in.csv' } } as never,
      { table: written },
    );
    expect(await rows(written)).toEqual([
      { id: 1, v: 'från csv' },
      { id: 2, v: 'semi; colon' },
      { id: 3, v: 'quote " inside' },
    ]);
    await onlyThisTable();
  });

  it.each(['replace', 'append', 'merge'] as const)('a snapshot taken before %s restores the old rows', async (mode) => {
    await reset();
    const snapshot = await postgresConnector.createSnapshot!({
      options: { url: db.url },
      endpoint: { table: written },
      context: context(`names-snap-${mode}`),
    });
    const ref = await snapshot.take();
    expect(ref).toMatchObject({ schema, table });
    const changed = mode === 'append' ? 102 : 100;
    await run(
      `names-snap-${mode}`,
      pgEndpoint({ query: `SELECT ${changed}::int8 AS id, 'changed'::text AS v` }),
      { table: written, mode, ...(mode === 'merge' ? { key: ['id'] } : {}) },
      { snapshot: { enabled: false } },
    );
    expect(await rows(written)).toContainEqual({ id: changed, v: 'changed' });
    await snapshot.restore(ref!);
    expect(await rows(written)).toEqual([
      { id: 100, v: 'old a' },
      { id: 101, v: 'old b' },
    ]);
    await onlyThisTable();
  });
});

describe('names PostgreSQL would truncate or cannot reach', () => {
  it('a 64-byte name is refused before anything is written, naming table:', async () => {
    const long = `"${'z'.repeat(64)}"`;
    const report = await runTask({
      task: {
        id: 'too-long',
        source: pgEndpoint({ query: 'SELECT 1::int8 AS id' }),
        target: pgEndpoint({ table: long }),
      } as TaskDefinition,
      connectors: registry,
      progressIntervalMs: 0,
    });
    expect(report.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('table:') });
    expect(await db.sql(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'zzzz%'`)).toEqual([{ n: 0 }]);
  });

  it('a column name longer than 63 bytes is refused instead of being truncated', async () => {
    const report = await runTask({
      task: {
        id: 'long-column',
        source: { connector: 'file', connection: 'files', options: { root: dir }, endpoint: { path: 'long.csv' } },
        target: pgEndpoint({ table: 'long_column' }),
      } as TaskDefinition,
      connectors: registry,
      progressIntervalMs: 0,
    });
    expect(report.error).toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringMatching(/68 bytes.*63/),
    });
    expect(await db.sql(`SELECT to_regclass('long_column') AS t`)).toEqual([{ t: null }]);
  });

  it('database.schema.table works for the connected database and is refused for another one', async () => {
    const [current] = await db.sql<{ name: string }>('SELECT current_database() AS name');
    const name = current!.name;
    await run('names-db', pgEndpoint({ query: 'SELECT 1::int8 AS id' }), { table: `${name}.public.with_db` });
    expect(await db.sql('SELECT id::int FROM public.with_db')).toEqual([{ id: 1 }]);
    const report = await runTask({
      task: {
        id: 'names-other-db',
        source: pgEndpoint({ query: 'SELECT 1::int8 AS id' }),
        target: pgEndpoint({ table: 'elsewhere.public.with_db' }),
      } as TaskDefinition,
      connectors: registry,
      progressIntervalMs: 0,
    });
    expect(report.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/table:.*"elsewhere".*connected to database/),
    });
  });
});

/**
 * PostgreSQL discovery against a real server: tables, views, partitioned tables with catalog
 * estimates and sizes, names that need quoting, and what is left out.
 */
import { testDiscover } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTableName, parseTableName, postgresConnector } from '../src/index.ts';
import { context, createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

let seeds = 0;
testDiscover({
  name: 'postgres',
  connector: postgresConnector,
  options: () => ({ url: db.url }),
  seed: async () => {
    const schema = `seed_${++seeds}`;
    await db.sql(`CREATE SCHEMA ${schema}`);
    await db.sql(`CREATE TABLE ${schema}.orders (id int PRIMARY KEY, total numeric(12,2))`);
    await db.sql(`CREATE VIEW ${schema}.big_orders AS SELECT * FROM ${schema}.orders WHERE total > 100`);
    return { within: schema, expected: [`${schema}.big_orders`, `${schema}.orders`], missing: `${schema}_missing` };
  },
});

describe('postgres discover()', () => {
  it('reports catalog estimates and sizes, quotes odd names, leaves out partitions and work tables', async () => {
    await db.sql('CREATE SCHEMA "Sales"');
    await db.sql('CREATE TABLE "Sales"."Orders 2026" (id int)');
    await db.sql('INSERT INTO "Sales"."Orders 2026" SELECT generate_series(1, 5000)');
    await db.sql('CREATE TABLE "Sales".events (id int, day date) PARTITION BY RANGE (day)');
    await db.sql(
      `CREATE TABLE "Sales".events_1 PARTITION OF "Sales".events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
    );
    await db.sql(
      `CREATE TABLE "Sales".events_2 PARTITION OF "Sales".events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`,
    );
    await db.sql(`INSERT INTO "Sales".events SELECT i, DATE '2026-01-01' + (i % 50) FROM generate_series(1, 3000) i`);
    await db.sql('CREATE TABLE "Sales".never_analyzed (id int)');
    await db.sql('INSERT INTO "Sales".never_analyzed VALUES (1)');
    await db.sql('CREATE TABLE "Sales"._honk_stage_0123456789abcdef (id int)');
    await db.sql(
      'CREATE MATERIALIZED VIEW "Sales".daily AS SELECT day, count(*) AS n FROM "Sales".events GROUP BY day',
    );
    await db.sql('ANALYZE "Sales"."Orders 2026", "Sales".events_1, "Sales".events_2, "Sales".daily');

    const found = await postgresConnector.discover!({
      options: { url: db.url },
      scope: { within: 'Sales' },
      context: context(),
    });
    expect(found.map((dataset) => [dataset.name, dataset.kind])).toEqual([
      ['"Sales"."Orders 2026"', 'table'],
      ['"Sales".daily', 'view'],
      ['"Sales".events', 'table'],
      ['"Sales".never_analyzed', 'table'],
    ]);
    const byName = new Map(found.map((dataset) => [dataset.name, dataset]));
    expect(byName.get('"Sales"."Orders 2026"')).toMatchObject({
      estimatedRows: 5000,
      endpoint: { table: '"Sales"."Orders 2026"' },
    });
    expect(byName.get('"Sales"."Orders 2026"')!.bytes).toBeGreaterThan(8192);
    expect(byName.get('"Sales".events')!.estimatedRows).toBe(3000);
    expect(byName.get('"Sales".events')!.bytes).toBeGreaterThan(0);
    expect(byName.get('"Sales".daily')!.estimatedRows).toBe(50);
    // Never analyzed: no estimate at all rather than a misleading 0.
    expect(byName.get('"Sales".never_analyzed')!.estimatedRows).toBeUndefined();
    for (const dataset of found) {
      expect(parseTableName(dataset.endpoint.table as string)).toEqual({ schema: 'Sales', table: expect.any(String) });
    }
  });

  it('defaults to the connection schema and keeps the limit', async () => {
    await db.sql('CREATE SCHEMA plain');
    await db.sql('CREATE TABLE plain.a (id int)');
    await db.sql('CREATE TABLE plain.b (id int)');
    const found = await postgresConnector.discover!({
      options: { url: db.url, defaultSchema: 'plain' },
      scope: { limit: 1 },
      context: context(),
    });
    expect(found.map((dataset) => dataset.name)).toEqual(['plain.a']);
  });

  it('formats names that parse back to themselves', () => {
    for (const name of [
      { schema: 'public', table: 'orders' },
      { schema: 'Sales', table: 'Q1; 2026' },
      { schema: 's', table: 'we"ird' },
      { schema: 'x', table: '1st' },
    ]) {
      expect(parseTableName(formatTableName(name))).toEqual(name);
    }
    expect(formatTableName({ schema: 'public', table: 'orders' })).toBe('public.orders');
  });
});

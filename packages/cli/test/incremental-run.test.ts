/**
 * `honk run` and incremental tasks, against the real test server: an ordinary task that
 * succeeded is skipped by the next `honk run`, an incremental one runs every time and moves
 * only what changed at the source since; `honk plan` shows the next increment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { honk, tempDir, writeFiles } from './cli-helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const spec = `version: 1
connections:
  warehouse: { connector: postgres, url: "\${env:WAREHOUSE_URL}" }
tasks:
  - id: customers
    source: { connection: warehouse, table: customers }
    target: { connection: warehouse, table: customers_copy }
  - id: orders
    source: { connection: warehouse, table: orders }
    target: { connection: warehouse, table: orders_copy, mode: merge, key: [id] }
    incremental: { cursor: updated_at }
`;

async function same(a: string, b: string): Promise<boolean> {
  const hash = async (table: string) =>
    (await db.sql(`SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY id)) AS h FROM ${table} t`))[0];
  return JSON.stringify(await hash(a)) === JSON.stringify(await hash(b));
}

describe('honk run with an incremental task', () => {
  it('runs it again each time, moving only the changed rows; ordinary tasks stay skipped', async () => {
    await db.sql('CREATE TABLE customers AS SELECT g::int8 AS id, g::text AS name FROM generate_series(1, 100) g');
    await db.sql('CREATE TABLE orders (id int8 PRIMARY KEY, amount int8, updated_at timestamptz NOT NULL)');
    await db.sql(
      `INSERT INTO orders SELECT g, g, timestamptz '2026-01-01Z' + g * interval '1 minute' FROM generate_series(1, 1000) g`,
    );
    const dir = tempDir('incremental');
    const env = { WAREHOUSE_URL: db.url };
    await writeFiles(dir, { 'honk.yaml': spec });
    const runOnce = async () => {
      const result = await honk(['run', 'honk.yaml', '--json'], { cwd: dir, env });
      expect(result.code, result.stderr).toBe(0);
      const tasks = JSON.parse(result.stdout).tasks as Array<Record<string, any>>;
      return Object.fromEntries(tasks.map((task) => [task.id, task]));
    };

    const first = await runOnce();
    expect(first.customers).toMatchObject({ action: 'ran', rows: 100 });
    expect(first.orders).toMatchObject({ action: 'ran', rows: 1000, incremental: { from: null, runs: 1 } });

    await db.sql(
      `UPDATE orders SET amount = -amount, updated_at = '2027-01-01Z'::timestamptz + id * interval '1 s' WHERE id <= 5`,
    );
    await db.sql(`INSERT INTO orders VALUES (1001, 1001, '2027-02-01Z')`);
    const second = await runOnce();
    expect(second.customers).toMatchObject({ action: 'skipped' });
    expect(second.orders).toMatchObject({
      action: 'ran',
      rows: 6,
      incremental: { from: first.orders.incremental.to, to: '2027-02-01T00:00:00.000000Z', runs: 2, rowsWritten: 6 },
    });
    expect(await same('orders_copy', 'orders')).toBe(true);

    const third = await runOnce();
    expect(third.orders).toMatchObject({ action: 'ran', rows: 0, incremental: { runs: 3, rowsRead: 0 } });

    await db.sql(`INSERT INTO orders VALUES (1002, 1002, '2027-03-01Z')`);
    const plan = await honk(['plan', 'honk.yaml'], { cwd: dir, env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      `incremental on updated_at: mark 2027-02-01T00:00:00.000000Z; next run reads "updated_at" > '2027-02-01T00:00:00.000000Z'::timestamptz AND "updated_at" <= '2027-03-01T00:00:00.000000Z'::timestamptz`,
    );
    expect(await db.sql('SELECT count(*)::int AS n FROM orders_copy')).toEqual([{ n: 1001 }]);
  });
});

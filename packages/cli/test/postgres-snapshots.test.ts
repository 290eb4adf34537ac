/**
 * The issue as users met it: repeated replace runs of one PostgreSQL table left one snapshot
 * table per run (four runs of a 57 MB table, 172 MB of `_honk_snap_*`). Against the real
 * test server, four `honk run`s of a changed task now leave one snapshot table, which
 * `honk status` shows, and an expired one is dropped when a run ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const spec = (table: string, keepFor: string, sample: number) => `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  warehouse: { connector: postgres, url: "\${env:WAREHOUSE_URL}" }
defaults:
  snapshot: { keepFor: ${keepFor} }
tasks:
  - id: ${table}
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: warehouse, table: public.${table} }
    validate: { sample: ${sample} }
`;

async function snapshotTables(): Promise<string[]> {
  const rows = await db.sql<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '\\_honk\\_snap\\_%' ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

describe('PostgreSQL snapshots under repeated honk run', () => {
  it('four replace runs leave one snapshot table, shown by honk status', async () => {
    const dir = tempDir('pg-snapshots');
    const env = { WAREHOUSE_URL: db.url };
    await writeFiles(dir, { 'legacy/orders.csv': ordersCsv(2_000) });
    for (let run = 1; run <= 4; run++) {
      await writeFiles(dir, { 'honk.yaml': spec('orders', '7d', 10 + run) });
      const result = await honk(['run', 'honk.yaml', '--json'], { cwd: dir, env });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ state: 'succeeded', action: 'ran' });
    }
    const tables = await snapshotTables();
    expect(tables).toHaveLength(1);
    expect(await db.sql('SELECT count(*)::int AS n FROM public.orders')).toEqual([{ n: 2_000 }]);

    const status = await honk(['status', '--json'], { cwd: dir, env });
    const [task] = JSON.parse(status.stdout).tasks;
    expect(task.snapshots).toEqual([
      expect.objectContaining({
        connector: 'postgres',
        location: tables[0],
        keepForMs: 7 * 86_400_000,
        expired: false,
      }),
    ]);
  });

  it('drops an expired snapshot table when the run ends', async () => {
    const dir = tempDir('pg-sweep');
    const env = { WAREHOUSE_URL: db.url };
    const before = await snapshotTables();
    await writeFiles(dir, { 'legacy/orders.csv': ordersCsv(500) });
    for (let run = 1; run <= 2; run++) {
      await writeFiles(dir, { 'honk.yaml': spec('invoices', '1ms', 10 + run) });
      const result = await honk(['run', 'honk.yaml', '--json'], { cwd: dir, env });
      expect(result.code, result.stderr).toBe(0);
      if (run === 2) expect(JSON.parse(result.stdout).snapshotsDiscarded).toBe(1);
    }
    const markers = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM public._honk_snapshots WHERE task_id = 'invoices'`,
    );
    expect(markers).toEqual([{ n: 0 }]);
    // The second run renamed the old table aside as its snapshot; the sweep dropped it.
    expect(await snapshotTables()).toEqual(before);
  });
});

/** `honk discover` against a spec's connections (files and a real PostgreSQL), a directory and bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql('CREATE SCHEMA shop');
  await db.sql('CREATE TABLE shop.orders AS SELECT generate_series(1, 1200) AS id');
  await db.sql('ANALYZE shop.orders');
  await db.sql('CREATE VIEW shop.recent AS SELECT * FROM shop.orders WHERE id > 1000');
});
afterAll(async () => {
  await db?.drop();
});

const spec = `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  warehouse: { connector: postgres, url: "\${env:WAREHOUSE_URL}", defaultSchema: shop }
tasks: []
`;

describe('honk discover', () => {
  it('lists the datasets of every connection of a spec as a table and as JSON', async () => {
    const cwd = tempDir('discover');
    await writeFiles(cwd, {
      'honk.yaml': spec,
      'legacy/orders.csv': ordersCsv(10),
      'legacy/events/part-0.ndjson': '{"id":1}\n',
      'legacy/events/part-1.ndjson': '{"id":2}\n',
    });
    const env = { WAREHOUSE_URL: db.url };
    const text = await honk(['discover', 'honk.yaml'], { cwd, env });
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/● legacy \(file\)\nNAME +KIND +ROWS \(EST\.\) +SIZE +MODIFIED\n/);
    expect(text.stdout).toMatch(/^events\/ +directory +18 B /m);
    expect(text.stdout).toMatch(/^orders\.csv +file /m);
    expect(text.stdout).toMatch(/^shop\.orders +table +1,200 +\d+\.\d KiB/m);
    expect(text.stdout).toMatch(/^shop\.recent +view\s*$/m);

    const json = await honk(['discover', 'honk.yaml', '--connection', 'warehouse', '--json'], { cwd, env });
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { connections: Array<{ connection: string; datasets: unknown[] }> };
    expect(parsed.connections.map((connection) => connection.connection)).toEqual(['warehouse']);
    expect(parsed.connections[0]!.datasets).toEqual([
      expect.objectContaining({
        name: 'shop.orders',
        kind: 'table',
        endpoint: { table: 'shop.orders' },
        estimatedRows: 1200,
      }),
      { name: 'shop.recent', kind: 'view', endpoint: { table: 'shop.recent' } },
    ]);
  });

  it('discovers a PostgreSQL URL and a directory given directly, with --within and --limit', async () => {
    const cwd = tempDir('discover-direct');
    await writeFiles(cwd, { 'data/a/x.csv': 'id\n1\n', 'data/a/y.csv': 'id\n2\n', 'data/b.csv': 'id\n3\n' });
    const directory = await honk(['discover', 'data', '--json'], { cwd });
    expect(JSON.parse(directory.stdout).connections[0].datasets.map((d: { name: string }) => d.name)).toEqual([
      'b.csv',
      'a/',
    ]);
    const url = await honk(['discover', db.url, '--within', 'shop', '--limit', '1', '--json'], { cwd });
    expect(url.code).toBe(0);
    expect(JSON.parse(url.stdout).connections[0].datasets.map((d: { name: string }) => d.name)).toEqual([
      'shop.orders',
    ]);
  });

  it('says what is wrong with an unknown connection, an unset variable or a missing schema', async () => {
    const cwd = tempDir('discover-bad');
    await writeFiles(cwd, { 'honk.yaml': spec });
    const unknown = await honk(['discover', 'honk.yaml', '--connection', 'nope'], {
      cwd,
      env: { WAREHOUSE_URL: db.url },
    });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no connection "nope". Known connections: legacy, warehouse.');
    const unset = await honk(['discover', 'honk.yaml', '--connection', 'warehouse'], { cwd, env: {} });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('environment variable WAREHOUSE_URL is not set');
    const missing = await honk(['discover', 'honk.yaml', '--connection', 'warehouse', '--within', 'gone'], {
      cwd,
      env: { WAREHOUSE_URL: db.url },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('schema "gone" does not exist');
    const shortBucket = await honk(['discover', 's3://ab/raw/'], { cwd });
    expect(shortBucket.code).toBe(2);
    expect(shortBucket.stderr).toContain('"s3://ab/raw/" is not a valid s3 connection (bucket:');
  });
});

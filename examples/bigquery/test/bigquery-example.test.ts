/**
 * The example's spec, run by the `honk` CLI against the test PostgreSQL server and the
 * BigQuery emulator: PostgreSQL → BigQuery, then BigQuery → Parquet; the rows arrive intact.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import { type BigQueryEmulator, startBigQueryEmulator } from '@honk/connectors-bigquery/testing';
import { fileConnector } from '@honk/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  type TestDatabase,
} from '../../../packages/connectors-postgres/test/postgres-test-database.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));
let db: TestDatabase;
let emulator: BigQueryEmulator;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql(
    `CREATE TABLE public.orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), placed_at timestamptz)`,
  );
  await db.sql(
    `INSERT INTO public.orders SELECT i, 'customer ' || i, i * 1.25, '2026-01-01T00:00:00Z'::timestamptz + i * interval '1 minute' FROM generate_series(1, 1000) i`,
  );
  emulator = await startBigQueryEmulator({ project: 'demo', datasets: ['analytics'] });
  process.env.METADATA_SERVER_DETECTION = 'none';
});

const env = () => ({ WAREHOUSE_URL: db.url, BIGQUERY_PROJECT: 'demo', BIGQUERY_API_ENDPOINT: emulator.endpoint });
afterAll(async () => {
  await emulator?.stop();
  await db?.drop();
});

it('moves PostgreSQL → BigQuery → Parquet from the spec, validated both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'honk-bigquery-example-'));
  cpSync(join(example, 'honk.yaml'), join(dir, 'honk.yaml'));
  const load = await runCli(['run', 'honk.yaml', '--only', 'orders-to-bigquery'], { cwd: dir, env: env() });
  expect(load.code, load.stdout + load.stderr).toBe(0);
  const table = emulator.store.findTable('demo', 'analytics', 'orders');
  expect(table?.rows).toHaveLength(1000);
  expect(table?.fields.map((field) => `${field.name} ${field.type}`)).toEqual([
    'id INT64',
    'customer STRING',
    'amount NUMERIC',
    'placed_at TIMESTAMP',
  ]);

  const unload = await runCli(['run', 'honk.yaml', '--only', 'orders-to-parquet'], { cwd: dir, env: env() });
  expect(unload.code, unload.stdout + unload.stderr).toBe(0);
  const source = await fileConnector.createSource!({
    options: { root: join(dir, 'lake') },
    endpoint: { path: 'orders.parquet' },
    context: { taskId: 'check', connectionName: 'lake', signal: new AbortController().signal, logger: console },
  });
  expect(await source.count!()).toBe(1000);
  await source.close?.();
});

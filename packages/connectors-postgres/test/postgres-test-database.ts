/**
 * Each test file gets its own database on the shared test server (see test/services/postgres.ts),
 * so files running in parallel never see each other's tables.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  /** Runs SQL as the superuser in the test database. */
  sql<R = any>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = process.env.HONK_TEST_POSTGRES_URL;
  if (!url)
    throw new Error(
      'HONK_TEST_POSTGRES_URL is not set: run the tests through vitest (global setup starts PostgreSQL).',
    );
  return url;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `honk_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => {});
  await client.connect();
  await client.query("SET TIME ZONE 'UTC'");
  return {
    url: url.toString(),
    sql: async (text, values) => (await client.query(text, values)).rows,
    drop: async () => {
      await client.end().catch(() => {});
      const dropper = new pg.Client({ connectionString: serverUrl() });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

export const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function context(taskId = 'test-task') {
  return { taskId, connectionName: 'test-pg', signal: new AbortController().signal, logger: quietLogger };
}

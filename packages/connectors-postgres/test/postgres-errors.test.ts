/**
 * Error classification on real PostgreSQL errors: each statement below makes the server
 * raise the SQLSTATE in question. Deterministic failures (the same statement fails the same
 * way again) must never be retryable; serialization failures, deadlocks and cancelled
 * statements are transient.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPostgresError } from '../src/postgres-errors.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0), d date)`);
  await client.query(`INSERT INTO t VALUES (1, 1, '2020-01-01')`);
  await client.query(`CREATE VIEW v AS SELECT * FROM t`);
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

/** Runs SQL that must fail, in its own transaction, and returns the server's error. */
async function failure(sql: string, on: pg.Client = client): Promise<{ code: string }> {
  await on.query('BEGIN');
  try {
    await on.query(sql);
  } catch (error) {
    return error as { code: string };
  } finally {
    await on.query('ROLLBACK');
  }
  throw new Error(`did not fail: ${sql}`);
}

const WIDE_TABLE = 'CREATE TABLE wide (1601 columns)';
const wideTable = `CREATE TABLE wide (${Array.from({ length: 1601 }, (_, i) => `c${i} int`).join(', ')})`;
const where = { connection: 'test-pg', operation: 'testing' };

describe('toPostgresError on real server errors', () => {
  it.each([
    ['SELECT * FROM missing', '42P01', 'NOT_FOUND'],
    ['SELECT nope FROM t', '42703', 'NOT_FOUND'],
    [`SELECT 'x'::int`, '22P02', 'SCHEMA_MISMATCH'],
    [`SELECT 1 / 0`, '22012', 'SCHEMA_MISMATCH'],
    [`INSERT INTO t VALUES (1, 1)`, '23505', 'SCHEMA_MISMATCH'],
    [`INSERT INTO t VALUES (2, NULL)`, '23502', 'SCHEMA_MISMATCH'],
    [`INSERT INTO t VALUES (2, -1)`, '23514', 'SCHEMA_MISMATCH'],
    [`SELEC 1`, '42601', 'CONFIG_INVALID'],
    [`CREATE TABLE t (x int)`, '42P07', 'CONFIG_INVALID'],
    [`DROP TABLE t`, '2BP01', 'CONFIG_INVALID'],
    [`COPY v FROM STDIN`, '42809', 'CONFIG_INVALID'],
    [WIDE_TABLE, '54011', 'SCHEMA_MISMATCH'],
    [`DO $$ BEGIN RAISE EXCEPTION 'rejected by a trigger'; END $$`, 'P0001', 'SCHEMA_MISMATCH'],
    [`SET TRANSACTION READ ONLY; INSERT INTO t VALUES (3, 3)`, '25006', 'CONFIG_INVALID'],
    [`INSERT INTO t (id, n) VALUES (3, 3) ON CONFLICT (n) DO NOTHING`, '42P10', 'SCHEMA_MISMATCH'],
  ])('%s → %s is %s and never retried', async (label, sqlstate, code) => {
    const sql = label === WIDE_TABLE ? wideTable : label;
    const raw = await failure(sql);
    expect(raw.code).toBe(sqlstate);
    const error = toPostgresError(raw, where);
    expect(error).toMatchObject({ code, retryable: false });
    expect(error.message).toContain(sqlstate);
    expect(error.message).toContain('"test-pg"');
  });

  it('a statement timeout is transient', async () => {
    const raw = await failure(`SET LOCAL statement_timeout = 10; SELECT pg_sleep(1)`);
    expect(raw.code).toBe('57014');
    expect(toPostgresError(raw, where)).toMatchObject({ code: 'TRANSIENT', retryable: true });
  });

  it('a serialization failure (40001) and a deadlock (40P01) are transient', async () => {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      // Serialization: both read row 1 in REPEATABLE READ, the second update after the first commits fails.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await client.query('SELECT * FROM t WHERE id = 1');
      await other.query('UPDATE t SET n = n + 1 WHERE id = 1');
      const serialization = await client.query('UPDATE t SET n = n + 1 WHERE id = 1').then(
        () => undefined,
        (error: unknown) => error as { code: string },
      );
      await client.query('ROLLBACK');
      expect(serialization?.code).toBe('40001');
      expect(toPostgresError(serialization, where)).toMatchObject({ code: 'TRANSIENT', retryable: true });

      // Deadlock: each holds one row and waits for the other's.
      await client.query(`INSERT INTO t VALUES (10, 0), (11, 0)`);
      await client.query('BEGIN');
      await other.query('BEGIN');
      await client.query('UPDATE t SET n = 1 WHERE id = 10');
      await other.query('UPDATE t SET n = 1 WHERE id = 11');
      const outcomes = await Promise.allSettled([
        client.query('UPDATE t SET n = 2 WHERE id = 11'),
        other.query('UPDATE t SET n = 2 WHERE id = 10'),
      ]);
      await client.query('ROLLBACK');
      await other.query('ROLLBACK');
      const deadlock = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
      expect((deadlock.reason as { code: string }).code).toBe('40P01');
      expect(toPostgresError(deadlock.reason, where)).toMatchObject({ code: 'TRANSIENT', retryable: true });
    } finally {
      await other.end();
    }
  });

  it('a dropped connection is transient; an unknown error stays a retryable INTERNAL', () => {
    expect(toPostgresError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), where)).toMatchObject({
      code: 'TRANSIENT',
      retryable: true,
    });
    expect(toPostgresError(new Error('Connection terminated unexpectedly'), where)).toMatchObject({
      code: 'TRANSIENT',
    });
    expect(toPostgresError(new Error('something odd'), where)).toMatchObject({ code: 'INTERNAL', retryable: true });
  });
});

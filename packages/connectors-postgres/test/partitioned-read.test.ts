/**
 * Partitioned reads (`partitionBy`): key ranges over several connections that import one
 * exported snapshot. The merged read equals the plain read, and no partition sees rows
 * changed after the read began, even partitions that start reading later.
 */
import { ConnectorRegistry, runTask, type TaskDefinition } from '@honk/core';
import { fingerprint } from '@honk/core/testing';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { type KeyRange, splitKeyRange } from '../src/postgres-source.ts';
import { context, createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // Gaps, negative keys and NULL keys; enough rows for many batches per partition.
  await db.sql(`CREATE TABLE big (id int8, name text, amount float8)`);
  await db.sql(`INSERT INTO big SELECT CASE WHEN g % 1000 = 0 THEN NULL ELSE g * 3 - 30000 END, 'n' || g, g / 7.0
                FROM generate_series(1, 40000) AS g`);
  await db.sql(`CREATE TABLE small_keys (k int2, v text)`);
  await db.sql(`INSERT INTO small_keys VALUES (-32768, 'lo'), (32767, 'hi'), (NULL, 'null'), (5, 'five')`);
  await db.sql(`CREATE TABLE only_nulls (k int4, v text)`);
  await db.sql(`INSERT INTO only_nulls VALUES (NULL, 'a'), (NULL, 'b')`);
  await db.sql(`CREATE TABLE texty (k text)`);
});
afterAll(async () => db.drop());

async function source(table: string, partitionBy?: { column: string; partitions?: number }) {
  return postgresConnector.createSource!({
    options: { url: db.url },
    endpoint: { table, ...(partitionBy ? { partitionBy } : {}) },
    context: context(),
  });
}

async function readFingerprint(table: string, partitionBy?: { column: string; partitions?: number }) {
  const s = await source(table, partitionBy);
  try {
    const batches: RecordBatch[] = [];
    for await (const batch of s.read({ signal: new AbortController().signal, batchRows: 1000 })) batches.push(batch);
    return {
      rows: batches.reduce((n, b) => n + b.numRows, 0),
      fingerprint: await fingerprint(await s.schema(), batches),
    };
  } finally {
    await s.close?.();
  }
}

async function backends(): Promise<number> {
  const rows = await db.sql<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'honk' AND datname = current_database()`,
  );
  return rows[0]!.n;
}

describe('partitioned read', () => {
  it('splits the key range into contiguous inclusive ranges, NULL keys with the first', () => {
    expect(splitKeyRange(1n, 10n, 4)).toEqual<KeyRange[]>([
      { from: '1', to: '3', nulls: true },
      { from: '4', to: '6', nulls: false },
      { from: '7', to: '9', nulls: false },
      { from: '10', to: '10', nulls: false },
    ]);
    expect(splitKeyRange(5n, 6n, 8)).toHaveLength(2);
    const extreme = splitKeyRange(-(2n ** 63n), 2n ** 63n - 1n, 3);
    expect(extreme[0]!.from).toBe('-9223372036854775808');
    expect(extreme.at(-1)!.to).toBe('9223372036854775807');
  });

  it('equals the plain read (count and checksum), for int8, int2 and all-NULL keys', async () => {
    const plain = await readFingerprint('big');
    expect(plain.rows).toBe(40_000);
    const s = await source('big', { column: 'id', partitions: 4 });
    expect((await s.partitions!()).map((partition) => partition.ref)).toHaveLength(4);
    await s.close?.();
    expect(await readFingerprint('big', { column: 'id', partitions: 4 })).toEqual(plain);
    expect(await readFingerprint('big', { column: 'id', partitions: 7 })).toEqual(plain);
    expect(await readFingerprint('small_keys', { column: 'k', partitions: 3 })).toEqual(
      await readFingerprint('small_keys'),
    );
    expect(await readFingerprint('only_nulls', { column: 'k' })).toEqual(await readFingerprint('only_nulls'));
  });

  it('sees one snapshot: rows changed while partitions read are seen by none of them', async () => {
    const before = await readFingerprint('big');
    const s = await source('big', { column: 'id', partitions: 4 });
    let rows = 0;
    const batches: RecordBatch[] = [];
    let changed = false;
    try {
      for await (const batch of s.read({ signal: new AbortController().signal, batchRows: 500 })) {
        batches.push(batch);
        rows += batch.numRows;
        if (!changed) {
          changed = true;
          // Committed by another session mid-read, spread over every key range.
          await db.sql(`INSERT INTO big SELECT g * 3 - 29999, 'new', 0 FROM generate_series(1, 40000, 97) AS g`);
          await db.sql(`DELETE FROM big WHERE id % 5 = 0`);
          await db.sql(`UPDATE big SET name = 'changed' WHERE id % 7 = 0`);
        }
      }
    } finally {
      await s.close?.();
    }
    expect(rows).toBe(40_000);
    expect(await fingerprint(await (await source('big')).schema(), batches)).toEqual(before.fingerprint);
    expect(await readFingerprint('big')).not.toEqual(before);
  });

  it('leaves no connection behind when the reader stops early', async () => {
    const idle = await backends();
    const s = await source('big', { column: 'id', partitions: 4 });
    for await (const batch of s.read({ signal: new AbortController().signal, batchRows: 100 })) {
      expect(batch.numRows).toBeGreaterThan(0);
      break;
    }
    await s.close?.();
    await expect.poll(backends, { timeout: 10_000 }).toBe(idle);
  });

  it('refuses a non-integer key, a missing column, and partitionBy on a target, naming them', async () => {
    await expect((await source('texty', { column: 'k' })).schema()).rejects.toThrow(
      /partitionBy.column "k" of table "public"."texty" is text; key-range partitions need an integer column/,
    );
    await expect((await source('big', { column: 'nope' })).schema()).rejects.toThrow(
      /partitionBy.column "nope" is not a column of table "public"."big". Columns: id, name, amount/,
    );
    expect(() =>
      postgresConnector.createSink!({
        options: { url: db.url },
        endpoint: { table: 'x', partitionBy: { column: 'id' } },
        context: context(),
      }),
    ).toThrow(/"partitionBy" only applies to a source/);
  });

  it('moves a table PG→PG through runTask with validation', async () => {
    await db.sql('CREATE TABLE moved_src AS SELECT * FROM big');
    const report = await runTask({
      task: {
        id: 'partitioned',
        source: {
          connector: 'postgres',
          connection: 'src',
          options: { url: db.url },
          endpoint: { table: 'moved_src', partitionBy: { column: 'id', partitions: 3 } },
        },
        target: { connector: 'postgres', connection: 'dst', options: { url: db.url }, endpoint: { table: 'moved' } },
        validate: { rowCount: true, checksum: true, sample: 10, schema: true },
      } as TaskDefinition,
      connectors: new ConnectorRegistry([postgresConnector]),
    });
    expect(report.error).toBeUndefined();
    expect(report.path).toBe('arrow');
    const [counts] = await db.sql<{ a: number; b: number }>(
      'SELECT (SELECT count(*)::int FROM moved_src) AS a, (SELECT count(*)::int FROM moved) AS b',
    );
    expect(counts!.b).toBe(counts!.a);
  });
});

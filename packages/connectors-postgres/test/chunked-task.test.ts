/**
 * Chunked tasks PG → PG: key-range chunks read alone (raw bytes when the types match),
 * staged in one staging table, one transaction per chunk with its bookkeeping row, validated
 * once and published once; through agents on the PostgreSQL task store; a chunk committed but
 * never recorded is reused; two attempts of one chunk stage it once; a source written during
 * the task is caught and read again; append mode.
 */
import {
  Agent,
  ConnectorRegistry,
  chunkName,
  runChunk,
  runTask,
  schemaHash,
  schemaLines,
  type TaskDefinition,
  type TaskRecord,
} from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTaskStore, postgresConnector } from '../src/index.ts';
import { PostgresSink } from '../src/postgres-sink.ts';
import { PostgresSource } from '../src/postgres-source.ts';
import { context, createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
const registry = new ConnectorRegistry([postgresConnector]);

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql(`CREATE TABLE src (id int8 PRIMARY KEY, name text, amount numeric(12,2), at timestamptz)`);
  await db.sql(`INSERT INTO src SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'name-' || g END, g * 0.25,
                  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 200000) AS g`);
  await db.sql('ANALYZE src');
});
afterAll(async () => db.drop());

function task(id: string, source: string, target: string, extra: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    id,
    source: {
      connector: 'postgres',
      connection: 'src',
      options: { url: db.url },
      endpoint: { table: source, partitionBy: { column: 'id' } },
    },
    target: { connector: 'postgres', connection: 'dst', options: { url: db.url }, endpoint: { table: target } },
    chunks: { max: 4 },
    batchRows: 8192,
    ...extra,
  } as TaskDefinition;
}

/** Count, distinct keys and an order-independent checksum, computed by PostgreSQL itself. */
async function summary(table: string) {
  const [row] = await db.sql<{ count: string; keys: string; sum: string }>(
    `SELECT count(*)::text AS count, count(DISTINCT id)::text AS keys,
            coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS sum FROM ${table} t`,
  );
  return row;
}

async function count(table: string): Promise<number> {
  const rows = await db.sql<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  return Number(rows[0]?.n);
}

async function leftovers(): Promise<string[]> {
  const rows = await db.sql<{ name: string }>(
    `SELECT relname AS name FROM pg_class WHERE relname LIKE '\\_honk\\_stage\\_%' AND relkind = 'r'`,
  );
  const chunks = await db
    .sql<{ n: string }>(`SELECT count(*)::text AS n FROM public._honk_chunks`)
    .catch(() => [{ n: '0' }]);
  return [...rows.map((row) => row.name), ...(chunks[0]?.n === '0' ? [] : [`_honk_chunks: ${chunks[0]?.n} rows`])];
}

describe('chunked tasks PG → PG', () => {
  it('moves key-range chunks raw, validates the whole once and publishes once', async () => {
    const report = await runTask({ task: task('local', 'src', 'dst_local'), connectors: registry });
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, path: 'raw', chunks: { count: 4, rows: 200000 } });
    const checksum = report.validation?.checks.find((check) => check.name === 'checksum');
    expect(checksum).toMatchObject({ ok: true, expected: { rows: 200000, encoding: 'postgres-binary-copy' } });
    expect(await summary('dst_local')).toEqual(await summary('src'));
    expect(await leftovers()).toEqual([]);
  });

  it('spreads the chunks over agents on the PostgreSQL store; each chunk runs once', async () => {
    const store = await createPostgresTaskStore({ url: db.url, schema: 'honk_chunks_store' });
    try {
      await store.enqueue([{ id: 'fleet', definition: task('fleet', 'src', 'dst_fleet') as never }]);
      const agents = [1, 2, 3].map(
        (n) => new Agent({ store, connectors: registry, id: `a${n}`, concurrency: 1, pollMs: 50 }),
      );
      await Promise.all(agents.map((agent) => agent.runUntilIdle()));
      await Promise.all(agents.map((agent) => agent.stop()));
      const parent = (await store.get('fleet')) as TaskRecord;
      expect(parent.lastError).toBeUndefined();
      expect(parent.state).toBe('succeeded');
      const chunks = await store.list({ ids: [0, 1, 2, 3].map((index) => `fleet#${index}`) });
      expect(chunks.map((chunk) => [chunk.state, chunk.attempts])).toEqual(Array(4).fill(['succeeded', 1]));
      expect(new Set(chunks.map((chunk) => chunk.history[0]?.agentId)).size).toBeGreaterThan(1);
      expect(await summary('dst_fleet')).toEqual(await summary('src'));
      expect(await leftovers()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reuses a chunk committed by an attempt that never reported, and stages a chunk once when two attempts race', async () => {
    const definition = task('race', 'src', 'dst_race', { chunks: { max: 2 } });
    const table = { schema: 'public', table: 'src' };
    const source = new PostgresSource({
      options: { url: db.url },
      target: { table },
      partitionBy: { column: 'id' },
      context: context('race'),
    });
    const [first] = await source.partitions({ max: 2 });
    const schema = await source.schema();
    await source.close();
    // The chunk's ref, as planChunks records it.
    const ref = { partition: first!.ref, schema: schemaHash(schemaLines(schema)) };
    const [a, b] = await Promise.all([
      runChunk({ task: definition, connectors: registry, chunk: { index: 0, plan: 'p1', ref } }),
      runChunk({ task: definition, connectors: registry, chunk: { index: 0, plan: 'p1', ref } }),
    ]);
    expect([a.ok, b.ok]).toEqual([true, true]);
    expect([a.chunk?.reused, b.chunk?.reused].sort()).toEqual([false, true]);
    const again = await runChunk({ task: definition, connectors: registry, chunk: { index: 0, plan: 'p1', ref } });
    expect(again.chunk).toMatchObject({ reused: true, result: { rows: a.chunk?.result.rows } });
    const sink = new PostgresSink({
      options: { url: db.url },
      table: { schema: 'public', table: 'dst_race' },
      context: context('race'),
    });
    const staging = await sink.openChunked(schema, {
      signal: new AbortController().signal,
      mode: 'replace',
      plan: 'p1',
    });
    const writer = await staging.finish([chunkName(0)]);
    const staged = await writer.stage();
    expect(staged.rows).toBe(a.chunk?.result.rows);
    expect(await count(`public.${(staged.ref as { table: string }).table}`)).toBe(a.chunk?.result.rows);
    await writer.abort();
    await staging.close?.();
    expect(await leftovers()).toEqual([]);
  });

  it('catches writes to the source during the task, reads it again and publishes the state after them', async () => {
    await db.sql('CREATE TABLE busy AS SELECT * FROM src WHERE id <= 40000');
    const store = await createPostgresTaskStore({ url: db.url, schema: 'honk_chunks_busy' });
    try {
      await store.enqueue([{ id: 'busy', definition: task('busy', 'busy', 'dst_busy') as never, maxAttempts: 4 }]);
      const agent = new Agent({
        store,
        connectors: registry,
        id: 'a',
        concurrency: 1,
        pollMs: 50,
        retry: { initialMs: 1, maxMs: 10 },
      });
      let wrote = false;
      agent.events.on('task-succeeded', (event) => {
        if (event.taskId === 'busy#0' && !wrote) {
          wrote = true;
          // Updates a row of the first chunk (already read) and inserts one past the planned key range.
          void db.sql(
            `UPDATE busy SET name = 'changed' WHERE id = 5; INSERT INTO busy (id, name) VALUES (999999, 'late')`,
          );
        }
      });
      await agent.runUntilIdle();
      await agent.stop();
      const parent = (await store.get('busy')) as TaskRecord;
      expect(parent.state).toBe('succeeded');
      expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toContain('SOURCE_CHANGED');
      expect(await summary('dst_busy')).toEqual(await summary('busy'));
      expect(
        (await db.sql(`SELECT name FROM dst_busy WHERE id IN (5, 999999) ORDER BY id`)).map((row) => row.name),
      ).toEqual(['changed', 'late']);
      expect(await leftovers()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('appends the chunks’ rows (the Arrow path, through a transform)', async () => {
    await db.sql('CREATE TABLE dst_append (LIKE src INCLUDING ALL)');
    const definition = task('append', 'src', 'dst_append', {
      target: {
        connector: 'postgres',
        connection: 'dst',
        options: { url: db.url },
        endpoint: { table: 'dst_append' },
        mode: 'append',
      },
      transform: { select: ['id', 'name'] },
    });
    const report = await runTask({ task: definition, connectors: registry });
    expect(report.error).toBeUndefined();
    expect(report.path).toBe('arrow');
    expect(await count('dst_append')).toBe(200000);
    expect(await leftovers()).toEqual([]);
  });
});

/**
 * Several tasks writing into a freshly created database at the same time. The sink's own
 * objects (`_honk_applied`, `_honk_snapshots`) do not exist yet, so every task races to
 * create them; `CREATE TABLE IF NOT EXISTS` alone is not safe under concurrency in
 * PostgreSQL (unique_violation on pg_type). Each case gets its own `CREATE DATABASE` and is
 * repeated, with real connections through core's `runTask`.
 */
import { ConnectorRegistry, runTask, type TaskDefinition } from '@honk/core';
import { describe, expect, it } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { context, createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

const registry = new ConnectorRegistry([postgresConnector]);
const TASKS = 4;
const ROUNDS = 3;
const MODES = ['replace', 'append', 'merge'] as const;
type Mode = (typeof MODES)[number];

function task(db: TestDatabase, id: string, query: string, table: string, mode: Mode): TaskDefinition {
  const endpoint = (value: Record<string, unknown>) => ({
    connector: 'postgres',
    connection: 'pg',
    options: { url: db.url },
    endpoint: value,
  });
  return {
    id,
    source: endpoint({ query }),
    target: { ...endpoint({ table }), mode, ...(mode === 'merge' ? { key: ['id'] } : {}) },
    validate: { rowCount: true, checksum: true, sample: 5, schema: false },
  } as TaskDefinition;
}

/** Runs the tasks at once; every report must be ok. */
async function runAll(tasks: TaskDefinition[]): Promise<void> {
  const reports = await Promise.all(
    tasks.map((definition) => runTask({ task: definition, connectors: registry, progressIntervalMs: 0 })),
  );
  const failures = reports
    .filter((report) => !report.ok)
    .map((report) => `${report.error?.code}: ${report.error?.message}`);
  expect(failures).toEqual([]);
}

/** Rows `from`..`to` as the query a task reads. */
function slice(from: number, to: number, label: string): string {
  return `SELECT g::int8 AS id, '${label}' || g AS v FROM generate_series(${from}, ${to}) g`;
}

async function ids(db: TestDatabase, table: string): Promise<Array<{ id: number; v: string }>> {
  return db.sql(`SELECT id::int AS id, v FROM ${table} ORDER BY id`);
}

function expected(from: number, to: number, label: string): Array<{ id: number; v: string }> {
  return Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, v: `${label}${from + i}` }));
}

async function inFreshDatabase(run: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await run(db);
  } finally {
    await db.drop();
  }
}

describe.each(MODES)('%s: concurrent tasks into a fresh database', (mode) => {
  it.each(Array.from({ length: ROUNDS }, (_, round) => round))(
    `round %i: ${TASKS} tasks into their own existing targets (snapshots on) all succeed`,
    async () => {
      await inFreshDatabase(async (db) => {
        for (let t = 0; t < TASKS; t++) {
          await db.sql(`CREATE TABLE "target ${t}" (id int8 PRIMARY KEY, v text)`);
          await db.sql(`INSERT INTO "target ${t}" VALUES (1000, 'kept')`);
          // merge overwrites a row; replace drops it (append would collide with the key: no stale row there).
          if (mode !== 'append') await db.sql(`INSERT INTO "target ${t}" VALUES (1, 'stale')`);
        }
        await runAll(
          Array.from({ length: TASKS }, (_, t) =>
            task(db, `own-${t}`, slice(1, 10 + t, `t${t}-`), `"target ${t}"`, mode),
          ),
        );
        for (let t = 0; t < TASKS; t++) {
          const rows = await ids(db, `"target ${t}"`);
          const fresh = expected(1, 10 + t, `t${t}-`);
          expect(rows).toEqual(mode === 'replace' ? fresh : [...fresh, { id: 1000, v: 'kept' }]);
        }
      });
    },
  );

  it.each(Array.from({ length: ROUNDS }, (_, round) => round))(
    `round %i: ${TASKS} tasks into one target that does not exist yet all succeed`,
    async () => {
      await inFreshDatabase(async (db) => {
        await runAll(
          Array.from({ length: TASKS }, (_, t) =>
            task(db, `shared-${t}`, slice(t * 100 + 1, t * 100 + 50, `s${t}-`), 'shared', mode),
          ),
        );
        const rows = await ids(db, 'shared');
        if (mode === 'replace') {
          // The last publish wins; it is one of the four slices, whole.
          const winner = rows[0]!.id === 1 ? 0 : Math.floor(rows[0]!.id / 100);
          expect(rows).toEqual(expected(winner * 100 + 1, winner * 100 + 50, `s${winner}-`));
        } else {
          expect(rows).toEqual(
            Array.from({ length: TASKS }, (_, t) => expected(t * 100 + 1, t * 100 + 50, `s${t}-`)).flat(),
          );
        }
      });
    },
  );
});

it.each(Array.from({ length: ROUNDS }, (_, round) => round))(
  `round %i: ${TASKS} snapshots taken at once in a fresh database all succeed and restore`,
  async () => {
    await inFreshDatabase(async (db) => {
      for (let t = 0; t < TASKS; t++) {
        await db.sql(`CREATE TABLE "snap ${t}" AS SELECT ${t}::int8 AS id, 'old'::text AS v`);
      }
      const snapshots = await Promise.all(
        Array.from({ length: TASKS }, (_, t) =>
          postgresConnector.createSnapshot!({
            options: { url: db.url },
            endpoint: { table: `"snap ${t}"` },
            context: context(`snap-${t}`),
          }),
        ),
      );
      const refs = await Promise.all(snapshots.map((snapshot) => snapshot.take()));
      expect(refs.every((ref) => ref !== null)).toBe(true);
      await runAll(
        Array.from({ length: TASKS }, (_, t) => ({
          ...task(db, `snap-${t}`, `SELECT ${t}::int8 AS id, 'new'::text AS v`, `"snap ${t}"`, 'replace'),
          snapshot: { enabled: false },
        })),
      );
      await Promise.all(snapshots.map((snapshot, t) => snapshot.restore(refs[t]!)));
      for (let t = 0; t < TASKS; t++) expect(await ids(db, `"snap ${t}"`)).toEqual([{ id: t, v: 'old' }]);
    });
  },
);

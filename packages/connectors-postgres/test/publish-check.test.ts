/**
 * The post-publish check: before the publish transaction commits, the sink looks the target
 * up by its exact schema and table name in the catalog and checks that it is the table the
 * staged rows went into, holding them. A database that quietly moves or drops what Honk
 * wrote (an event trigger renaming the table, a trigger swallowing rows) must fail the task
 * loudly, with nothing published, instead of reporting success for a table it did not write.
 * Event triggers act on the whole database, so each case gets its own.
 */
import { ConnectorRegistry, runTask, type TaskDefinition } from '@honk/core';
import { describe, expect, it } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

const registry = new ConnectorRegistry([postgresConnector]);

function task(db: TestDatabase, id: string, table: string, mode: 'replace' | 'append' | 'merge'): TaskDefinition {
  const endpoint = (value: Record<string, unknown>) => ({
    connector: 'postgres',
    connection: 'pg',
    options: { url: db.url },
    endpoint: value,
  });
  return {
    id,
    source: endpoint({ query: `SELECT g::int8 AS id, 'new ' || g AS v FROM generate_series(1, 10) g` }),
    target: { ...endpoint({ table }), mode, ...(mode === 'merge' ? { key: ['id'] } : {}) },
    snapshot: { enabled: false },
  } as TaskDefinition;
}

async function withDatabase(run: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase();
  try {
    await run(db);
  } finally {
    await db.drop();
  }
}

describe('post-publish check', () => {
  it('passes for ordinary publishes, also a merge whose columns are all key columns over existing rows', async () => {
    await withDatabase(async (db) => {
      await db.sql('CREATE TABLE tags (id int8, v text, PRIMARY KEY (id, v))');
      await db.sql(`INSERT INTO tags VALUES (1, 'new 1'), (2, 'other')`);
      const definition = task(db, 'all-key', 'tags', 'merge');
      definition.target.key = ['id', 'v'];
      for (let run = 0; run < 2; run++) {
        const report = await runTask({ task: definition, connectors: registry });
        expect(report.error).toBeUndefined();
      }
      expect(await db.sql('SELECT count(*)::int AS n FROM tags')).toEqual([{ n: 11 }]);
      for (const mode of ['replace', 'append'] as const) {
        const report = await runTask({ task: task(db, `plain-${mode}`, `plain_${mode}`, mode), connectors: registry });
        expect(report.error).toBeUndefined();
        expect(await db.sql(`SELECT count(*)::int AS n FROM plain_${mode}`)).toEqual([{ n: 10 }]);
      }
    });
  });

  it('replace fails, publishing nothing, when the table ends up under another name', async () => {
    await withDatabase(async (db) => {
      await db.sql(`CREATE TABLE "Diverted" (id int8 PRIMARY KEY, v text); INSERT INTO "Diverted" VALUES (1, 'old')`);
      // Whatever gets renamed to "Diverted" is renamed on to "Elsewhere" in the same transaction.
      await db.sql(`CREATE FUNCTION divert() RETURNS event_trigger LANGUAGE plpgsql AS $$
        DECLARE command record;
        BEGIN
          FOR command IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
            IF command.object_identity = 'public."Diverted"' AND command.command_tag = 'ALTER TABLE' THEN
              EXECUTE 'ALTER TABLE public."Diverted" RENAME TO "Elsewhere"';
            END IF;
          END LOOP;
        END $$`);
      await db.sql(
        `CREATE EVENT TRIGGER divert ON ddl_command_end WHEN TAG IN ('ALTER TABLE') EXECUTE FUNCTION divert()`,
      );
      const report = await runTask({ task: task(db, 'divert', '"Diverted"', 'replace'), connectors: registry });
      expect(report.ok).toBe(false);
      expect(report.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        retryable: false,
        message: expect.stringContaining('"public"."Diverted"'),
      });
      await db.sql('DROP EVENT TRIGGER divert');
      expect(await db.sql(`SELECT id::int, v FROM "Diverted"`)).toEqual([{ id: 1, v: 'old' }]);
      expect(await db.sql(`SELECT to_regclass('"Elsewhere"') AS t`)).toEqual([{ t: null }]);
      expect(await db.sql(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE '\\_honk\\_stage%'`)).toEqual([
        { n: 0 },
      ]);
    });
  });

  it.each(['append', 'merge'] as const)(
    '%s fails, publishing nothing, when the target does not take every row',
    async (mode) => {
      await withDatabase(async (db) => {
        await db.sql(`CREATE TABLE swallow (id int8 PRIMARY KEY, v text); INSERT INTO swallow VALUES (1000, 'kept')`);
        // A trigger that silently drops even ids: the INSERT "succeeds" with fewer rows.
        await db.sql(`CREATE FUNCTION drop_even() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id % 2 = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$`);
        await db.sql('CREATE TRIGGER drop_even BEFORE INSERT ON swallow FOR EACH ROW EXECUTE FUNCTION drop_even()');
        const report = await runTask({ task: task(db, `swallow-${mode}`, 'swallow', mode), connectors: registry });
        expect(report.ok).toBe(false);
        expect(report.error).toMatchObject({
          code: 'VALIDATION_FAILED',
          retryable: false,
          message: expect.stringMatching(/"public"."swallow".*10 staged rows.*5/),
        });
        expect(await db.sql('SELECT id::int, v FROM swallow ORDER BY id')).toEqual([{ id: 1000, v: 'kept' }]);
        if (mode === 'append') {
          // Nothing was recorded as applied: once the trigger is fixed, a re-run appends.
          expect(await db.sql('SELECT count(*)::int AS n FROM _honk_applied')).toEqual([{ n: 0 }]);
          await db.sql('DROP TRIGGER drop_even ON swallow');
          const again = await runTask({ task: task(db, `swallow-${mode}`, 'swallow', mode), connectors: registry });
          expect(again.error).toBeUndefined();
          expect(await db.sql('SELECT count(*)::int AS n FROM swallow')).toEqual([{ n: 11 }]);
        }
      });
    },
  );
});

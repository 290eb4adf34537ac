/**
 * Incremental tasks, PostgreSQL → PostgreSQL, against the real test server: a re-run moves
 * only the rows past the high-water mark the target keeps, the target equals the source
 * afterwards (checked by independent SQL, not by Honk), rows arriving late at the mark's
 * value arrive once, and a crash right after the publish neither skips nor repeats rows.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Agent,
  ConnectorRegistry,
  createMemoryTaskStore,
  parseSpec,
  planTask,
  runTask,
  type Sink,
  type TaskDefinition,
  type TaskReport,
  TransientError,
} from '@honk/core';
import { createMemoryConnector, MemoryStorage } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTaskStore, INCREMENTAL_TABLE, type PostgresSink, postgresConnector } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const registry = () => new ConnectorRegistry([postgresConnector]);

function pg(endpoint: Record<string, unknown>) {
  return { connector: 'postgres', connection: 'pg', options: { url: db.url }, endpoint };
}

function task(
  id: string,
  source: Record<string, unknown>,
  target: string,
  incremental: TaskDefinition['incremental'],
  mode: 'append' | 'merge' = 'merge',
): TaskDefinition {
  return {
    id,
    source: pg(source),
    target: { ...pg({ table: target }), mode, ...(mode === 'merge' ? { key: ['id'] } : {}) },
    incremental,
  };
}

async function run(definition: TaskDefinition, connectors = registry()): Promise<TaskReport> {
  const report = await runTask({ task: definition, connectors });
  expect(report.error, JSON.stringify(report.error)).toBeUndefined();
  return report;
}

/** Count and an md5 over every row's text in key order: computed by the server, independent of Honk. */
async function fingerprint(table: string, order = 'id'): Promise<{ n: number; h: string }> {
  const [row] = await db.sql(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}, t::text), '')) AS h FROM ${table} t`,
  );
  return row;
}

async function createOrders(table: string, rows: number): Promise<void> {
  await db.sql(
    `CREATE TABLE ${table} (id int8 PRIMARY KEY, customer text, amount numeric(12,2), updated_at timestamptz NOT NULL)`,
  );
  await db.sql(`CREATE INDEX ON ${table} (updated_at)`);
  await db.sql(
    `INSERT INTO ${table} SELECT g, 'customer ' || (g % 97), g * 1.25, timestamptz '2026-01-01 00:00:00Z' + g * interval '1 second'
       FROM generate_series(1, ${rows}) g`,
  );
}

describe('incremental PostgreSQL → PostgreSQL', () => {
  it('a re-run moves only the new and changed rows, and the target equals the source (done-when)', async () => {
    await createOrders('orders', 20_000);
    const definition = task('orders', { table: 'orders' }, 'orders_copy', { cursor: 'updated_at' });

    const first = await run(definition);
    expect(first.incremental).toMatchObject({
      cursor: 'updated_at',
      from: null,
      to: '2026-01-01T05:33:20.000000Z',
      runs: 1,
      reread: false,
      rowsRead: 20_000,
      rowsWritten: 20_000,
    });
    expect(first.validation?.ok).toBe(true);
    // No transform: the increment's COPY bytes are forwarded as they are.
    expect(first.path).toBe('raw');
    expect(await fingerprint('orders_copy')).toEqual(await fingerprint('orders'));

    // 300 new rows, 200 updated ones (their cursor moves past the mark), nothing else touched.
    await db.sql(
      `INSERT INTO orders SELECT g, 'late ' || g, g * 2.5, timestamptz '2026-02-01 00:00:00Z' + g * interval '1 ms'
         FROM generate_series(20001, 20300) g`,
    );
    await db.sql(
      `UPDATE orders SET amount = amount + 1, updated_at = timestamptz '2026-02-02 00:00:00Z' + id * interval '1 ms' WHERE id % 100 = 0`,
    );
    expect(await fingerprint('orders_copy')).not.toEqual(await fingerprint('orders'));

    const second = await run(definition);
    expect(second.incremental).toMatchObject({
      from: '2026-01-01T05:33:20.000000Z',
      runs: 2,
      reread: false,
      rowsRead: 500,
      rowsWritten: 500,
    });
    expect(second.stats.rows).toBe(500);
    expect(second.validation?.checks.find((check) => check.name === 'row-count')).toMatchObject({
      expected: 500,
      actual: 500,
      ok: true,
    });
    expect(await fingerprint('orders_copy')).toEqual(await fingerprint('orders'));

    // Nothing changed: nothing is read, nothing written, the mark stays.
    const third = await run(definition);
    expect(third.incremental).toMatchObject({ from: second.incremental!.to, to: second.incremental!.to, runs: 3 });
    expect(third.incremental?.rowsRead).toBe(0);
    expect(third.incremental?.rowsWritten).toBe(0);
    expect(third.incremental?.range).toMatch(/^nothing new after "updated_at" = /);
    expect(await fingerprint('orders_copy')).toEqual(await fingerprint('orders'));

    // The mark at the target is the truth; the report shows the same.
    const [stored] = await db.sql(`SELECT mark, runs, rows FROM public.${INCREMENTAL_TABLE} WHERE task_id = 'orders'`);
    expect(stored).toMatchObject({
      runs: '3',
      rows: '0',
      mark: { cursor: 'updated_at', value: third.incremental!.to },
    });
  });

  it('a row that arrives later with exactly the mark’s value arrives, once (merge and append)', async () => {
    for (const mode of ['merge', 'append'] as const) {
      const source = `late_${mode}`;
      const target = `late_${mode}_copy`;
      await db.sql(`CREATE TABLE ${source} (id int8 PRIMARY KEY, note text, at timestamp NOT NULL)`);
      await db.sql(
        `INSERT INTO ${source} SELECT g, 'n' || g, timestamp '2026-03-01 10:00:00' + (g / 2) * interval '1 minute' FROM generate_series(1, 9) g`,
      );
      const definition = task(`late-${mode}`, { table: source }, target, { cursor: 'at' }, mode);
      const first = await run(definition);
      // 9 / 2 = 4: ids 8 and 9 share the mark's value.
      expect(first.incremental?.to).toBe('2026-03-01T10:04:00.000000');

      // A transaction that took its timestamp before the last run commits only now.
      await db.sql(`INSERT INTO ${source} VALUES (10, 'late', timestamp '2026-03-01 10:04:00')`);
      const second = await run(definition);
      expect(second.incremental).toMatchObject({
        reread: true,
        runs: 2,
        rowsRead: 3,
        rowsWritten: mode === 'append' ? 1 : 3,
      });
      expect(second.incremental?.range).toBe(
        `"at" >= '2026-03-01T10:04:00.000000'::timestamp AND "at" <= '2026-03-01T10:04:00.000000'::timestamp`,
      );
      expect(await fingerprint(target)).toEqual(await fingerprint(source));

      // The group at the mark is unchanged now: not read again.
      const third = await run(definition);
      expect(third.incremental).toMatchObject({ reread: false, rowsRead: 0 });
      expect(await fingerprint(target)).toEqual(await fingerprint(source));
    }
  });

  it('an integer key cursor, an append target and a query source', async () => {
    await db.sql(`CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text, payload jsonb)`);
    await db.sql(
      `INSERT INTO events (kind, payload) SELECT 'k' || (g % 3), jsonb_build_object('g', g) FROM generate_series(1, 1000) g`,
    );
    const definition = task(
      'events',
      { query: `SELECT id, kind, payload FROM events WHERE kind <> 'k0'` },
      'events_copy',
      { cursor: 'id' },
      'append',
    );
    const first = await run(definition);
    expect(first.incremental).toMatchObject({ from: null, to: '1000', rowsRead: 667 });
    await db.sql(
      `INSERT INTO events (kind, payload) SELECT 'k' || (g % 3), jsonb_build_object('g', g) FROM generate_series(1, 30) g`,
    );
    const second = await run(definition);
    expect(second.incremental).toMatchObject({ from: '1000', to: '1029', rowsRead: 20, rowsWritten: 20 });
    expect(await fingerprint('events_copy')).toEqual(
      await fingerprint(`(SELECT id, kind, payload FROM events WHERE kind <> 'k0')`),
    );
  });

  it('reads the increment by key ranges with partitionBy', async () => {
    await createOrders('parted', 5_000);
    const definition = task(
      'parted',
      { table: 'parted', partitionBy: { column: 'id', partitions: 3 } },
      'parted_copy',
      {
        cursor: 'updated_at',
      },
    );
    await run(definition);
    await db.sql(`UPDATE parted SET customer = 'moved', updated_at = updated_at + interval '10 days' WHERE id % 7 = 0`);
    const second = await run(definition);
    expect(second.incremental?.rowsRead).toBe(714);
    expect(await fingerprint('parted_copy')).toEqual(await fingerprint('parted'));
  });

  it('with lag, rows newer than now − lag wait for a later run', async () => {
    await db.sql(`CREATE TABLE lagged (id int8 PRIMARY KEY, at timestamptz NOT NULL)`);
    await db.sql(
      `INSERT INTO lagged VALUES (1, now() - interval '3 hours'), (2, now() - interval '2 hours'), (3, now())`,
    );
    const definition = task('lagged', { table: 'lagged' }, 'lagged_copy', { cursor: 'at', lagMs: 3_600_000 });
    const report = await run(definition);
    expect(report.incremental?.rowsRead).toBe(2);
    expect(await db.sql('SELECT id::int FROM lagged_copy ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    await db.sql(`UPDATE lagged SET at = now() - interval '90 minutes' WHERE id = 3`);
    expect((await run(definition)).incremental?.rowsRead).toBe(1);
    expect(await fingerprint('lagged_copy')).toEqual(await fingerprint('lagged'));
  });

  it('a crash right after the publish neither skips nor repeats rows on the retry', async () => {
    await createOrders('crash_src', 3_000);
    // A sink whose publish commits for real and then "crashes" before anyone hears of it.
    let crashes = 1;
    const real = postgresConnector;
    const crashing = {
      ...real,
      createSink: async (args: Parameters<NonNullable<typeof real.createSink>>[0]) => {
        const sink = (await real.createSink!(args)) as PostgresSink;
        const wrapped: Sink = {
          describe: () => sink.describe(),
          check: (schema, options) => sink.check(schema, options),
          incrementalMark: (key) => sink.incrementalMark(key),
          open: async (schema, options) => {
            const writer = await sink.open(schema, options);
            return {
              ...writer,
              publish: async () => {
                const result = await writer.publish();
                if (crashes-- > 0) throw new TransientError('simulated crash right after the publish committed');
                return result;
              },
            };
          },
        };
        return wrapped;
      },
    };
    const definition = task('crash', { table: 'crash_src' }, 'crash_copy', { cursor: 'updated_at' }, 'append');
    await run(definition);
    await db.sql(
      `INSERT INTO crash_src SELECT g, 'new', g, timestamptz '2026-05-01 00:00:00Z' + g * interval '1 ms' FROM generate_series(3001, 3250) g`,
    );

    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'crash', definition: definition as never, maxAttempts: 3 }]);
    const agent = new Agent({
      store,
      connectors: new ConnectorRegistry([crashing]),
      concurrency: 1,
      retry: { initialMs: 1, maxMs: 1, factor: 1, jitter: false },
      circuitBreaker: false,
    });
    await agent.runUntilIdle();
    await agent.stop({ drain: true });
    const record = (await store.get('crash'))!;
    expect(record.state).toBe('succeeded');
    expect(record.history.map((attempt) => attempt.outcome)).toEqual(['failed', 'succeeded']);
    expect(record.history[0]!.error?.code).toBe('TRANSIENT');
    // The first attempt's publish committed the rows and the mark together; the retry found nothing new.
    expect((record.report as unknown as TaskReport).incremental).toMatchObject({
      runs: 3,
      rowsRead: 0,
      rowsWritten: 0,
    });
    expect(await fingerprint('crash_copy')).toEqual(await fingerprint('crash_src'));
    expect(
      await db.sql('SELECT count(*)::int AS n FROM (SELECT id FROM crash_copy GROUP BY id HAVING count(*) > 1) d'),
    ).toEqual([{ n: 0 }]);
    await store.close();
  });

  it('an agent SIGKILLed right after the publish: the agent that takes over moves nothing twice', async () => {
    await createOrders('killed_src', 2_000);
    const definition = task('killed', { table: 'killed_src' }, 'killed_copy', { cursor: 'updated_at' }, 'append');
    await run(definition);
    await db.sql(
      `INSERT INTO killed_src SELECT g, 'new', g, timestamptz '2026-06-01 00:00:00Z' + g * interval '1 ms' FROM generate_series(2001, 2400) g`,
    );
    const options = { url: db.url, schema: 'honk_kill' };
    const store = await createPostgresTaskStore(options);
    try {
      await store.enqueue([{ id: 'killed', definition: definition as never, maxAttempts: 3 }]);
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./fixtures/incremental-kill-agent.ts', import.meta.url))],
        {
          env: { ...process.env, HONK_STORE_URL: db.url, HONK_STORE_SCHEMA: options.schema },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const signal = await new Promise((resolve) => child.once('exit', (_code, killed) => resolve(killed)));
      expect(signal, stderr).toBe('SIGKILL');
      // The increment and its mark committed; the store still thinks the task runs.
      expect(await fingerprint('killed_copy')).toEqual(await fingerprint('killed_src'));
      expect((await store.get('killed'))?.state).toBe('running');

      // Once the dead agent's lease expires, another agent takes the task over.
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      const agent = new Agent({ store, connectors: registry(), id: 'survivor', leaseMs: 5_000, circuitBreaker: false });
      await agent.runUntilIdle({ waitForMs: 5_000 });
      await agent.stop({ drain: true });
      const record = (await store.get('killed'))!;
      expect(record.state).toBe('succeeded');
      expect(record.history.map((attempt) => attempt.outcome)).toEqual(['lease-expired', 'succeeded']);
      expect((record.report as unknown as TaskReport).incremental).toMatchObject({ runs: 3, rowsRead: 0 });
      expect(await fingerprint('killed_copy')).toEqual(await fingerprint('killed_src'));
    } finally {
      await store.close();
    }
  });

  it('a publish that fails before COMMIT leaves rows and mark as they were; the retry moves the rows', async () => {
    await createOrders('fail_src', 1_000);
    const definition = task('fail', { table: 'fail_src' }, 'fail_copy', { cursor: 'updated_at' }, 'append');
    await run(definition);
    await db.sql(`INSERT INTO fail_src VALUES (1001, 'x', 1, '2027-01-01Z'), (1002, 'y', 2, '2027-01-02Z')`);
    // A trigger that fails the INSERT into the target inside the publish transaction.
    await db.sql(
      `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
    );
    await db.sql('CREATE TRIGGER refuse BEFORE INSERT ON fail_copy FOR EACH ROW EXECUTE FUNCTION refuse()');
    const failed = await runTask({ task: definition, connectors: registry() });
    expect(failed.ok).toBe(false);
    const [mark] = await db.sql(`SELECT runs FROM public.${INCREMENTAL_TABLE} WHERE task_id = 'fail'`);
    expect(mark).toEqual({ runs: '1' });
    await db.sql('DROP TRIGGER refuse ON fail_copy');
    const retried = await run(definition);
    expect(retried.incremental).toMatchObject({ runs: 2, rowsRead: 2, rowsWritten: 2 });
    expect(await fingerprint('fail_copy')).toEqual(await fingerprint('fail_src'));
  });

  it('a publish over a mark that moved since the run read it fails as transient, publishing nothing', async () => {
    await createOrders('race_src', 500);
    const definition = task('race', { table: 'race_src' }, 'race_copy', { cursor: 'updated_at' }, 'append');
    await run(definition);
    await db.sql(`INSERT INTO race_src VALUES (501, 'x', 1, '2027-01-01Z')`);
    // Run A reads its increment; before it publishes, run B of the same task publishes the same rows.
    const a = await runTask({
      task: definition,
      connectors: registry(),
      beforePublish: async () => {
        await run(definition);
      },
    });
    expect(a.ok).toBe(false);
    expect(a.error).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(a.error?.message).toMatch(/moved while this run read its increment/);
    expect(await fingerprint('race_copy')).toEqual(await fingerprint('race_src'));
    expect((await run(definition)).incremental).toMatchObject({ runs: 3, rowsRead: 0 });
  });

  it('the first increment is not appended into a table that already holds rows', async () => {
    await createOrders('prefilled', 50);
    await db.sql('CREATE TABLE prefilled_copy AS TABLE prefilled');
    const report = await runTask({
      task: task('prefilled', { table: 'prefilled' }, 'prefilled_copy', { cursor: 'updated_at' }, 'append'),
      connectors: registry(),
    });
    expect(report.error).toMatchObject({ code: 'CONFIG_INVALID', retryable: false });
    expect(report.error?.message).toMatch(/already holds rows, but no high-water mark of task "prefilled"/);
    expect(await db.sql('SELECT count(*)::int AS n FROM prefilled_copy')).toEqual([{ n: 50 }]);
    // Merge updates rows in place: allowed.
    await db.sql(
      'CREATE TABLE prefilled_merged (LIKE prefilled INCLUDING ALL); INSERT INTO prefilled_merged TABLE prefilled',
    );
    await run(task('prefilled-m', { table: 'prefilled' }, 'prefilled_merged', { cursor: 'updated_at' }));
    expect(await fingerprint('prefilled_merged')).toEqual(await fingerprint('prefilled'));
  });

  it('a scheduled run continues its task’s mark', async () => {
    await createOrders('sched', 100);
    const definition = task('sched', { table: 'sched' }, 'sched_copy', { cursor: 'updated_at' });
    await run(definition);
    await db.sql(`INSERT INTO sched VALUES (101, 'x', 1, '2027-01-01Z')`);
    const scheduled = { ...definition, id: 'sched@20270101T000000Z', meta: { scheduledFrom: 'sched' } };
    expect((await run(scheduled)).incremental).toMatchObject({ runs: 2, rowsRead: 1 });
  });

  it('every fullCheckEvery runs compares the whole target with the source, and reports drift', async () => {
    await createOrders('checked', 2_000);
    const definition = task('checked', { table: 'checked' }, 'checked_copy', {
      cursor: 'updated_at',
      fullCheckEvery: 2,
    });
    expect((await run(definition)).incremental?.fullCheck).toBeUndefined();
    const second = await run(definition);
    expect(second.incremental?.fullCheck).toMatchObject({ ok: true });
    expect(second.incremental?.fullCheck?.checks.find((check) => check.name === 'row-count')).toMatchObject({
      expected: 2_000,
      actual: 2_000,
    });
    // Deletes are not moved by increments: the full check finds the difference.
    await db.sql('DELETE FROM checked WHERE id <= 3');
    await db.sql(`INSERT INTO checked VALUES (2001, 'x', 1, '2027-01-01Z')`);
    await run(definition);
    const fourth = await runTask({ task: definition, connectors: registry() });
    expect(fourth.ok).toBe(false);
    expect(fourth.error).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(fourth.error?.message).toMatch(/full check of run 4 found that the target differs/);
    expect(fourth.published).toBeDefined();
    expect(fourth.restored).toBeUndefined();
    expect(fourth.incremental?.fullCheck?.checks.find((check) => check.name === 'row-count')).toMatchObject({
      expected: 1_998,
      actual: 2_001,
      ok: false,
    });
    // The increment itself stayed published with its mark.
    expect(await db.sql('SELECT count(*)::int AS n FROM checked_copy WHERE id = 2001')).toEqual([{ n: 1 }]);
  });
});

describe('incremental configuration errors, at plan time', () => {
  beforeAll(async () => {
    await createOrders('conf', 10);
    await db.sql(`CREATE TABLE conf_text (id int8 PRIMARY KEY, code text)`);
  });

  async function plan(definition: TaskDefinition, connectors = registry()) {
    const result = await planTask({ task: definition, connectors });
    expect(result.ok).toBe(false);
    return result.error!;
  }

  it('replace mode is refused, naming target.mode (spec and task definition)', async () => {
    const definition = { ...task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'updated_at' }) };
    definition.target = { ...definition.target, mode: 'replace' };
    const error = await plan(definition);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', details: { path: 'target.mode' } });
    expect(error.message).toMatch(/target.mode is "replace".*"append" or "merge"/);

    const spec = {
      version: 1,
      connections: { pg: { connector: 'postgres', url: 'postgres://localhost/x' } },
      tasks: [
        {
          id: 't',
          source: { connection: 'pg', table: 'a' },
          target: { connection: 'pg', table: 'b' },
          incremental: { cursor: 'updated_at' },
        },
      ],
    };
    expect(() => parseSpec(spec)).toThrow(/tasks\[0\]\.target\.mode.*incremental task publishes each increment/s);
  });

  it('a missing or unorderable cursor column, and lag on a key cursor, name the column', async () => {
    const missing = await plan(task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'modified_at' }));
    expect(missing).toMatchObject({
      code: 'CONFIG_INVALID',
      details: { path: 'incremental.cursor', cursor: 'modified_at' },
    });
    expect(missing.message).toMatch(
      /"modified_at" is not a column of the source. Its columns: id, customer, amount, updated_at/,
    );

    const text = await plan(task('conf', { table: 'conf_text' }, 'conf_copy', { cursor: 'code' }));
    expect(text).toMatchObject({ code: 'CONFIG_INVALID', details: { cursor: 'code', type: 'utf8' } });
    expect(text.message).toMatch(/"code" is utf8; a cursor must be an integer, decimal, date or timestamp/);

    const lag = await plan(task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'id', lagMs: 1000 }));
    expect(lag).toMatchObject({ code: 'CONFIG_INVALID', details: { path: 'incremental.lag' } });
  });

  it('a target that cannot commit a mark with its publish, and a source that cannot read increments, are refused', async () => {
    const memory = createMemoryConnector({ default: new MemoryStorage() });
    const connectors = new ConnectorRegistry([postgresConnector, memory]);
    const toMemory: TaskDefinition = {
      id: 'conf',
      source: pg({ table: 'conf' }),
      target: { connector: 'memory', connection: 'mem', options: {}, endpoint: { name: 'x' }, mode: 'append' },
      incremental: { cursor: 'updated_at' },
    };
    const sink = await plan(toMemory, connectors);
    expect(sink.code).toBe('CAPABILITY_MISSING');
    expect(sink.message).toMatch(/"memory" cannot commit a high-water mark atomically with its publish/);

    const fromMemory: TaskDefinition = {
      id: 'conf',
      source: { connector: 'memory', connection: 'mem', options: {}, endpoint: { name: 'x' } },
      target: { ...pg({ table: 'conf_copy' }), mode: 'append' },
      incremental: { cursor: 'updated_at' },
    };
    const source = await plan(fromMemory, connectors);
    expect(source.code).toBe('CAPABILITY_MISSING');
    expect(source.message).toMatch(/"memory" cannot read increments/);
  });

  it('snapshots, and a stored mark of another cursor, are refused', async () => {
    const snapshot = await plan({
      ...task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'updated_at' }),
      snapshot: { enabled: true },
    });
    expect(snapshot).toMatchObject({ code: 'CONFIG_INVALID', details: { path: 'snapshot' } });

    await run(task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'updated_at' }));
    const other = await plan(task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'id' }));
    expect(other.code).toBe('CONFIG_INVALID');
    expect(other.message).toMatch(/taken on cursor "updated_at", not "id"/);
  });

  it('a plan shows the next increment without moving data', async () => {
    await db.sql(`INSERT INTO conf VALUES (11, 'x', 1, '2027-01-01Z')`);
    const result = await planTask({
      task: task('conf', { table: 'conf' }, 'conf_copy', { cursor: 'updated_at' }),
      connectors: registry(),
    });
    expect(result.incremental).toMatchObject({
      cursor: 'updated_at',
      from: '2026-01-01T00:00:10.000000Z',
      to: '2027-01-01T00:00:00.000000Z',
      fullCheck: false,
    });
    expect(await db.sql('SELECT count(*)::int AS n FROM conf_copy')).toEqual([{ n: 10 }]);
  });
});

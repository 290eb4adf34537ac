/**
 * What the conformance suite cannot see of the PostgreSQL task store: schema migrations,
 * wake-ups relayed between store instances through LISTEN/NOTIFY (and after the LISTEN
 * connection drops), the claim's use of its index, and connection failures.
 */
import { randomBytes } from 'node:crypto';
import type { TaskStoreEvent } from '@honk/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPostgresTaskStore,
  migrateTaskStore,
  type PostgresTaskStore,
  TASK_STORE_SCHEMA_VERSION,
} from '../src/index.ts';
import { TASK_STORE_MIGRATIONS } from '../src/task-store-migrations.ts';
import { serverUrl } from './postgres-test-database.ts';

const schemas: string[] = [];
const stores: PostgresTaskStore[] = [];

function freshSchema(): string {
  const schema = `honk_ts_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

async function open(schema: string): Promise<PostgresTaskStore> {
  const store = await createPostgresTaskStore({ url: serverUrl(), schema });
  stores.push(store);
  return store;
}

async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves with the first event `store` emits that matches, or rejects after `ms`. */
function nextEvent(store: PostgresTaskStore, match: (event: TaskStoreEvent) => boolean, ms = 20_000) {
  return new Promise<TaskStoreEvent>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error('no matching event arrived'));
    }, ms);
    const unsubscribe = store.events.onAny((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    });
  });
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const schema of schemas.splice(0)) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

describe('PostgresTaskStore migrations', () => {
  it('migrates once when several stores open a new schema at the same time', async () => {
    const schema = freshSchema();
    const opened = await Promise.all(Array.from({ length: 4 }, () => open(schema)));
    const rows = await sql<{ version: number }>(`SELECT "version" FROM "${schema}"."task_store_migrations"`);
    expect(rows.map((row) => row.version)).toEqual(TASK_STORE_MIGRATIONS.map((migration) => migration.version));
    expect(TASK_STORE_MIGRATIONS.at(-1)?.version).toBe(TASK_STORE_SCHEMA_VERSION);
    // Every instance works on the one queue.
    await opened[0]!.enqueue([{ id: 'a', definition: {} }]);
    expect((await opened[3]!.get('a'))?.state).toBe('pending');
  });

  it('is idempotent: migrating a current schema applies nothing and keeps the data', async () => {
    const schema = freshSchema();
    const store = await open(schema);
    await store.enqueue([{ id: 'kept', definition: { v: 1 } }]);
    const client = new pg.Client({ connectionString: serverUrl() });
    await client.connect();
    try {
      expect(await migrateTaskStore(client, schema)).toEqual([]);
    } finally {
      await client.end();
    }
    const reopened = await open(schema);
    expect((await reopened.get('kept'))?.definition).toEqual({ v: 1 });
  });

  it('upgrades a version 1 queue in place: its tasks stay and need no agent labels', async () => {
    const schema = freshSchema();
    const quoted = `"${schema}"`;
    const first = TASK_STORE_MIGRATIONS[0]!;
    await sql(`CREATE SCHEMA ${quoted}`);
    await sql(`CREATE TABLE ${quoted}."task_store_migrations" (
      "version" integer PRIMARY KEY, "description" text NOT NULL, "applied_at" timestamptz NOT NULL DEFAULT now())`);
    for (const statement of first.statements(quoted)) await sql(statement);
    await sql(`INSERT INTO ${quoted}."task_store_migrations" ("version", "description") VALUES (1, 'v1')`);
    await sql(`INSERT INTO ${quoted}."tasks" ("id", "definition", "definition_hash", "priority", "run_at", "connections",
      "state", "attempts", "max_attempts", "history", "enqueued_at", "updated_at", "sequence", "labels")
      VALUES ('old', '{}', 'h', 0, now(), '{}', 'pending', 0, 3, '[]', now(), now(), 1, '{}')`);
    const store = await open(schema);
    const record = await store.get('old');
    expect(record?.state).toBe('pending');
    expect(record).not.toHaveProperty('agentLabels');
    expect((await store.claim('eu-agent', { leaseMs: 60_000, labels: { region: 'eu' } }))?.task.id).toBe('old');
  });

  it('refuses a schema written by a newer version', async () => {
    const schema = freshSchema();
    await open(schema);
    await sql(`INSERT INTO "${schema}"."task_store_migrations" ("version", "description") VALUES (999, 'future')`);
    await expect(createPostgresTaskStore({ url: serverUrl(), schema })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('version 999'),
    });
  });
});

describe('PostgresTaskStore wake-ups across instances', () => {
  it('relays another instance’s enqueue, release and slot-freeing success, and not its own', async () => {
    const schema = freshSchema();
    const producer = await open(schema);
    const consumer = await open(schema);
    const own: TaskStoreEvent[] = [];
    producer.events.onAny((event) => own.push(event));

    // A success is relayed when it frees a slot of a limited connection.
    await producer.setConnectionLimits({ wh: 5 });
    const enqueued = nextEvent(consumer, (event) => event.type === 'task-enqueued');
    await producer.enqueue([
      { id: 'a', definition: {}, connections: ['wh'] },
      { id: 'b', definition: {}, connections: ['wh'] },
    ]);
    expect(await enqueued).toMatchObject({ type: 'task-enqueued', taskId: 'a', outcome: 'created' });

    const claim = await producer.claim('agent-p', { leaseMs: 60_000 });
    const released = nextEvent(consumer, (event) => event.type === 'task-released');
    await producer.release(claim!.task.id, claim!.token);
    expect(await released).toMatchObject({ taskId: 'a', agentId: 'agent-p' });

    const again = await producer.claim('agent-p', { leaseMs: 60_000 });
    const succeeded = nextEvent(consumer, (event) => event.type === 'task-succeeded');
    await producer.complete(again!.task.id, again!.token, { rows: 1 });
    expect(await succeeded).toMatchObject({ taskId: 'a', agentId: 'agent-p', attempt: 1 });

    // The producer saw each of its own events exactly once (its notifications are not relayed back).
    expect(own.map((event) => `${event.type}:${event.taskId}`)).toEqual([
      'task-enqueued:a',
      'task-enqueued:b',
      'task-claimed:a',
      'task-released:a',
      'task-claimed:a',
      'task-succeeded:a',
    ]);
  });

  it('listens again after its LISTEN connection is terminated', async () => {
    const schema = freshSchema();
    const producer = await open(schema);
    const consumer = await open(schema);
    const terminated = await sql<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = 'honk-task-store-listen' AND query = $1`,
      [`LISTEN "${consumer.channel}"`],
    );
    expect(terminated.length).toBeGreaterThan(0);
    // Enqueue until a relayed event arrives (the reconnect takes a moment); ids show which one did.
    let arrived: TaskStoreEvent | undefined;
    const waiting = nextEvent(consumer, (event) => event.type === 'task-enqueued').then((event) => {
      arrived = event;
    });
    for (let index = 0; arrived === undefined && index < 100; index += 1) {
      await producer.enqueue([{ id: `t${index}`, definition: {} }]);
      await Promise.race([waiting, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    expect(arrived).toMatchObject({ type: 'task-enqueued', outcome: 'created' });
  });
});

describe('PostgresTaskStore claims', () => {
  it('claims through the claim-order index, not by scanning the backlog', async () => {
    const schema = freshSchema();
    const store = await open(schema);
    const tasks = Array.from({ length: 5000 }, (_, index) => ({
      id: `t${index}`,
      definition: { index },
      priority: index % 3,
    }));
    await store.enqueue(tasks);
    await sql(`ANALYZE "${schema}"."tasks"`);
    const plan = await sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM "${schema}"."tasks"
        WHERE "state" IN ('pending', 'retrying') AND "run_at" <= now()
          AND NOT ("connections" && '{}'::text[]) AND ("window_key" IS NULL OR "window_key" = ANY('{}'::text[]))
        ORDER BY "priority" DESC, "run_at", "enqueued_at", "sequence" LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    const text = plan.map((row) => row['QUERY PLAN']).join('\n');
    expect(text).toContain('tasks_claim_order');
    expect(text).not.toMatch(/Seq Scan|Sort/);
    const claim = await store.claim('agent', { leaseMs: 60_000 });
    expect(claim?.task).toMatchObject({ id: 't2', priority: 2 });
  });

  it('hands a window first enqueued by another instance out only while it is open', async () => {
    const schema = freshSchema();
    const producer = await open(schema);
    const consumer = await open(schema);
    await producer.enqueue(
      [{ id: 'night', definition: {}, window: { start: '22:00', end: '06:00', timezone: 'UTC' } }],
      { now: new Date('2030-01-01T00:00:00Z') },
    );
    expect(await consumer.claim('agent', { leaseMs: 60_000, now: new Date('2030-01-01T12:00:00Z') })).toBeNull();
    const claim = await consumer.claim('agent', { leaseMs: 60_000, now: new Date('2030-01-01T23:00:00Z') });
    expect(claim?.task.id).toBe('night');
  });
});

describe('PostgresTaskStore chunked tasks across instances', () => {
  it('wakes a chunked task exactly when its last chunk succeeds, with chunks completed at once by many instances', async () => {
    const schema = freshSchema();
    const instances = await Promise.all(Array.from({ length: 4 }, () => open(schema)));
    const [first] = instances as [PostgresTaskStore];
    const chunks = 24;
    for (let round = 0; round < 3; round++) {
      const id = `big-${round}`;
      await first.enqueue([{ id, definition: { id } }]);
      const planner = await first.claim('planner', { leaseMs: 600_000 });
      expect(planner?.task.id).toBe(id);
      await first.split(id, planner!.token, {
        planId: `p${round}`,
        plan: {},
        chunks: Array.from({ length: chunks }, (_, index) => index),
      });
      const claims = await Promise.all(
        Array.from({ length: chunks }, (_, index) =>
          instances[index % instances.length]!.claim(`w${index}`, { leaseMs: 600_000 }),
        ),
      );
      expect(new Set(claims.map((claim) => claim?.task.id)).size).toBe(chunks);
      // Every instance completes its share at the same moment; only the last completion may wake the task.
      await Promise.all(
        claims.map((claim, index) => instances[index % instances.length]!.complete(claim!.task.id, claim!.token, {})),
      );
      const parent = await first.get(id);
      expect(parent?.runAt).not.toBe('9999-12-31T23:59:59.999Z');
      expect((await first.claim('finaliser', { leaseMs: 600_000 }))?.task.id).toBe(id);
    }
  });

  it('upgrades a version 2 queue to chunked tasks in place', async () => {
    const schema = freshSchema();
    const quoted = `"${schema}"`;
    await sql(`CREATE SCHEMA ${quoted}`);
    await sql(`CREATE TABLE ${quoted}."task_store_migrations" (
      "version" integer PRIMARY KEY, "description" text NOT NULL, "applied_at" timestamptz NOT NULL DEFAULT now())`);
    for (const migration of TASK_STORE_MIGRATIONS.slice(0, 2)) {
      for (const statement of migration.statements(quoted)) await sql(statement);
      await sql(`INSERT INTO ${quoted}."task_store_migrations" ("version", "description") VALUES ($1, 'old')`, [
        migration.version,
      ]);
    }
    await sql(`INSERT INTO ${quoted}."tasks" ("id", "definition", "definition_hash", "priority", "run_at", "connections",
      "state", "attempts", "max_attempts", "history", "enqueued_at", "updated_at", "sequence", "labels")
      VALUES ('old', '{}', 'h', 0, now(), '{}', 'pending', 0, 3, '[]', now(), now(),
              nextval('${quoted}."task_sequence"'), '{}')`);
    const store = await open(schema);
    const record = await store.get('old');
    expect(record).not.toHaveProperty('chunkOf');
    expect(record).not.toHaveProperty('chunked');
    const claim = await store.claim('agent', { leaseMs: 60_000 });
    expect(await store.split('old', claim!.token, { planId: 'p', plan: {}, chunks: [1, 2] })).toEqual({
      chunks: 2,
      waiting: 2,
    });
  });
});

describe('PostgresTaskStore connection failures', () => {
  it('reports an unreachable server as retryable, without the password', async () => {
    const error = await createPostgresTaskStore({ url: 'postgres://someone:s3cret-pw@127.0.0.1:1/db' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ retryable: true });
    expect(String((error as Error).message)).not.toContain('s3cret-pw');
  });

  it('refuses a URL that is not postgres://', async () => {
    await expect(createPostgresTaskStore({ url: 'mysql://x' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

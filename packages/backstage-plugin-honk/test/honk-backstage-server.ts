/**
 * A real Backstage backend with Honk's plugins (the backend package's test backend: catalog,
 * honk catalog module, honk backend plugin, PostgreSQL task store) in its own Node process,
 * for the frontend component tests: they run under jsdom, which is no place for a backend.
 * It prints one JSON line `{ base, tokens, readyMs }` when the dataset entities are in the
 * catalog (the four `shop` tables, plus HONK_TEST_EXTRA_DATASETS more tables `shop.t<n>` when
 * set, for measurements at scale), then answers JSON commands on stdin, one per line
 * (`{ id, cmd, … }` → `{ id, ok, result | error }`):
 *   agent-start / agent-stop   run a real Honk agent on the store (stop drains it)
 *   sql { text }               SQL on the test database (the source tables `shop.*`)
 *   tasks                      the task records of the store
 *   enqueue-chunked { task, entity, table, max }
 *                              enqueue a chunked task of `entity`: the test database's `table`
 *                              in at most `max` key-range chunks, to `public.<task>`
 *   memory                     this process's memory use (process.memoryUsage())
 *   stop                       stop everything and exit
 * Started by honk-backstage-process.ts; needs the suite's PostgreSQL (HONK_TEST_POSTGRES_URL).
 */
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { mockCredentials } from '@backstage/backend-test-utils';
import { createPostgresTaskStore, postgresConnector } from '@honk/connectors-postgres';
import { Agent, ConnectorRegistry, fileConnector } from '@honk/core';
import {
  ALICE,
  eventually,
  MALLORY,
  startHonkBackstage,
} from '../../backstage-plugin-honk-backend/test/honk-test-backend.ts';

const extra = Number(process.env.HONK_TEST_EXTRA_DATASETS ?? 0);
const started = Date.now();
const honk = await startHonkBackstage([], {
  beforeStart: async (db) => {
    // 500 tables a transaction: one lock each, within max_locks_per_transaction.
    for (let from = 1; from <= extra; from += 500) {
      const to = Math.min(extra, from + 499);
      await db.sql(
        `DO $$ BEGIN FOR i IN ${from}..${to} LOOP EXECUTE format('CREATE TABLE shop.t%s (id bigint PRIMARY KEY)', i); END LOOP; END $$`,
      );
    }
  },
});
await eventually(
  `the ${4 + extra} dataset entities`,
  async () => {
    const { body } = await honk.call('/api/catalog/entities/by-query?filter=metadata.tags=migration&limit=1', ALICE);
    return body?.totalItems === 4 + extra ? body : undefined;
  },
  600_000,
);
const readyMs = Date.now() - started;

let agent: { stop(): Promise<void> } | undefined;

async function startAgent(): Promise<void> {
  if (agent) return;
  const store = await createPostgresTaskStore({ url: honk.db.url });
  const running = new Agent({
    store,
    connectors: new ConnectorRegistry([postgresConnector, fileConnector]),
    concurrency: 2,
    pollMs: 100,
    scheduler: false,
    // Relative roots of the stored tasks resolve against the spec's directory.
    baseDir: dirname(honk.lake),
  });
  running.start();
  agent = {
    async stop() {
      await running.stop({ drain: true });
      await store.close();
    },
  };
}

async function stopAll(): Promise<void> {
  await agent?.stop();
  agent = undefined;
  await honk.stop();
}

const commands: Record<string, (command: Record<string, unknown>) => Promise<unknown>> = {
  'agent-start': startAgent,
  'agent-stop': async () => {
    await agent?.stop();
    agent = undefined;
  },
  sql: (command) => honk.db.sql(String(command.text)),
  tasks: () => honk.store.list(),
  'enqueue-chunked': async (command) => {
    const warehouse = { connector: 'postgres', connection: 'warehouse', options: { url: honk.db.url } };
    await honk.store.enqueue([
      {
        id: String(command.task),
        entity: String(command.entity),
        definition: {
          source: { ...warehouse, endpoint: { table: String(command.table), partitionBy: { column: 'id' } } },
          target: { ...warehouse, endpoint: { table: `public.${String(command.task).replace(/\W/g, '_')}` } },
          chunks: { max: Number(command.max) },
        },
      },
    ]);
  },
  memory: async () => process.memoryUsage(),
  stop: async () => {
    await stopAll();
    setImmediate(() => process.exit(0));
  },
};

process.stdout.write(
  `${JSON.stringify({
    base: honk.base,
    readyMs,
    tokens: { alice: mockCredentials.user.token(ALICE), mallory: mockCredentials.user.token(MALLORY) },
  })}\n`,
);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = JSON.parse(line) as { id: number; cmd: string };
  const run = commands[command.cmd];
  (run ? run(command) : Promise.reject(new Error(`unknown command ${command.cmd}`))).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: command.id, ok: true, result })}\n`),
    (error: unknown) =>
      process.stdout.write(
        `${JSON.stringify({ id: command.id, ok: false, error: String((error as Error)?.stack ?? error) })}\n`,
      ),
  );
});
// The test process went away: do not leave a backend behind.
lines.on('close', () => {
  stopAll().finally(() => process.exit(0));
});

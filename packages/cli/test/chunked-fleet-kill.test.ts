/**
 * Issue 13, "done when": a PostgreSQL table of 5M rows migrated in 10 chunks by three real
 * `honk agent` processes sharing the PostgreSQL task store, while agents running a chunk are
 * SIGKILLed at random moments (and replaced). The target is proven exact by PostgreSQL itself
 * — row count, no duplicate keys, an order-independent checksum of every row's text — and the
 * chunk records' histories prove that only the killed chunks ran again: every attempt of a
 * chunk but its last ended because its agent died (`lease-expired`), and there are no more of
 * those than kills. Rows are generated on the server (generate_series), so the setup costs
 * seconds; the leases are short so a killed chunk is taken over quickly.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import type { TaskRecord } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { honk, tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));
const ROWS = 5_000_000;
const CHUNKS = 10;
const AGENTS = 3;
const KILLS = 3;
const LEASE_MS = 4000;
/** A hang guard for the whole scenario, not a timing assertion. */
const DEADLINE_MS = 420_000;

let db: TestDatabase;
let store: PostgresTaskStore | undefined;
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql(`CREATE TABLE src AS
    SELECT g::int8 AS id, md5(g::text) AS name, (g % 100000)::numeric(12,2) / 100 AS amount,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS at,
           CASE WHEN g % 11 = 0 THEN NULL ELSE g % 7 END::int4 AS bucket
      FROM generate_series(1, ${ROWS}) AS g`);
  await db.sql('ALTER TABLE src ADD PRIMARY KEY (id)');
  await db.sql('ANALYZE src');
}, 300_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await db?.drop();
});

interface AgentProcess {
  id: string;
  exited: Promise<number | null>;
  kill(): void;
}

function startAgent(dir: string, id: string): Promise<AgentProcess> {
  const child = spawn(
    process.execPath,
    [
      bin,
      'agent',
      '--store',
      db.url,
      '--id',
      id,
      '--concurrency',
      '1',
      '--lease-ms',
      String(LEASE_MS),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--no-scheduler',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`honk agent ${id} on`)) resolve({ id, exited, kill: () => child.kill('SIGKILL') });
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then((code) => reject(new Error(`agent ${id} exited (${code}) before it was ready:\n${output}`)));
  });
}

/** Count, distinct keys and an order-independent checksum of every row's text, by PostgreSQL. */
async function summary(table: string) {
  const [row] = await db.sql<{ count: string; keys: string; sum: string }>(
    `SELECT count(*)::text AS count, count(DISTINCT id)::text AS keys,
            sum(hashtextextended(t::text, 0)::numeric)::text AS sum FROM ${table} t`,
  );
  return row;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a chunked task on a fleet that loses agents', () => {
  it(`migrates ${ROWS.toLocaleString('en-US')} rows in ${CHUNKS} chunks exactly, repeating only the killed chunks`, {
    timeout: DEADLINE_MS + 60_000,
  }, async () => {
    const dir = tempDir('chunked-fleet');
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connections:
  warehouse: { connector: postgres, url: "${db.url}" }
tasks:
  - id: big
    source: { connection: warehouse, table: src, partitionBy: { column: id } }
    target: { connection: warehouse, table: dst }
    chunks: { max: ${CHUNKS} }
    retry: { attempts: 5, backoff: { initialMs: 200, maxMs: 1000 } }
`,
    });
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', db.url, '--json'], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    store = await createPostgresTaskStore({ url: db.url });
    const agents = new Map<string, AgentProcess>();
    let started = 0;
    const add = async () => {
      const agent = await startAgent(dir, `fleet-${started++}`);
      agents.set(agent.id, agent);
    };
    for (let index = 0; index < AGENTS; index++) await add();

    // Kill agents that hold a running chunk (or the task while it plans or publishes), at random
    // moments into it, and replace them.
    const kills: Array<{ agent: string; task: string }> = [];
    const replacements: Array<Promise<void>> = [];
    const deadline = Date.now() + DEADLINE_MS;
    let parent: TaskRecord | undefined;
    while (Date.now() < deadline) {
      parent = await store.get('big');
      if (parent?.state === 'succeeded' || parent?.state === 'dead') break;
      if (kills.length < KILLS) {
        const running = (await store.list({ states: ['running'] })).filter((record) =>
          agents.has(record.lease?.owner ?? ''),
        );
        const victim = running[Math.floor(Math.random() * running.length)];
        if (victim?.lease) {
          await sleep(Math.floor(Math.random() * 800));
          const agent = agents.get(victim.lease.owner);
          const still = await store.get(victim.id);
          if (agent && still?.state === 'running' && still.lease?.owner === agent.id) {
            agent.kill();
            agents.delete(agent.id);
            kills.push({ agent: agent.id, task: victim.id });
            replacements.push(add());
          }
        }
      }
      await sleep(100);
    }
    await Promise.all(replacements);
    for (const agent of agents.values()) agent.kill();

    expect(parent?.lastError, JSON.stringify(parent?.history)).toBeUndefined();
    expect(parent?.state).toBe('succeeded');
    expect(kills.length).toBeGreaterThan(0);

    // The target is exact: PostgreSQL counts, checks keys and sums row hashes on both sides.
    const target = await summary('dst');
    expect(target).toEqual(await summary('src'));
    expect(target?.keys).toBe(String(ROWS));

    // Only killed chunks ran again: every attempt but the last of a chunk ended with its agent's death.
    const chunks = await store.list({ ids: Array.from({ length: CHUNKS }, (_, index) => `big#${index}`) });
    expect(chunks).toHaveLength(CHUNKS);
    let repeated = 0;
    for (const chunk of chunks) {
      expect(chunk.state).toBe('succeeded');
      const outcomes = chunk.history.map((entry) => entry.outcome);
      expect(outcomes.at(-1)).toBe('succeeded');
      for (const outcome of outcomes.slice(0, -1)) expect(outcome).toBe('lease-expired');
      repeated += outcomes.length - 1;
    }
    const killedChunks = new Set(kills.map((kill) => kill.task));
    for (const chunk of chunks) if (chunk.history.length > 1) expect(killedChunks.has(chunk.id)).toBe(true);
    expect(repeated).toBeLessThanOrEqual(kills.filter((kill) => kill.task !== 'big').length);
    expect(repeated).toBeGreaterThan(0);
    // A kill of the task itself (while it planned or published) repeats no chunk: it ran again.
    if (kills.some((kill) => kill.task === 'big')) {
      expect(parent?.history.map((entry) => entry.outcome)).toContain('lease-expired');
    }
    const report = parent?.report as { chunks?: { count: number; rows: number } };
    expect(report.chunks).toEqual({ plan: parent?.chunked?.planId, count: CHUNKS, rows: ROWS });

    // Nothing left behind: no staging table, no chunk bookkeeping.
    const staging = await db.sql<{ name: string }>(
      `SELECT relname AS name FROM pg_class WHERE relname LIKE '\\_honk\\_stage\\_%'`,
    );
    expect(staging).toEqual([]);
    expect(await db.sql(`SELECT chunk FROM public._honk_chunks`)).toEqual([]);
    console.log(
      `chunked fleet: ${kills.length} kills (${kills.map((kill) => `${kill.agent} in ${kill.task}`).join(', ')}), ${repeated} chunk attempts repeated`,
    );
  });
});

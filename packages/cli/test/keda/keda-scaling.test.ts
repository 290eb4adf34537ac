/**
 * The fleet's scaling, proven without a cluster (issue 9 §2): the KEDA scaler query of one
 * agent class, run against a real PostgreSQL task store, drives real `honk agent` processes
 * through a stand-in that applies KEDA's documented rules (see keda-stand-in.ts). 300 tasks
 * enqueued: the fleet grows to its maximum, shrinks to its minimum as the queue drains
 * (SIGTERM to agents that are still running tasks), and every task ends exactly once.
 * Tasks of another class are never counted, so they neither scale this class nor run on it.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { claimableTasksQuery, createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../connectors-postgres/test/postgres-test-database.ts';
import { honk, ordersCsv, tempDir, writeFiles } from '../cli-helpers.ts';
import { KedaStandIn, type Replica } from './keda-stand-in.ts';

const bin = fileURLToPath(new URL('../../bin/honk.js', import.meta.url));
const TASKS = 300;
const OTHER_CLASS_TASKS = 5;
const ROWS = 500;
const CONCURRENCY = 2;
const MAX_REPLICAS = 4;
const MIN_REPLICAS = 0;
/** A hang guard for the whole scenario, not a timing assertion. */
const DEADLINE_MS = 240_000;

let db: TestDatabase;
let store: PostgresTaskStore | undefined;
const children = new Set<ChildProcessByStdio<null, Readable, Readable>>();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await store?.close();
  await db?.drop();
});

function spec(dir: string): string {
  const tasks: string[] = [];
  for (let index = 0; index < TASKS; index += 1) {
    const id = `t-${String(index).padStart(3, '0')}`;
    tasks.push(`  - id: ${id}
    source: { connection: legacy-eu, path: orders.csv, format: csv }
    target: { connection: lake, path: ${id}.parquet }`);
  }
  for (let index = 0; index < OTHER_CLASS_TASKS; index += 1) {
    tasks.push(`  - id: us-${index}
    priority: 100
    source: { connection: legacy-us, path: orders.csv, format: csv }
    target: { connection: lake, path: us-${index}.parquet }`);
  }
  return `version: 1
connections:
  legacy-eu: { connector: file, root: ${join(dir, 'legacy')}, agentLabels: { region: eu } }
  legacy-us: { connector: file, root: ${join(dir, 'legacy')}, agentLabels: { region: us } }
  lake:      { connector: file, root: ${join(dir, 'lake')} }
tasks:
${tasks.join('\n')}
`;
}

/** A real `honk agent` process of the `eu` class. */
function startAgent(dir: string, index: number, ready: Set<string>): Replica {
  const name = `keda-agent-${index}`;
  const child = spawn(
    process.execPath,
    [
      bin,
      'agent',
      '--store',
      db.url,
      '--id',
      name,
      '--concurrency',
      String(CONCURRENCY),
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--no-scheduler',
      '--drain-timeout-ms',
      '60000',
      '--class',
      'eu',
      '--label',
      'region=eu',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes(`honk agent ${name} on`)) ready.add(name);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  return {
    name,
    terminate: async () => {
      child.kill('SIGTERM');
      const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await exited;
      clearTimeout(guard);
      if (code !== 0) console.error(`${name} exited ${code}:\n${output}`);
      return code;
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, standIn: KedaStandIn, what: string) {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await condition())) {
    standIn.check();
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; scale events ${JSON.stringify(standIn.events)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('KEDA scaling of a honk agent class (stand-in for KEDA)', () => {
  it(`grows to ${MAX_REPLICAS} agents for ${TASKS} tasks, shrinks to ${MIN_REPLICAS} as they drain, and runs each task once`, {
    timeout: DEADLINE_MS + 60_000,
  }, async () => {
    const dir = tempDir('keda');
    await writeFiles(dir, { 'honk.yaml': spec(dir), 'legacy/orders.csv': ordersCsv(ROWS) });
    store = await createPostgresTaskStore({ url: db.url });
    const query = claimableTasksQuery({ schema: store.schema, labels: { region: 'eu' } });
    const ready = new Set<string>();
    const standIn = new KedaStandIn({
      metric: async () => Number((await db.sql<{ claimable: number }>(query))[0]?.claimable),
      startReplica: (index) => startAgent(dir, index, ready),
      runningByReplica: async () => {
        const rows = await db.sql<{ owner: string; running: number }>(
          `SELECT "lease_owner" AS "owner", count(*)::int AS "running" FROM "honk"."tasks" WHERE "state" = 'running' GROUP BY 1`,
        );
        return new Map(rows.map((row) => [row.owner, row.running]));
      },
      targetQueryValue: CONCURRENCY,
      activationTargetQueryValue: 0,
      minReplicaCount: MIN_REPLICAS,
      maxReplicaCount: MAX_REPLICAS,
      pollingIntervalMs: 250,
      cooldownPeriodMs: 2_000,
      // behavior.scaleDown.stabilizationWindowSeconds: 0, so the fleet shrinks while the last tasks still run.
      scaleDownStabilizationMs: 0,
    });
    try {
      standIn.start();
      // An empty queue asks for nothing.
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(standIn.replicas).toBe(0);

      const enqueuedAt = standIn.elapsedMs();
      const enqueued = await honk(['enqueue', 'honk.yaml', '--store', db.url], { cwd: dir });
      expect(enqueued.code, enqueued.stderr).toBe(0);
      await until(() => standIn.replicas === MAX_REPLICAS, standIn, 'max replicas');
      const maxAt = standIn.elapsedMs();
      await until(() => ready.size >= MAX_REPLICAS, standIn, 'max agents up');
      const upAt = standIn.elapsedMs();

      const eu = async () => (await store!.list()).filter((task) => task.id.startsWith('t-'));
      await until(async () => (await eu()).every((task) => task.state === 'succeeded'), standIn, 'all tasks ended');
      const drainedAt = standIn.elapsedMs();
      await until(() => standIn.replicas === MIN_REPLICAS, standIn, 'min replicas');
      const minAt = standIn.elapsedMs();
      await standIn.stop();
      const exitCodes = await Promise.all(standIn.terminations.map((termination) => termination.exitCode));

      console.log(
        `[keda stand-in] ${TASKS} tasks: enqueue → ${MAX_REPLICAS} replicas desired in ${maxAt - enqueuedAt} ms, ` +
          `all ${MAX_REPLICAS} agents up in ${upAt - enqueuedAt} ms; every task ended after ${drainedAt - enqueuedAt} ms; ` +
          `back to ${MIN_REPLICAS} replicas after ${minAt - enqueuedAt} ms. Scale events: ` +
          standIn.events.map((event) => `${event.from}→${event.to} (metric ${event.metric})`).join(', ') +
          `. SIGTERMs with tasks in flight: ${standIn.terminations.filter((t) => t.runningTasks > 0).length}` +
          ` of ${standIn.terminations.length}.`,
      );

      // The fleet grew to its maximum and never beyond, then shrank to its minimum.
      expect(Math.max(...standIn.events.map((event) => event.to))).toBe(MAX_REPLICAS);
      expect(standIn.events.at(-1)).toMatchObject({ to: MIN_REPLICAS, metric: 0 });
      // Scaled down while agents still ran tasks: SIGTERM drained them, each exited 0.
      expect(standIn.terminations.length).toBeGreaterThanOrEqual(MAX_REPLICAS);
      expect(standIn.terminations.some((termination) => termination.runningTasks > 0)).toBe(true);
      expect(exitCodes.every((code) => code === 0)).toBe(true);

      // Every task ended exactly once: one succeeded attempt, the rows it read, one target file.
      const records = await eu();
      expect(records).toHaveLength(TASKS);
      for (const record of records) {
        expect(record.state).toBe('succeeded');
        expect(
          record.history.filter((attempt) => attempt.outcome === 'succeeded'),
          record.id,
        ).toHaveLength(1);
        expect(
          record.history.every((attempt) => attempt.outcome !== 'failed' && attempt.outcome !== 'lease-expired'),
        ).toBe(true);
        expect(record.report).toMatchObject({ ok: true, stats: { rows: ROWS } });
      }
      const files = readdirSync(join(dir, 'lake')).sort();
      expect(files).toEqual(records.map((record) => `${record.id}.parquet`).sort());
      // The other class's tasks were never counted nor claimed.
      const others = (await store.list()).filter((task) => task.id.startsWith('us-'));
      expect(others.map((task) => [task.state, task.attempts])).toEqual(
        Array.from({ length: OTHER_CLASS_TASKS }, () => ['pending', 0]),
      );
    } finally {
      await standIn.stop();
      await standIn.terminateAll();
    }
  });
});

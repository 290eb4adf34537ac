/**
 * The distributed store under real processes: 4 agent processes (each a real Agent with
 * concurrency 2) share one PostgreSQL task store and copy 200 CSV files with the real file
 * connector. One process is frozen while it holds tasks, then SIGKILLed; its leases expire
 * (leaseMs 2000) and the others take its tasks over. Every task must end succeeded exactly
 * once, the killed attempts must show as `lease-expired`, every target must hold exactly
 * its source's rows, and the fleet-wide connection limit must hold throughout.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectorRegistry, fileConnector, parseSpec, resolveSpec, type TaskRecord } from '@honk/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTaskStore, type PostgresTaskStore } from '../src/index.ts';
import { serverUrl } from './postgres-test-database.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'task-store-agent.ts');
const TASKS = 200;
const AGENTS = 4;
const LIMIT = 6;
const schema = `honk_mp_${randomBytes(5).toString('hex')}`;

let dir: string;
let store: PostgresTaskStore;
const children: ChildProcess[] = [];
const logs: string[] = [];

/** Rows of source file `index`: a size that varies per file, so no two targets look alike. */
function sourceRows(index: number): Array<{ id: number; name: string; amount: number }> {
  return Array.from({ length: 150 + ((index * 37) % 300) }, (_, row) => ({
    id: index * 10_000 + row,
    name: `file-${index}-row-${row}`,
    amount: (row * 7 + index) % 1000,
  }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function startAgent(agentId: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture], {
    cwd: here,
    env: {
      ...process.env,
      HONK_STORE_URL: serverUrl(),
      HONK_STORE_SCHEMA: schema,
      HONK_AGENT_ID: agentId,
      HONK_LEASE_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stderr?.on('data', (chunk: Buffer) => logs.push(`[${agentId}] ${chunk.toString()}`));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`agent ${agentId} exited with ${code}:\n${logs.join('')}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'honk-pg-store-mp-'));
  await mkdir(join(dir, 'in'));
  await mkdir(join(dir, 'out'));
  for (let index = 0; index < TASKS; index += 1) {
    const lines = ['id,name,amount', ...sourceRows(index).map((row) => `${row.id},${row.name},${row.amount}`)];
    await writeFile(join(dir, 'in', `part-${index}.csv`), `${lines.join('\n')}\n`);
  }
  store = await createPostgresTaskStore({ url: serverUrl(), schema });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store?.close();
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
  await rm(dir, { recursive: true, force: true });
});

describe('PostgresTaskStore with agents in 4 processes', () => {
  it('finishes every task exactly once when one agent is SIGKILLed mid-run', async () => {
    const connectors = new ConnectorRegistry([fileConnector]);
    const loaded = parseSpec({
      version: 1,
      connections: { files: { connector: 'file', root: dir } },
      tasks: Array.from({ length: TASKS }, (_, index) => ({
        id: `copy-${index}`,
        source: { connection: 'files', path: `in/part-${index}.csv` },
        target: { connection: 'files', path: `out/part-${index}.ndjson` },
      })),
    });
    const tasks = resolveSpec(loaded, { registry: connectors }).tasks;
    await store.setConnectionLimits({ files: LIMIT });
    const enqueued = await store.enqueue(
      tasks.map((task) => ({
        id: task.id,
        definition: task.portable as never,
        definitionHash: task.definitionHash,
        connections: task.connections,
        maxAttempts: 5,
      })),
    );
    expect(enqueued.filter((result) => result.outcome === 'created')).toHaveLength(TASKS);

    const agents = await Promise.all(Array.from({ length: AGENTS }, (_, index) => startAgent(`agent-${index}`)));
    const victim = agents[0] as ChildProcess;
    let maxRunning = 0;
    let heldByVictim: TaskRecord[] = [];
    for (let polls = 0; ; polls += 1) {
      const counts = await store.counts();
      maxRunning = Math.max(maxRunning, counts.running);
      if (heldByVictim.length === 0 && counts.succeeded >= 30) {
        // Freeze it first, so what it holds cannot change between looking and killing.
        victim.kill('SIGSTOP');
        await sleep(300);
        heldByVictim = (await store.list({ states: ['running'] })).filter((task) => task.lease?.owner === 'agent-0');
        if (heldByVictim.length > 0) victim.kill('SIGKILL');
        else victim.kill('SIGCONT');
      }
      if (counts.succeeded === TASKS) break;
      if (counts.dead > 0 || polls > 3000) {
        throw new Error(`the run did not finish: ${JSON.stringify(counts)}\n${logs.join('')}`);
      }
      await sleep(50);
    }
    expect(heldByVictim.length).toBeGreaterThan(0);
    expect(victim.signalCode).toBe('SIGKILL');
    for (const child of agents.slice(1)) child.kill('SIGTERM');
    expect(await Promise.all(agents.slice(1).map(exited))).toEqual([0, 0, 0]);

    // Every task succeeded exactly once, and the killed agent's attempts were taken over.
    const records = await store.list();
    expect(records).toHaveLength(TASKS);
    for (const record of records) {
      expect(record.state).toBe('succeeded');
      expect(record.history.filter((attempt) => attempt.outcome === 'succeeded')).toHaveLength(1);
      expect(record.history.every((attempt) => attempt.outcome !== undefined)).toBe(true);
    }
    for (const held of heldByVictim) {
      const record = records.find((candidate) => candidate.id === held.id) as TaskRecord;
      expect(record.history[0]).toMatchObject({ agentId: 'agent-0', outcome: 'lease-expired' });
      expect(record.history.at(-1)?.agentId).not.toBe('agent-0');
    }
    expect(maxRunning).toBeLessThanOrEqual(LIMIT);

    // Every target holds exactly its source's rows, nothing else was published.
    const published = (await readdir(join(dir, 'out'))).filter((name) => !name.startsWith('.'));
    expect(published.sort()).toEqual(Array.from({ length: TASKS }, (_, index) => `part-${index}.ndjson`).sort());
    for (let index = 0; index < TASKS; index += 1) {
      const lines = (await readFile(join(dir, 'out', `part-${index}.ndjson`), 'utf8')).trim().split('\n');
      const rows = lines.map((line) => JSON.parse(line) as { id: unknown; name: unknown; amount: unknown });
      expect(rows.map((row) => [Number(row.id), row.name, Number(row.amount)])).toEqual(
        sourceRows(index).map((row) => [row.id, row.name, row.amount]),
      );
    }
  });
});

/**
 * The distributed PostgreSQL task store: claim+complete throughput with 4 concurrent
 * claimers (4 store instances, each with its own pool, as 4 agent processes would have),
 * the same through 4 real `Agent`s of one class (`labels: { region: eu }`, the default
 * concurrency of `honk agent`, a no-op runTask: the agent loop's own cost on top of the
 * store's), and claim latency with 1k vs 100k pending tasks (the claim walks a partial
 * index in claim order, so it should not grow with the backlog).
 *
 *   node bench/postgres-store.ts
 *
 * Uses HONK_TEST_POSTGRES_URL when set, otherwise starts a throwaway server
 * (test/services/postgres.ts). The reference for throughput is the same 4 connections doing
 * nothing but `SELECT 1` round trips: a claim plus a complete is 2 statements.
 * BENCH_TASKS (default 10,000) sets the throughput scenario's task count.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type pgTypes from 'pg';
import { createPostgresTaskStore, type PostgresTaskStore } from '../packages/connectors-postgres/src/index.ts';
import { Agent } from '../packages/core/src/agent/agent.ts';
import { ConnectorRegistry } from '../packages/core/src/connector/connector-registry.ts';
import type { TaskInput } from '../packages/core/src/queue/task-store.ts';
import type { TaskReport } from '../packages/core/src/run/task-report.ts';
import { startPostgres } from '../test/services/postgres.ts';
import { emit, measure } from './report.ts';
import type { ScenarioResult } from './run.ts';

// pg is a dependency of the connector package, not of the workspace root: load it from there.
const pg = createRequire(new URL('../packages/connectors-postgres/package.json', import.meta.url))(
  'pg',
) as typeof pgTypes;

const AGENTS = 4;
/** `honk agent --concurrency` default. */
const AGENT_CONCURRENCY = 2;
const LEASE_MS = 60_000;
const LATENCY_SAMPLES = 300;

function inputs(count: number, prefix: string, extra: Partial<TaskInput> = {}): TaskInput[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `${prefix}-${index}`,
    definition: {
      id: `${prefix}-${index}`,
      source: { connector: 'none', connection: 'a', options: {}, endpoint: { path: `in/${index}.csv` } },
      target: { connector: 'none', connection: 'b', options: {}, endpoint: { path: `out/${index}.csv` } },
    },
    priority: index % 5,
    connections: ['a', 'b'],
    ...extra,
  }));
}

async function enqueueMany(
  store: PostgresTaskStore,
  count: number,
  prefix: string,
  extra: Partial<TaskInput> = {},
): Promise<void> {
  for (let start = 0; start < count; start += 10_000) {
    const chunk = inputs(Math.min(10_000, count - start), `${prefix}-${start}`, extra);
    await store.enqueue(chunk);
  }
}

/**
 * Runs 4 Agents of one class with a no-op runTask until `count` tasks succeeded; returns
 * the tasks done. Each agent has its own store instance, as separate processes would.
 */
async function drainWithAgents(stores: readonly PostgresTaskStore[], count: number): Promise<number> {
  const noop = async ({ task }: { task: { id: string } }): Promise<TaskReport> => {
    const now = new Date().toISOString();
    return {
      taskId: task.id,
      ok: true,
      stats: { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 },
      timings: {},
      startedAt: now,
      endedAt: now,
    };
  };
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const agents = stores.map((store, index) => {
    store.events.on('task-succeeded', () => {
      done += 1;
      if (done === count) finish();
    });
    return new Agent({
      store,
      connectors: new ConnectorRegistry(),
      id: `bench-agent-${index}`,
      concurrency: AGENT_CONCURRENCY,
      labels: { region: 'eu' },
      leaseMs: LEASE_MS,
      runTask: noop,
      circuitBreaker: false,
    });
  });
  for (const agent of agents) agent.start();
  await finished;
  await Promise.all(agents.map((agent) => agent.stop({ drain: true })));
  return done;
}

/** `SELECT 1` round trips per second over `connections` connections for ~1 s. */
async function roundTripsPerSecond(url: string, connections: number): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  let count = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() - started < 1000) {
        await client.query('SELECT 1');
        count += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((client) => client.end()));
  return count / seconds;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}

export interface PostgresStoreBenchOptions {
  url?: string;
  tasks?: number;
  onResult?: (result: ScenarioResult) => void;
}

export async function benchPostgresStore(options: PostgresStoreBenchOptions = {}): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  const report = (result: ScenarioResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  const server = (options.url ?? process.env.HONK_TEST_POSTGRES_URL) ? undefined : await startPostgres();
  const url = options.url ?? process.env.HONK_TEST_POSTGRES_URL ?? (server?.url as string);
  const tasks = options.tasks ?? Number(process.env.BENCH_TASKS ?? 10_000);
  const schemas: string[] = [];
  const open = async (schema: string, poolSize = 2) => createPostgresTaskStore({ url, schema, poolSize });
  try {
    const reference = await roundTripsPerSecond(url, AGENTS);
    report({
      suite: 'postgres-store',
      name: `round-trips x${AGENTS}`,
      seconds: 1,
      rowsPerSecond: reference,
      note: 'SELECT 1 round trips/s over 4 connections: the reference',
    });

    // Throughput: 4 agents, each its own store instance and pool.
    const schema = `honk_bench_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const agents: PostgresTaskStore[] = [];
    for (let index = 0; index < AGENTS; index += 1) agents.push(await open(schema));
    const enqueue = await measure(() => enqueueMany(agents[0] as PostgresTaskStore, tasks, 'drain'));
    report({
      suite: 'postgres-store',
      name: 'enqueue',
      rows: tasks,
      seconds: enqueue.seconds,
      rowsPerSecond: tasks / enqueue.seconds,
      tasksPerSecond: tasks / enqueue.seconds,
      note: 'tasks/s, 10k per call',
    });
    const drain = await measure(async () => {
      let done = 0;
      await Promise.all(
        agents.map(async (store, index) => {
          for (;;) {
            const claim = await store.claim(`agent-${index}`, { leaseMs: LEASE_MS });
            if (claim === null) return;
            await store.complete(claim.task.id, claim.token, { rows: 0 });
            done += 1;
          }
        }),
      );
      return done;
    });
    const perSecond = drain.value / drain.seconds;
    report({
      suite: 'postgres-store',
      name: `claim+complete x${AGENTS}`,
      rows: drain.value,
      seconds: drain.seconds,
      rowsPerSecond: perSecond,
      tasksPerSecond: perSecond,
      peakRssMb: drain.peakRssMb,
      reference: `round-trips x${AGENTS} (per claim+complete)`,
      ratio: (perSecond * 2) / reference,
      note: `no-op tasks, ${AGENTS} store instances claiming concurrently, tasks/s (goal ≥ 2,000)`,
    });
    await Promise.all(agents.map((store) => store.close()));

    // The same through real Agents of one class: claim loop, leases, events, complete.
    const agentSchema = `honk_bench_${randomBytes(4).toString('hex')}`;
    schemas.push(agentSchema);
    const agentStores: PostgresTaskStore[] = [];
    for (let index = 0; index < AGENTS; index += 1) agentStores.push(await open(agentSchema, AGENT_CONCURRENCY + 1));
    await enqueueMany(agentStores[0] as PostgresTaskStore, tasks, 'agents', { agentLabels: { region: 'eu' } });
    const agentDrain = await measure(() => drainWithAgents(agentStores, tasks));
    const agentsPerSecond = agentDrain.value / agentDrain.seconds;
    report({
      suite: 'postgres-store',
      name: `claim+complete x${AGENTS} agents`,
      rows: agentDrain.value,
      seconds: agentDrain.seconds,
      rowsPerSecond: agentsPerSecond,
      tasksPerSecond: agentsPerSecond,
      peakRssMb: agentDrain.peakRssMb,
      reference: `claim+complete x${AGENTS}`,
      ratio: agentsPerSecond / perSecond,
      goal: 2000,
      meetsGoal: agentsPerSecond >= 2000,
      note: `${AGENTS} Agents (class region=eu, concurrency ${AGENT_CONCURRENCY}) with a no-op runTask, tasks/s (goal ≥ 2,000)`,
    });
    await Promise.all(agentStores.map((store) => store.close()));

    // Claim latency against the backlog size.
    const medians: Record<number, number> = {};
    for (const pending of [1_000, 100_000]) {
      const latencySchema = `honk_bench_${randomBytes(4).toString('hex')}`;
      schemas.push(latencySchema);
      const store = await open(latencySchema, 4);
      try {
        await enqueueMany(store, pending, 'backlog');
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`ANALYZE "${latencySchema}"."tasks"`);
        await admin.end();
        const samples: number[] = [];
        for (let index = 0; index < LATENCY_SAMPLES; index += 1) {
          const started = performance.now();
          const claim = await store.claim('agent', { leaseMs: LEASE_MS });
          samples.push(performance.now() - started);
          if (claim === null) throw new Error('the backlog ran dry');
          await store.complete(claim.task.id, claim.token, null);
        }
        samples.sort((a, b) => a - b);
        medians[pending] = percentile(samples, 0.5);
        report({
          suite: 'postgres-store',
          name: `claim latency, ${pending.toLocaleString('en-US')} pending`,
          rows: LATENCY_SAMPLES,
          claimLatencyMs: medians[pending],
          claimLatencyP95Ms: percentile(samples, 0.95),
          ...(pending === 100_000
            ? { reference: 'claim latency, 1,000 pending', ratio: (medians[1_000] as number) / medians[pending] }
            : {}),
          note: `median of ${LATENCY_SAMPLES} sequential claims (ratio ≈ 1 means flat)`,
        });
      } finally {
        await store.close();
      }
    }
  } finally {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    await server?.stop();
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchPostgresStore({ onResult: emit });
}

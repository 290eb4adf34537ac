import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { ConnectorRegistry } from '../../src/connector/connector-registry.ts';
import { fileConnector } from '../../src/connectors/file/index.ts';
import { HonkEvents } from '../../src/observe/events.ts';
import { JournalTaskStore } from '../../src/queue/journal-task-store.ts';
import { MemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import type { TaskStore } from '../../src/queue/task-store.ts';
import { parseSpec } from '../../src/spec/load-spec.ts';
import { resolveSpec } from '../../src/spec/resolve-spec.ts';
import { createGate, createWorld, definition, eventually, makeBatch, record, schema, taskInput } from './fixtures.ts';

const fastRetry = { initialMs: 5, factor: 2, maxMs: 40, jitter: 'none' as const };
const agents: Agent[] = [];

function newAgent(
  store: TaskStore,
  world: { connectors: ConnectorRegistry },
  options: Partial<ConstructorParameters<typeof Agent>[0]> = {},
) {
  const agent = new Agent({ store, connectors: world.connectors, pollMs: 20, retry: fastRetry, ...options });
  agents.push(agent);
  return agent;
}

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop({ drain: false })));
});

describe('Agent', () => {
  it('retries a transient failure with backoff, then succeeds', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(100)]);
    world.faults.set('in', { transient: 2 });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('t1', 'in'), { maxAttempts: 5 })]);
    const agent = newAgent(store, world);
    const seen = record(agent.events, 'task-retrying', 'task-succeeded');

    await agent.runUntilIdle();

    const task = await store.get('t1');
    expect(task?.state).toBe('succeeded');
    expect(task?.attempts).toBe(3);
    expect(world.storage.rows('out-t1')).toBe(100);
    const retries = seen.filter((event) => event.name === 'task-retrying').map((event) => event.payload);
    // initialMs · factor^(attempt-1) without jitter: 5 ms, then 10 ms.
    expect(retries.map((payload) => ('delayMs' in payload ? payload.delayMs : -1))).toEqual([5, 10]);
    expect(retries.every((payload) => 'error' in payload && payload.error.code === 'TRANSIENT')).toBe(true);
    expect(seen.at(-1)?.name).toBe('task-succeeded');
  });

  it('dead-letters a non-retryable error at once, with the reason', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('missing', 'no-such-dataset'), { maxAttempts: 5 })]);
    const agent = newAgent(store, world);
    const dead = record(agent.events, 'task-dead');

    await agent.runUntilIdle();

    const task = await store.get('missing');
    expect(task?.state).toBe('dead');
    expect(task?.attempts).toBe(1);
    expect(task?.lastError?.code).toBe('NOT_FOUND');
    expect(task?.lastError?.message).toContain('no-such-dataset');
    expect(dead).toHaveLength(1);
    expect(dead[0]?.payload).toMatchObject({
      taskId: 'missing',
      reason: 'non-retryable',
      error: { code: 'NOT_FOUND' },
    });
  });

  it('dead-letters a transient failure once attempts are used up', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(10)]);
    world.faults.set('in', { transient: Number.POSITIVE_INFINITY });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('flaky', 'in'), { maxAttempts: 3 })]);
    const agent = newAgent(store, world);
    const dead = record(agent.events, 'task-dead');

    await agent.runUntilIdle();

    const task = await store.get('flaky');
    expect(task?.state).toBe('dead');
    expect(task?.attempts).toBe(3);
    expect(task?.lastError?.code).toBe('TRANSIENT');
    expect(dead[0]?.payload).toMatchObject({ reason: 'attempts-exhausted' });
    expect(world.storage.get('out-flaky')).toBeUndefined();
  });

  it('never runs one task twice when two agents share a store (200 tasks)', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(10)]);
    const store = new MemoryTaskStore();
    await store.enqueue(Array.from({ length: 200 }, (_, index) => taskInput(definition(`task-${index}`, 'in'))));
    const events = new HonkEvents();
    const claimed: string[] = [];
    events.on('task-claimed', (payload) => claimed.push(payload.taskId));
    const first = newAgent(store, world, { id: 'agent-a', concurrency: 4, events });
    const second = newAgent(store, world, { id: 'agent-b', concurrency: 4, events });

    await Promise.all([first.runUntilIdle(), second.runUntilIdle()]);

    expect(claimed).toHaveLength(200);
    expect(new Set(claimed).size).toBe(200);
    const counts = await store.counts();
    expect(counts.succeeded).toBe(200);
    const records = await store.list();
    expect(records.every((task) => task.history.length === 1 && task.attempts === 1)).toBe(true);
    const owners = new Set(records.map((task) => task.history[0]?.agentId));
    expect(owners).toEqual(new Set(['agent-a', 'agent-b']));
  });

  it('picks up a task whose agent died once its lease expires', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(7)]);
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('orphan', 'in'), { maxAttempts: 3 })]);
    // A "dead" agent: claims, then never heartbeats, completes or releases.
    const ghost = await store.claim('ghost', { leaseMs: 100 });
    expect(ghost?.task.id).toBe('orphan');
    const agent = newAgent(store, world, { id: 'survivor' });

    await agent.runUntilIdle();

    const task = await store.get('orphan');
    expect(task?.state).toBe('succeeded');
    expect(task?.history.map((attempt) => [attempt.agentId, attempt.outcome])).toEqual([
      ['ghost', 'lease-expired'],
      ['survivor', 'succeeded'],
    ]);
    expect(world.storage.rows('out-orphan')).toBe(7);
  });

  it('aborts at the fencing heartbeat before publish when the lease was lost (target untouched)', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(50)]);
    const gate = createGate();
    let atGate = false;
    world.faults.set('in', { gate: gate.promise, onGate: () => (atGate = true) });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('fenced', 'in'))]);
    // Heartbeats are rare here, so only the check right before publish can notice.
    const agent = newAgent(store, world, { leaseMs: 120_000, heartbeatMs: 100_000 });
    const seen = record(agent.events, 'task-lease-lost', 'task-succeeded', 'task-phase');
    agent.start();

    await eventually(() => atGate);
    await store.cancel('fenced'); // revokes the lease
    gate.open();
    await eventually(() => seen.some((event) => event.name === 'task-lease-lost'));

    expect(seen.some((event) => event.name === 'task-succeeded')).toBe(false);
    const phases = seen
      .filter((event) => event.name === 'task-phase')
      .map((event) => ('phase' in event.payload ? event.payload.phase : ''));
    expect(phases).toContain('publish');
    expect(world.storage.get('out-fenced')).toBeUndefined();
    expect(world.storage.names().filter((name) => name.startsWith('.staging'))).toEqual([]);
    expect((await store.get('fenced'))?.state).toBe('cancelled');
  });

  it('aborts a running transfer when a heartbeat finds the lease lost', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(50)]);
    const gate = createGate();
    let atGate = false;
    world.faults.set('in', { gate: gate.promise, onGate: () => (atGate = true) });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('cut', 'in'))]);
    const agent = newAgent(store, world, { leaseMs: 300, heartbeatMs: 20 });
    const lost = record(agent.events, 'task-lease-lost');
    agent.start();

    await eventually(() => atGate);
    await store.cancel('cut');
    // The gate never opens: only the heartbeat's abort can end this run.
    await eventually(() => lost.length === 1);

    expect(lost[0]?.payload).toMatchObject({ taskId: 'cut', phase: 'transfer' });
    expect(world.storage.get('out-cut')).toBeUndefined();
    expect(agent.inFlight()).toEqual([]);
    gate.open();
  });

  it('drains: stop() lets in-flight tasks finish', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(20)]);
    const gate = createGate();
    let atGate = false;
    world.faults.set('in', { gate: gate.promise, onGate: () => (atGate = true) });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('slow', 'in')), taskInput(definition('later', 'in'), { priority: -1 })]);
    const agent = newAgent(store, world, { concurrency: 1 });
    const seen = record(agent.events, 'agent-stopping', 'agent-stopped', 'task-released');
    agent.start();
    await eventually(() => atGate);

    const stopped = agent.stop({ drain: true, timeoutMs: 60_000 });
    await eventually(() => seen.some((event) => event.name === 'agent-stopping'));
    gate.open();
    await stopped;

    expect((await store.get('slow'))?.state).toBe('succeeded');
    expect(world.storage.rows('out-slow')).toBe(20);
    // Nothing new was claimed once stopping began.
    expect((await store.get('later'))?.state).toBe('pending');
    expect(seen.filter((event) => event.name === 'task-released')).toEqual([]);
    expect(seen.find((event) => event.name === 'agent-stopped')?.payload).toMatchObject({ released: 0 });
  });

  it('drain timeout aborts and releases leases, so another agent takes over at once', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(20)]);
    const gate = createGate();
    let atGate = false;
    world.faults.set('in', { gate: gate.promise, onGate: () => (atGate = true) });
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('stuck', 'in'), { maxAttempts: 1 })]);
    const agent = newAgent(store, world, { id: 'leaving' });
    const released = record(agent.events, 'task-released');
    agent.start();
    await eventually(() => atGate);

    await agent.stop({ drain: true, timeoutMs: 50 });

    expect(released.map((event) => event.payload)).toMatchObject([{ taskId: 'stuck', reason: 'drain-timeout' }]);
    const task = await store.get('stuck');
    expect(task?.state).toBe('pending');
    expect(task?.lease).toBeUndefined();
    expect(world.storage.get('out-stuck')).toBeUndefined();

    // maxAttempts is 1: the release did not use it up.
    gate.open();
    const next = newAgent(store, world, { id: 'arriving' });
    await next.runUntilIdle();
    expect((await store.get('stuck'))?.state).toBe('succeeded');
    expect(world.storage.rows('out-stuck')).toBe(20);
  });

  it('pauses a connection after repeated auth failures (circuit breaker) and reports its tasks as waiting', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    const inputs = [];
    for (let index = 0; index < 5; index += 1) {
      world.faults.set(`secret-${index}`, { auth: true });
      inputs.push(
        taskInput(definition(`auth-${index}`, `secret-${index}`, { sourceConnection: 'warehouse' }), {
          priority: 10 - index,
        }),
      );
    }
    world.storage.set('ok', schema, [makeBatch(3)]);
    inputs.push(taskInput(definition('healthy', 'ok'), { priority: -5 }));
    await store.enqueue(inputs);
    const agent = newAgent(store, world, { concurrency: 1, circuitBreaker: { failures: 2, coolDownMs: 600_000 } });
    const paused = record(agent.events, 'connection-paused');

    const idle = await agent.runUntilIdle();

    expect(paused.map((event) => event.payload)).toMatchObject([
      { connection: 'warehouse', failures: 2, code: 'AUTH_FAILED' },
    ]);
    const counts = await store.counts();
    expect(counts.dead).toBe(2);
    expect(counts.succeeded).toBe(1);
    expect(counts.pending).toBe(3);
    expect(agent.pausedConnections()).toEqual(['warehouse']);
    expect(idle.waiting.map((task) => [task.id, task.reason]).sort()).toEqual([
      ['auth-2', 'connection-paused'],
      ['auth-3', 'connection-paused'],
      ['auth-4', 'connection-paused'],
    ]);
  });

  it('reads the stored definition: an unreadable one is dead-lettered as a config error', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    await store.enqueue([{ id: 'garbage', definition: { hello: 'world' } }]);
    const agent = newAgent(store, world);
    await agent.runUntilIdle();
    const task = await store.get('garbage');
    expect(task?.state).toBe('dead');
    expect(task?.lastError?.code).toBe('CONFIG_INVALID');
  });
});

describe('Agent with tasks stored from a spec', () => {
  it('resolves the portable task with its own environment and uses the spec retry policy', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(12)]);
    world.faults.set('in', { transient: 1 });
    const env = { STORAGE_NAME: 'default' };
    const loaded = parseSpec({
      version: 1,
      connections: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a spec env reference, not a template
        src: { connector: 'faulty', storage: '${env:STORAGE_NAME}' },
        dst: { connector: 'memory' },
      },
      tasks: [
        {
          id: 'from-spec',
          source: { connection: 'src', name: 'in' },
          target: { connection: 'dst', name: 'out-from-spec' },
          retry: { attempts: 4, backoff: { initialMs: 7, factor: 1, maxMs: 7, jitter: false } },
        },
      ],
    });
    const [task] = resolveSpec(loaded, { registry: world.connectors, env }).tasks;
    const store = new MemoryTaskStore();
    await store.enqueue([
      {
        id: task!.id,
        definition: task!.portable as never,
        connections: task!.connections,
        maxAttempts: task!.retry.attempts,
      },
    ]);
    // The record keeps the unresolved reference, never the value.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a spec env reference, not a template
    expect(JSON.stringify((await store.get('from-spec'))?.definition)).toContain('${env:STORAGE_NAME}');
    const agent = newAgent(store, world, { env, retry: { initialMs: 10_000 } });
    const retrying = record(agent.events, 'task-retrying');

    await agent.runUntilIdle();

    expect((await store.get('from-spec'))?.state).toBe('succeeded');
    expect(world.storage.rows('out-from-spec')).toBe(12);
    expect(retrying.map((event) => event.payload.delayMs)).toEqual([7]);
  });
});

describe('Agent end to end with the file connector and the journal store', () => {
  it('migrates CSV files to NDJSON from a spec, and a second run over the same journal skips them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'honk-agent-'));
    try {
      const lines = ['id,name'];
      for (let index = 0; index < 500; index += 1) lines.push(`${index},name-${index}`);
      await writeFile(join(dir, 'a.csv'), `${lines.join('\n')}\n`);
      await writeFile(join(dir, 'b.csv'), `${lines.slice(0, 101).join('\n')}\n`);
      const connectors = new ConnectorRegistry([fileConnector]);
      const loaded = parseSpec({
        version: 1,
        connections: { files: { connector: 'file', root: dir } },
        tasks: ['a', 'b'].map((name) => ({
          id: `copy-${name}`,
          source: { connection: 'files', path: `${name}.csv` },
          target: { connection: 'files', path: `out/${name}.ndjson` },
        })),
      });
      const tasks = resolveSpec(loaded, { registry: connectors }).tasks;
      const inputs = tasks.map((task) => ({
        id: task.id,
        definition: task.portable as never,
        definitionHash: task.definitionHash,
        connections: task.connections,
        maxAttempts: task.retry.attempts,
      }));

      const store = await JournalTaskStore.open(join(dir, '.honk'));
      await store.enqueue(inputs);
      const agent = newAgent(store, { connectors }, { concurrency: 2 });
      const succeeded = record(agent.events, 'task-succeeded');
      await agent.runUntilIdle();
      await agent.stop();
      await store.close();

      expect(succeeded.map((event) => [event.payload.taskId, event.payload.stats.rows]).sort()).toEqual([
        ['copy-a', 500],
        ['copy-b', 100],
      ]);
      const written = (await readFile(join(dir, 'out/a.ndjson'), 'utf8')).trim().split('\n');
      expect(written).toHaveLength(500);
      expect(JSON.parse(written[499]!)).toMatchObject({ name: 'name-499' });

      // Re-open the journal: what succeeded stays succeeded and nothing runs again.
      const reopened = await JournalTaskStore.open(join(dir, '.honk'));
      const results = await reopened.enqueue(inputs);
      expect(results.map((result) => result.state)).toEqual(['succeeded', 'succeeded']);
      const again = newAgent(reopened, { connectors });
      const claimed = record(again.events, 'task-claimed');
      await again.runUntilIdle();
      await again.stop();
      await reopened.close();
      expect(claimed).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

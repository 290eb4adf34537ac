/**
 * The agent under faults that are not the network's: a connector bug is dead-lettered at
 * once instead of burning every attempt, a full disk is retried after a pause, and target
 * snapshots do not pile up (a newer one replaces the older on the task record, and the
 * sweep discards them after the default retention). Real connectors throughout: the file
 * connector, /dev/full for a real ENOSPC.
 */
import { promises as fs, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Agent } from '../../src/agent/agent.ts';
import { Scheduler } from '../../src/agent/scheduler.ts';
import { defineConnector } from '../../src/connector/connector.ts';
import { ConnectorRegistry } from '../../src/connector/connector-registry.ts';
import { fileConnector } from '../../src/connectors/file/index.ts';
import { MemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import type { TaskDefinition } from '../../src/run/task-definition.ts';
import { createMemoryConnector, MemoryStorage } from '../../src/testing/memory-connector.ts';
import { makeBatch, record, schema, taskInput } from './fixtures.ts';

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop({ drain: false })));
});

/** A sink that writes every batch to /dev/full: the kernel answers ENOSPC. */
const fullDisk = defineConnector({
  specificationVersion: 'v1',
  name: 'fulldisk',
  optionsSchema: z.object({}).strict(),
  endpointSchema: z.object({}).strict(),
  createSink: () => ({
    describe: async () => ({ exists: false }),
    open: async () => ({
      write: async (batch) => {
        await fs.appendFile('/dev/full', Buffer.alloc(batch.numRows * 4));
      },
      stage: async () => {
        throw new Error('unreachable: every write fails');
      },
      publish: async () => ({ ref: null }),
      abort: async () => {},
    }),
  }),
});

/** A source with a bug: it reads a property of undefined. */
const buggy = defineConnector({
  specificationVersion: 'v1',
  name: 'buggy',
  optionsSchema: z.object({}).strict(),
  endpointSchema: z.object({}).strict(),
  createSource: () => ({
    schema: async () => schema,
    async *read() {
      yield makeBatch(10);
      const row = undefined as unknown as { id: number };
      yield makeBatch(row.id);
    },
  }),
});

function world() {
  const storage = new MemoryStorage();
  storage.set('in', schema, [makeBatch(500)]);
  const connectors = new ConnectorRegistry([
    createMemoryConnector({ default: storage }),
    fileConnector,
    fullDisk,
    buggy,
  ]);
  return { storage, connectors };
}

function copyTask(id: string, target: TaskDefinition['target'], source?: TaskDefinition['source']): TaskDefinition {
  return {
    id,
    source: source ?? { connector: 'memory', connection: 'src', options: {}, endpoint: { name: 'in' } },
    target,
  };
}

describe('Agent: deterministic failures and full disks', () => {
  it('dead-letters a connector bug (a TypeError) after one attempt instead of retrying it', async () => {
    const { connectors } = world();
    const store = new MemoryTaskStore();
    const task = copyTask(
      'bug',
      { connector: 'memory', connection: 'dst', options: {}, endpoint: { name: 'out' } },
      {
        connector: 'buggy',
        connection: 'src',
        options: {},
        endpoint: {},
      },
    );
    await store.enqueue([taskInput(task, { maxAttempts: 5 })]);
    const agent = new Agent({ store, connectors, pollMs: 20, retry: { initialMs: 5, maxMs: 10, jitter: 'none' } });
    agents.push(agent);
    const seen = record(agent.events, 'task-retrying', 'task-dead');
    await agent.runUntilIdle();
    const stored = await store.get('bug');
    expect(stored).toMatchObject({ state: 'dead', attempts: 1, lastError: { code: 'INTERNAL', retryable: false } });
    expect(stored?.lastError?.message).toContain('Connector "buggy" failed in read()');
    expect(seen.map((event) => event.name)).toEqual(['task-dead']);
    expect(seen[0]?.payload).toMatchObject({ reason: 'non-retryable' });
  });

  it('retries a full disk (a real ENOSPC) after a pause, not at once', async () => {
    const { connectors } = world();
    const store = new MemoryTaskStore();
    const task = copyTask('full', { connector: 'fulldisk', connection: 'dst', options: {}, endpoint: {} });
    await store.enqueue([taskInput(task, { maxAttempts: 3 })]);
    // The jittered backoff alone would retry within 5 ms.
    const agent = new Agent({ store, connectors, pollMs: 20, retry: { initialMs: 5, maxMs: 60_000, jitter: 'full' } });
    agents.push(agent);
    const seen = record(agent.events, 'task-retrying');
    agent.start();
    const deadline = Date.now() + 20_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const retry = seen[0]?.payload;
    expect(retry?.error).toMatchObject({ code: 'NO_SPACE', retryable: true, retryAfterMs: 60_000 });
    expect(retry?.error.message).toContain('No space left on device (ENOSPC) in connector "fulldisk" write()');
    expect(retry?.delayMs).toBe(60_000);
    const stored = await store.get('full');
    expect(stored?.state).toBe('retrying');
    expect(Date.parse(stored!.runAt) - Date.now()).toBeGreaterThan(30_000);
  });

  it('never waits longer than the policy allows, even for a full disk', async () => {
    const { connectors } = world();
    const store = new MemoryTaskStore();
    const task = copyTask('full', { connector: 'fulldisk', connection: 'dst', options: {}, endpoint: {} });
    await store.enqueue([taskInput(task, { maxAttempts: 2 })]);
    const agent = new Agent({ store, connectors, pollMs: 20, retry: { initialMs: 5, maxMs: 30, jitter: 'none' } });
    agents.push(agent);
    const seen = record(agent.events, 'task-retrying', 'task-dead');
    await agent.runUntilIdle();
    expect(seen.map((event) => event.name)).toEqual(['task-retrying', 'task-dead']);
    expect(seen[0]?.payload).toMatchObject({ delayMs: 30 });
    expect(seen[1]?.payload).toMatchObject({ reason: 'attempts-exhausted', error: { code: 'NO_SPACE' } });
  });
});

describe('Agent: snapshots do not pile up', () => {
  function snapshotDirectories(root: string): string[] {
    const base = join(root, '.honk-snapshots');
    return readdirSync(base, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  }

  it('keeps one snapshot per task: a newer publish discards the snapshot it replaces on the record', async () => {
    const { connectors } = world();
    const root = mkdtempSync(join(tmpdir(), 'honk-agent-snapshots-'));
    const store = new MemoryTaskStore();
    const task = copyTask('orders', {
      connector: 'file',
      connection: 'lake',
      options: { root },
      endpoint: { path: 'orders.arrow' },
    });
    const agent = new Agent({ store, connectors, pollMs: 20 });
    agents.push(agent);
    const discarded = record(agent.events, 'snapshot-discarded');
    const refs: unknown[] = [];
    for (let run = 0; run < 4; run++) {
      await store.enqueue([taskInput(task)], { onConflict: 'replace' });
      await agent.runUntilIdle();
      const stored = await store.get('orders');
      expect(stored?.state).toBe('succeeded');
      refs.push(stored?.snapshotRef);
    }
    // The first run had no target to snapshot; each later one kept the previous target.
    expect(refs[0]).toBeUndefined();
    expect(new Set(refs.slice(1).map((ref) => JSON.stringify(ref))).size).toBe(3);
    const kept = snapshotDirectories(root);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toBe(join(root, (refs[3] as { path: string }).path));
    expect(discarded.map((event) => [event.payload.reason, event.payload.ref])).toEqual([
      ['superseded', refs[1]],
      ['superseded', refs[2]],
    ]);
  });

  it('discards a snapshot after the default retention of 7 days, not before', async () => {
    const { connectors } = world();
    const root = mkdtempSync(join(tmpdir(), 'honk-agent-retention-'));
    const store = new MemoryTaskStore();
    const task = copyTask('orders', {
      connector: 'file',
      connection: 'lake',
      options: { root },
      endpoint: { path: 'orders.arrow' },
    });
    const agent = new Agent({ store, connectors, pollMs: 20 });
    agents.push(agent);
    for (let run = 0; run < 2; run++) {
      await store.enqueue([taskInput(task)], { onConflict: 'replace' });
      await agent.runUntilIdle();
    }
    const ref = (await store.get('orders'))?.snapshotRef as { takenAt: string };
    expect(snapshotDirectories(root)).toHaveLength(1);
    const scheduler = new Scheduler({ store, connectors, agentId: 'sweeper' });
    const takenAt = Date.parse(ref.takenAt);
    expect(await scheduler.sweepSnapshots({ force: true, now: new Date(takenAt + 6 * 86_400_000) })).toBe(0);
    expect(snapshotDirectories(root)).toHaveLength(1);
    expect(await scheduler.sweepSnapshots({ force: true, now: new Date(takenAt + 7 * 86_400_000 + 1) })).toBe(1);
    expect(readdirSync(root)).toEqual(['orders.arrow']);
  });
});

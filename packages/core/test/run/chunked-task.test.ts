/**
 * Chunked tasks with the file connector: local mode (runTask), and through agents on a task
 * store — checkpoints kept across a stopped agent, a chunk committed but never recorded,
 * a source that changes between chunks, a stale attempt's commit, and capability errors.
 */
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Agent,
  ConnectorRegistry,
  chunkName,
  createFileSink,
  createFileSource,
  createMemoryTaskStore,
  fileConnector,
  runChunk,
  runTask,
  type TaskDefinition,
  type TaskRecord,
} from '../../src/index.ts';
import { attachMetrics, createMetrics } from '../../src/observe/metrics.ts';
import { createMemoryConnector, fingerprint, MemoryStorage } from '../../src/testing/index.ts';
import { makeBatch, schema } from '../agent/fixtures.ts';

const roots: string[] = [];

afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

/** A root with `files` CSV part files of `rows` rows each under `in/`. */
async function setup(files = 6, rows = 500) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'honk-chunks-'));
  roots.push(root);
  await writeFile(path.join(root, 'placeholder'), '');
  const dir = path.join(root, 'in');
  await import('node:fs/promises').then((fs) => fs.mkdir(dir));
  for (let file = 0; file < files; file++) await writeFile(path.join(dir, `part-${file}.csv`), csv(file, rows));
  const registry = new ConnectorRegistry([fileConnector]);
  const task = (overrides: Partial<TaskDefinition> = {}): TaskDefinition => ({
    id: 'orders',
    source: { connector: 'file', connection: 'legacy', options: { root }, endpoint: { path: 'in', format: 'csv' } },
    target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'out', format: 'parquet' } },
    chunks: { max: 3 },
    ...overrides,
  });
  return { root, registry, task };
}

function csv(file: number, rows: number, suffix = ''): string {
  const lines = ['id,name,amount'];
  for (let row = 0; row < rows; row++) lines.push(`${file * 100_000 + row},name ${file}-${row}${suffix},${row * 0.25}`);
  return `${lines.join('\n')}\n`;
}

async function readAll(source: {
  read: (o: { signal: AbortSignal; batchRows: number }) => AsyncIterable<RecordBatch>;
  schema(): Promise<import('apache-arrow').Schema>;
}) {
  const batches: RecordBatch[] = [];
  for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10_000 }))
    batches.push(batch);
  return { schema: await source.schema(), batches };
}

/** Fingerprints (count + checksum) of the source CSVs and of the published target, read independently. */
async function compare(root: string) {
  const source = await readAll(createFileSource({ options: { root }, endpoint: { path: 'in', format: 'csv' } }));
  const target = await readAll(createFileSource({ options: { root }, endpoint: { path: 'out', format: 'parquet' } }));
  return {
    source: await fingerprint(source.schema, source.batches),
    target: await fingerprint(source.schema, target.batches),
  };
}

async function stagingLeft(root: string): Promise<string[]> {
  return (await readdir(root)).filter((name) => name.startsWith('.honk-'));
}

describe('chunked tasks (file connector)', () => {
  it('runs every chunk in one attempt without a store, validates the whole and publishes once', async () => {
    const { root, registry, task } = await setup();
    const report = await runTask({ task: task(), connectors: registry });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.chunks).toMatchObject({ count: 3, rows: 3000 });
    expect(report.stats.rows).toBe(3000);
    expect(report.validation?.ok).toBe(true);
    expect(report.validation?.checks.find((check) => check.name === 'checksum')?.expected).toMatchObject({
      rows: 3000,
    });
    const { source, target } = await compare(root);
    expect(target).toEqual(source);
    expect((await readdir(path.join(root, 'out'))).filter((name) => name.startsWith('part-'))).toHaveLength(3);
    expect(await readdir(path.join(root, 'out'))).not.toContainEqual(expect.stringMatching(/^\./));
    expect(await stagingLeft(root)).toEqual([]);
  });

  it('spreads chunks over agents on a store; each chunk runs once and the task publishes once', async () => {
    const { root, registry, task } = await setup(8, 300);
    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'orders', definition: task({ chunks: { max: 4 } }) as never }]);
    const agents = [1, 2, 3].map((n) => new Agent({ store, connectors: registry, id: `agent-${n}`, concurrency: 1 }));
    const released: string[] = [];
    const registryOfMetrics = new Registry();
    const metrics = createMetrics({ registry: registryOfMetrics });
    for (const agent of agents) {
      agent.events.on('task-released', (event) => released.push(`${event.taskId}:${event.reason}`));
      attachMetrics(agent.events, metrics);
    }
    await Promise.all(agents.map((agent) => agent.runUntilIdle()));
    await Promise.all(agents.map((agent) => agent.stop()));
    // Rows are counted once, as the chunks move them; the task's success adds none again.
    const text = await registryOfMetrics.metrics();
    expect(text).toContain('honk_rows_transferred_total 2400');
    expect(text).toContain('honk_tasks_total{state="succeeded"} 5');
    expect(text).toContain('honk_tasks_total{state="released"} 1');
    expect(text).toContain('honk_tasks_in_flight 0');
    const parent = (await store.get('orders')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.outcome)).toEqual(['split', 'succeeded']);
    expect((parent.report as { chunks?: unknown }).chunks).toMatchObject({ count: 4, rows: 2400 });
    expect(released).toEqual(['orders:chunked']);
    const chunks = await store.list({ ids: [0, 1, 2, 3].map((index) => `orders#${index}`) });
    expect(chunks.map((chunk) => [chunk.state, chunk.attempts])).toEqual(Array(4).fill(['succeeded', 1]));
    const { source, target } = await compare(root);
    expect(target).toEqual(source);
    expect(await stagingLeft(root)).toEqual([]);
  });

  it('keeps finished chunks when an agent stops: the next agent runs only the rest', async () => {
    const { root, registry, task } = await setup(6, 300);
    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'orders', definition: task() as never }]);
    const first = new Agent({ store, connectors: registry, id: 'first', concurrency: 1 });
    const stopped = new Promise<void>((resolve) => {
      first.events.on('task-succeeded', (event) => {
        if (event.taskId === 'orders#0') void first.stop({ drain: false }).then(resolve);
      });
    });
    first.start();
    await stopped;
    expect((await store.get('orders#0'))?.state).toBe('succeeded');
    expect((await store.get('orders'))?.state).toBe('pending');
    const second = new Agent({ store, connectors: registry, id: 'second', concurrency: 2 });
    const ran: string[] = [];
    second.events.on('task-claimed', (event) => ran.push(event.taskId));
    await second.runUntilIdle();
    await second.stop();
    expect((await store.get('orders'))?.state).toBe('succeeded');
    expect(ran).not.toContain('orders#0');
    expect((await store.get('orders#0'))?.history.map((entry) => entry.agentId)).toEqual(['first']);
    const { source, target } = await compare(root);
    expect(target).toEqual(source);
  });

  it('reuses a chunk committed by an attempt that died before the store heard of it, never staging it twice', async () => {
    const { root, registry, task } = await setup(4, 250);
    const definition = task({ chunks: { max: 2 } });
    // Plan and run chunk 0 by hand (an agent that died right after staging it)…
    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'orders', definition: definition as never }]);
    const planner = new Agent({ store, connectors: registry, id: 'planner', concurrency: 1 });
    const split = new Promise<void>((resolve) => planner.events.on('task-released', () => resolve()));
    planner.start();
    await split;
    await planner.stop({ drain: false });
    const chunk0 = (await store.get('orders#0')) as TaskRecord;
    expect(chunk0.state).toBe('pending');
    const early = await runChunk({
      task: definition,
      connectors: registry,
      chunk: { index: 0, plan: chunk0.chunkOf!.plan, ref: chunk0.chunkOf!.ref },
    });
    expect(early.chunk).toMatchObject({ reused: false });
    const rows = early.chunk?.result.rows;
    expect(rows).toBeGreaterThan(0);
    // …then the fleet runs the task: chunk 0 is found staged and reused.
    const agent = new Agent({ store, connectors: registry, id: 'agent', concurrency: 1 });
    const reused: Array<[boolean, number | undefined]> = [];
    agent.events.on('task-succeeded', (event) => {
      if (event.taskId === 'orders#0')
        reused.push([Boolean(event.report.chunk?.reused), event.report.chunk?.result.rows]);
    });
    await agent.runUntilIdle();
    await agent.stop();
    expect(reused).toEqual([[true, rows]]);
    expect((await store.get('orders'))?.state).toBe('succeeded');
    const { source, target } = await compare(root);
    expect(target).toEqual(source);
  });

  it('plans again when the source changes between chunks, and publishes the new data only', async () => {
    const { root, registry, task } = await setup(6, 200);
    const store = createMemoryTaskStore();
    await store.enqueue([
      {
        id: 'orders',
        definition: { ...task(), retry: { backoff: { initialMs: 1, maxMs: 1 } } } as never,
        maxAttempts: 3,
      },
    ]);
    const agent = new Agent({
      store,
      connectors: registry,
      id: 'agent',
      concurrency: 1,
      retry: { initialMs: 1, maxMs: 5 },
    });
    let changed = false;
    agent.events.on('task-succeeded', (event) => {
      if (event.taskId === 'orders#0' && !changed) {
        changed = true;
        // The last file (read by the last chunk) is rewritten after chunk 0 was staged.
        const file = path.join(root, 'in', 'part-5.csv');
        void writeFile(file, csv(5, 200, ' (new)')).then(() => utimes(file, new Date(), new Date(Date.now() + 5000)));
      }
    });
    await agent.runUntilIdle();
    await agent.stop();
    const parent = (await store.get('orders')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual([
      'split',
      'SOURCE_CHANGED',
      'split',
      'succeeded',
    ]);
    const { source, target } = await compare(root);
    expect(target).toEqual(source);
    expect(await stagingLeft(root)).toEqual([]);
  });

  it('fails with CHUNK_FAILED when a chunk fails for good, and a requeue runs only the failed chunk', async () => {
    const { root, registry, task } = await setup(4, 300);
    const flag = path.join(root, 'fail-flag');
    await writeFile(flag, '');
    process.env.HONK_TEST_FAIL_FLAG = flag;
    try {
      const store = createMemoryTaskStore();
      const module = `${path.join(import.meta.dirname, '..', 'fixtures', 'transforms', 'fail-on-flag.ts')}#failOnFlag`;
      await store.enqueue([
        { id: 'orders', definition: task({ chunks: { max: 4 }, transform: { module } }) as never, maxAttempts: 2 },
      ]);
      const first = new Agent({ store, connectors: registry, id: 'first', concurrency: 1 });
      await first.runUntilIdle();
      await first.stop();
      const failed = (await store.get('orders')) as TaskRecord;
      expect(failed.state).toBe('dead');
      expect(failed.lastError).toMatchObject({ code: 'CHUNK_FAILED', retryable: false });
      expect(failed.lastError?.message).toContain('orders#2');
      const chunks = await store.list({ ids: [0, 1, 2, 3].map((index) => `orders#${index}`) });
      expect(chunks.map((chunk) => chunk.state)).toEqual(['succeeded', 'succeeded', 'dead', 'succeeded']);
      expect(await readdir(path.join(root))).not.toContain('out');

      // The cause is fixed; the task is requeued: chunk 2 runs again, the others are kept.
      await rm(flag);
      await store.requeue('orders');
      const second = new Agent({ store, connectors: registry, id: 'second', concurrency: 1 });
      const ran: string[] = [];
      second.events.on('task-claimed', (event) => ran.push(event.taskId));
      await second.runUntilIdle();
      await second.stop();
      expect((await store.get('orders'))?.state).toBe('succeeded');
      expect(ran).toEqual(['orders', 'orders#2', 'orders']);
      const { source, target } = await compare(root);
      expect(target).toEqual(source);
    } finally {
      delete process.env.HONK_TEST_FAIL_FLAG;
    }
  });

  it('refuses a single-file target, a source that cannot split and an incremental task, before moving data', async () => {
    const { registry, task } = await setup(2, 10);
    const single = await runTask({
      task: task({
        target: {
          connector: 'file',
          connection: 'lake',
          options: { root: roots[0] },
          endpoint: { path: 'out.parquet', format: 'parquet' },
        },
      }),
      connectors: registry,
    });
    expect(single.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('single file') });
    expect(await stagingLeft(roots[0] as string)).toEqual([]);
    const storage = new MemoryStorage();
    storage.set('orders', schema, [makeBatch(10)]);
    const memory = await runTask({
      task: task({ source: { connector: 'memory', connection: 'mem', options: {}, endpoint: { name: 'orders' } } }),
      connectors: new ConnectorRegistry([fileConnector, createMemoryConnector({ default: storage })]),
    });
    expect(memory.error).toMatchObject({
      code: 'CAPABILITY_MISSING',
      message: expect.stringContaining('partitionedRead'),
    });
    const incremental = await runTask({ task: task({ incremental: { cursor: 'id' } }), connectors: registry });
    expect(incremental.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('chunks and incremental cannot be combined'),
    });
  });

  it('lets exactly one of two attempts writing the same chunk commit it', async () => {
    const { root, task } = await setup(1, 10);
    const definition = task();
    const sink = createFileSink({
      options: { root },
      endpoint: { path: 'out', format: 'csv' },
      context: { taskId: 'orders' },
    });
    const source = createFileSource({ options: { root }, endpoint: { path: 'in', format: 'csv' } });
    const { schema, batches } = await readAll(source);
    const signal = new AbortController().signal;
    const staging = await sink.openChunked(schema, { signal, mode: 'replace', plan: 'p1' });
    const a = await staging.openChunk(chunkName(0));
    const b = await staging.openChunk(chunkName(0));
    for (const batch of batches) {
      await a.write(batch);
      await b.write(batch);
    }
    const first = await a.commit({ by: 'a' });
    const second = await b.commit({ by: 'b' });
    expect(first.result).toEqual({ by: 'a' });
    expect(second).toEqual(first);
    const writer = await staging.finish([chunkName(0)]);
    const staged = await writer.stage();
    expect(staged.rows).toBe(10);
    expect((staged.ref as { files: string[] }).files).toHaveLength(1);
    await expect(staging.finish([chunkName(0), chunkName(1)])).rejects.toMatchObject({
      code: 'CHUNKS_MISSING',
      chunks: ['00001'],
    });
    await writer.abort();
    expect(definition.chunks).toEqual({ max: 3 });
  });
});

/**
 * Chunked tasks with a BigQuery source (`readApi: storage`) and a file directory target,
 * through agents on a task store, against the emulator (REST + Storage Read API over gRPC):
 * each chunk one stream of one session pinned to an instant; a chunk failing once runs
 * again alone; a session that expired before its chunk ran re-plans (SOURCE_CHANGED), never
 * reading another instant; writes after the plan do not leak into the published data; a
 * REST source is refused.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Agent,
  ConnectorRegistry,
  createFileSource,
  createMemoryTaskStore,
  fileConnector,
  runTask,
  type TaskDefinition,
  type TaskRecord,
} from '@honk/core';
import { createMemoryConnector, fingerprint, MemoryStorage, makeTrickyBatch } from '@honk/core/testing';
import type { RecordBatch, Schema } from 'apache-arrow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryConnector, createBigQueryReadClient, createBigQuerySource } from '../src/index.ts';
import { type EmulatorHarness, startEmulatorHarness } from './helpers/emulator-setup.ts';

const UNAVAILABLE = 14;

let h: EmulatorHarness;
beforeAll(async () => {
  // Small responses, so a stream can break part-way.
  h = await startEmulatorHarness(['ck'], { retries: 2 }, { storageBatchRows: 100 });
});
afterAll(async () => h?.emulator.stop());

const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
});

const memory = new MemoryStorage();
const registry = () =>
  new ConnectorRegistry([bigQueryConnector, fileConnector, createMemoryConnector({ default: memory })]);

/** A BigQuery table `ck.<table>` with `rows` rows, loaded through the connector's sink. */
async function seed(table: string, rows: number, start = 0, mode: 'replace' | 'append' = 'replace'): Promise<void> {
  const batch = makeTrickyBatch(start, rows, { lists: false, nullEvery: 0 });
  memory.set(table, batch.schema, [batch]);
  const report = await runTask({
    task: {
      id: `load-${table}-${mode}`,
      source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: table } },
      target: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table: `ck.${table}` }, mode },
    },
    connectors: registry(),
  });
  expect(report.error).toBeUndefined();
}

async function target(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'honk-bq-chunks-'));
  roots.push(root);
  return root;
}

function task(table: string, root: string, overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    id: table,
    source: {
      connector: 'bigquery',
      connection: 'bq',
      options: h.options,
      endpoint: { table: `ck.${table}`, readApi: 'storage' },
    },
    target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'out', format: 'parquet' } },
    chunks: { max: 4 },
    ...overrides,
  };
}

async function collect(source: { schema(): Promise<Schema>; read: (o: never) => AsyncIterable<RecordBatch> }) {
  const batches: RecordBatch[] = [];
  const schema = await source.schema();
  for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10_000 } as never))
    batches.push(batch);
  return { schema, batches };
}

/** Fingerprints (count + checksum) of the BigQuery table (read over REST) and of the published files. */
async function compare(table: string, root: string) {
  const source = await collect(createBigQuerySource({ api: h.api, endpoint: { table: `ck.${table}` }, pageRows: 500 }));
  const files = await collect(createFileSource({ options: { root }, endpoint: { path: 'out', format: 'parquet' } }));
  return {
    source: await fingerprint(source.schema, source.batches),
    target: await fingerprint(source.schema, files.batches),
  };
}

async function runAgents(store: ReturnType<typeof createMemoryTaskStore>, agents = 2) {
  const running = Array.from(
    { length: agents },
    (_, n) =>
      new Agent({ store, connectors: registry(), id: `agent-${n}`, concurrency: 1, retry: { initialMs: 1, maxMs: 5 } }),
  );
  await Promise.all(running.map((agent) => agent.runUntilIdle()));
  await Promise.all(running.map((agent) => agent.stop()));
}

/** The source partition a chunk record carries (a StorageChunkRef). */
const partitionOf = (chunk: TaskRecord | undefined) =>
  (chunk?.chunkOf?.ref as { partition: { session: string; stream: string } } | undefined)?.partition ?? {
    session: '',
    stream: '',
  };

const chunkIds = (task: string, count: number) => Array.from({ length: count }, (_, index) => `${task}#${index}`);

describe('chunked BigQuery source (readApi: storage)', () => {
  it('splits into the streams of one session, reruns only a chunk that failed, and publishes the table', async () => {
    await seed('orders', 1000);
    const root = await target();
    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'orders', definition: task('orders', root) as never, maxAttempts: 3 }]);
    const sessionsBefore = h.emulator.storage!.requests.filter((r) => r.method === 'CreateReadSession').length;
    // The first two ReadRows calls fail before any row (the connection's `retries: 2`, no
    // progress in between): that chunk's first attempt fails as transient, the queue retries it.
    // One agent, so both faults hit the same chunk.
    h.emulator.storage!.injectFault({ method: 'ReadRows', code: UNAVAILABLE, afterRows: 0, times: 2 });
    await runAgents(store, 1);

    const parent = (await store.get('orders')) as TaskRecord;
    expect(parent.lastError).toBeUndefined();
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.outcome)).toEqual(['split', 'succeeded']);
    expect((parent.report as { chunks?: unknown }).chunks).toMatchObject({ count: 4, rows: 1000 });
    expect((parent.report as { validation?: { ok: boolean } }).validation?.ok).toBe(true);
    const chunks = await store.list({ ids: chunkIds('orders', 4) });
    expect(chunks.map((chunk) => chunk.state)).toEqual(Array(4).fill('succeeded'));
    // Exactly one chunk ran twice; every other ran once.
    expect(chunks.map((chunk) => chunk.attempts)).toEqual([2, 1, 1, 1]);
    expect(chunks[0]?.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual(['TRANSIENT', 'succeeded']);
    // One session for the whole plan: chunks and the finish create none.
    const sessions = h.emulator.storage!.requests.filter((r) => r.method === 'CreateReadSession');
    expect(sessions.length - sessionsBefore).toBe(1);
    const refs = chunks.map(partitionOf);
    expect(new Set(refs.map((ref) => ref.session)).size).toBe(1);
    expect(new Set(refs.map((ref) => ref.stream)).size).toBe(4);

    const { source, target: published } = await compare('orders', root);
    expect(published).toEqual(source);
    expect((await readdir(path.join(root, 'out'))).filter((name) => name.startsWith('part-'))).toHaveLength(4);
  });

  it('re-plans when the session expired before a chunk ran (SOURCE_CHANGED), never reading another instant', async () => {
    await seed('events', 900);
    const root = await target();
    const store = createMemoryTaskStore();
    await store.enqueue([
      { id: 'events', definition: task('events', root, { chunks: { max: 3 } }) as never, maxAttempts: 3 },
    ]);
    // Plan only: an agent that stops once the task split.
    const planner = new Agent({ store, connectors: registry(), id: 'planner', concurrency: 1 });
    const split = new Promise<void>((resolve) => planner.events.on('task-released', () => resolve()));
    planner.start();
    await split;
    await planner.stop({ drain: false });
    const planned = await store.list({ ids: chunkIds('events', 3) });
    expect(planned.map((chunk) => chunk.state)).toEqual(Array(3).fill('pending'));
    const firstSession = partitionOf(planned[0]).session;

    // Hours pass: the plan's session expires; the table is also written to after the plan.
    h.emulator.storage!.expireSessions();
    await seed('events', 50, 5000, 'append');
    await runAgents(store, 1);

    const parent = (await store.get('events')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual([
      'split',
      'SOURCE_CHANGED',
      'split',
      'succeeded',
    ]);
    const failed = (parent.history.find((entry) => entry.error?.code === 'SOURCE_CHANGED')?.error?.message ??
      '') as string;
    expect(failed).toContain('read session');
    const replanned = await store.list({ ids: chunkIds('events', 3) });
    const secondSession = partitionOf(replanned[0]).session;
    expect(secondSession).not.toBe(firstSession);
    // The new plan reads the table as it is now, whole.
    expect((parent.report as { chunks?: unknown }).chunks).toMatchObject({ rows: 950 });
    const { source, target: published } = await compare('events', root);
    expect(published).toEqual(source);
  });

  it('publishes the table as of the plan when rows are appended between chunks (checked by a COUNT as of the plan)', async () => {
    await seed('visits', 600);
    const root = await target();
    const seeded = await collect(createBigQuerySource({ api: h.api, endpoint: { table: 'ck.visits' }, pageRows: 500 }));
    const before = await fingerprint(seeded.schema, seeded.batches);
    const store = createMemoryTaskStore();
    await store.enqueue([{ id: 'visits', definition: task('visits', root, { chunks: { max: 3 } }) as never }]);
    // An agent that stops once chunk 0 is staged…
    const first = new Agent({ store, connectors: registry(), id: 'first', concurrency: 1 });
    const stopped = new Promise<void>((resolve) => {
      first.events.on('task-succeeded', (event) => {
        if (event.taskId === 'visits#0') void first.stop({ drain: false }).then(resolve);
      });
    });
    first.start();
    await stopped;
    // …then rows are appended to the table, and another agent runs the other chunks and the finish.
    await seed('visits', 40, 9000, 'append');
    const queriesBefore = h.emulator.requests.filter(
      (r) => r.method === 'POST' && /\/jobs$|\/queries$/.test(r.path),
    ).length;
    await runAgents(store, 1);

    const parent = (await store.get('visits')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual(['split', 'succeeded']);
    expect((parent.report as { chunks?: unknown }).chunks).toMatchObject({ count: 3, rows: 600 });
    // The finish counted the rows as of the plan with a query (the table had moved on).
    const queries = h.emulator.requests.filter((r) => r.method === 'POST' && /\/jobs$|\/queries$/.test(r.path));
    expect(queries.length).toBeGreaterThan(queriesBefore);
    const files = await collect(createFileSource({ options: { root }, endpoint: { path: 'out', format: 'parquet' } }));
    const table = await collect(createBigQuerySource({ api: h.api, endpoint: { table: 'ck.visits' }, pageRows: 500 }));
    expect(await fingerprint(table.schema, files.batches)).toEqual(before);
    expect(table.batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(640);

    // The check itself: rows that do not add up to the table's at the pinned instant fail it.
    const source = createBigQuerySource({
      api: h.api,
      endpoint: { table: 'ck.visits', readApi: 'storage' },
      pageRows: 500,
      readClient: () => createBigQueryReadClient(h.options),
    });
    const pin = await source.pin();
    await expect(source.checkUnchanged(pin, { rows: 640 })).resolves.toBeUndefined();
    await expect(source.checkUnchanged(pin, { rows: 639 })).rejects.toMatchObject({
      code: 'SOURCE_CHANGED',
      retryable: true,
    });
    await seed('visits', 5, 20000, 'append');
    // The table moved on: counted as of the pin, still 640.
    await expect(source.checkUnchanged(pin, { rows: 640 })).resolves.toBeUndefined();
    await expect(source.checkUnchanged(pin, { rows: 645 })).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    await source.close?.();
  });

  it('refuses a chunked task over the REST path with CAPABILITY_MISSING, naming readApi: storage', async () => {
    await seed('rest', 10);
    const root = await target();
    const definition = task('rest', root);
    const report = await runTask({
      task: { ...definition, source: { ...definition.source, endpoint: { table: 'ck.rest' } } },
      connectors: registry(),
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'CAPABILITY_MISSING', retryable: false });
    expect(report.error?.message).toContain('readApi: storage');
  });
});

/**
 * Chunked tasks with HDFS on the WebHDFS emulator, through agents on a memory task store: a
 * directory of CSV part files → an HDFS directory (and local part files → HDFS), a chunk
 * that fails then resumes with only that chunk run again, a source file rewritten mid-task
 * (SOURCE_CHANGED, then a new plan), a finish repeated after a crash, and a single-file
 * target refused. Two attempts of one chunk, crashed attempts and CHUNKS_MISSING are core's
 * chunked-staging conformance suite (hdfs-conformance.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Agent,
  ConnectorRegistry,
  chunkName,
  createMemoryTaskStore,
  fileConnector,
  runTask,
  type TaskDefinition,
  type TaskRecord,
} from '@honk/core';
import { fingerprint } from '@honk/core/testing';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSourceFiles } from '../src/hdfs-paths.ts';
import { createHdfsSink } from '../src/hdfs-sink.ts';
import { createHdfsSource } from '../src/hdfs-source.ts';
import { createHdfsClient, hdfsConnectionSchema, hdfsConnector } from '../src/index.ts';
import { startWebHdfsEmulator, type WebHdfsEmulator } from '../src/testing/index.ts';

const signal = new AbortController().signal;
/** Core's chunk-test transform: fails (not retried) on ids of part 2 while a flag file exists. */
const failOnFlag = `${path.join(import.meta.dirname, '..', '..', 'core', 'test', 'fixtures', 'transforms', 'fail-on-flag.ts')}#failOnFlag`;
const registry = new ConnectorRegistry([hdfsConnector, fileConnector]);

let emulator: WebHdfsEmulator;
let root: string;

beforeAll(async () => {
  emulator = await startWebHdfsEmulator({ listPageSize: 3 });
  root = await mkdtemp(path.join(os.tmpdir(), 'honk-hdfs-chunks-'));
});
afterAll(async () => {
  await emulator?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const options = () => ({ url: emulator.url, user: 'etl', root: '/lake', partFileBytes: 4_000 });
const client = () => createHdfsClient(hdfsConnectionSchema.parse(options()), 'test');
const hdfs = (endpoint: Record<string, unknown>) => ({
  connector: 'hdfs',
  connection: 'lake',
  options: options(),
  endpoint,
});

function csv(part: number, rows: number, suffix = ''): string {
  const lines = ['id,name,amount'];
  for (let row = 0; row < rows; row++) lines.push(`${part * 100_000 + row},name ${part}-${row}${suffix},${row * 0.25}`);
  return `${lines.join('\n')}\n`;
}

async function put(file: string, text: string) {
  const upload = await client().create(file, { overwrite: true });
  await upload.write(Buffer.from(text));
  await upload.finish();
}

async function parts(directory: string, count: number, rows: number) {
  for (let part = 0; part < count; part++) await put(`${directory}/part-${part}.csv`, csv(part, rows));
}

async function fingerprintOf(relative: string, format: 'csv' | 'parquet') {
  const c = client();
  const source = createHdfsSource({
    client: c,
    endpoint: { path: relative, format },
    retries: 2,
    list: () => listSourceFiles(c, '/lake', relative, 'test'),
  });
  const batches: RecordBatch[] = [];
  for await (const batch of source.read({ signal, batchRows: 10_000 })) batches.push(batch);
  return { schema: await source.schema(), batches };
}

/** Fingerprints of the CSV source directory and the published Parquet target, read independently. */
async function compare(from: string, to: string) {
  const source = await fingerprintOf(from, 'csv');
  const target = await fingerprintOf(to, 'parquet');
  return {
    source: await fingerprint(source.schema, source.batches),
    target: await fingerprint(source.schema, target.batches),
  };
}

async function names(directory: string): Promise<string[]> {
  const out: string[] = [];
  for await (const status of client().listStatus(directory)) out.push(status.pathSuffix);
  return out.sort();
}

const stagingLeft = async (parent: string) => (await names(parent)).filter((name) => name.startsWith('.honk-'));

describe('chunked tasks with HDFS (WebHDFS emulator)', () => {
  it('moves a directory of parts to an HDFS directory; a failed chunk is the only one run again after a requeue', async () => {
    await parts('/lake/in/a', 4, 300);
    const flag = path.join(root, 'fail-flag');
    await writeFile(flag, '');
    process.env.HONK_TEST_FAIL_FLAG = flag;
    try {
      const store = createMemoryTaskStore();
      const definition: TaskDefinition = {
        id: 'orders',
        source: hdfs({ path: 'in/a', format: 'csv' }),
        target: hdfs({ path: 'out/a', format: 'parquet' }),
        chunks: { max: 4 },
        transform: { module: failOnFlag },
      };
      await store.enqueue([{ id: 'orders', definition: definition as never, maxAttempts: 2 }]);
      const first = new Agent({ store, connectors: registry, id: 'first', concurrency: 1 });
      await first.runUntilIdle();
      await first.stop();
      const failed = (await store.get('orders')) as TaskRecord;
      expect(failed.state).toBe('dead');
      expect(failed.lastError).toMatchObject({ code: 'CHUNK_FAILED' });
      const chunks = await store.list({ ids: [0, 1, 2, 3].map((index) => `orders#${index}`) });
      expect(chunks.map((chunk) => [chunk.state, chunk.attempts])).toEqual([
        ['succeeded', 1],
        ['succeeded', 1],
        ['dead', 1],
        ['succeeded', 1],
      ]);
      expect(await client().statusIfExists('/lake/out/a')).toBeUndefined();

      await rm(flag);
      await store.requeue('orders');
      const second = new Agent({ store, connectors: registry, id: 'second', concurrency: 2 });
      const ran: string[] = [];
      second.events.on('task-claimed', (event) => ran.push(event.taskId));
      await second.runUntilIdle();
      await second.stop();
      const done = (await store.get('orders')) as TaskRecord;
      expect(done.state).toBe('succeeded');
      expect(ran).toEqual(['orders', 'orders#2', 'orders']);
      const after = await store.list({ ids: [0, 1, 2, 3].map((index) => `orders#${index}`) });
      expect(after.map((chunk) => chunk.history.map((entry) => entry.agentId))).toEqual([
        ['first'],
        ['first'],
        ['first', 'second'],
        ['first'],
      ]);
      expect((done.report as { chunks?: unknown }).chunks).toMatchObject({ count: 4, rows: 1200 });
      const { source, target } = await compare('in/a', 'out/a');
      expect(target).toEqual(source);
      const published = await names('/lake/out/a');
      expect(published.every((name) => /^part-\d{5}-\d{5}\.parquet$/.test(name))).toBe(true);
      expect(published.length).toBeGreaterThanOrEqual(4);
      expect(await stagingLeft('/lake/out')).toEqual([]);
    } finally {
      delete process.env.HONK_TEST_FAIL_FLAG;
    }
  });

  it('moves local part files to HDFS in one call (runTask), validating the whole', async () => {
    const dir = path.join(root, 'in');
    await mkdir(dir, { recursive: true });
    for (let part = 0; part < 5; part++) await writeFile(path.join(dir, `part-${part}.csv`), csv(part, 200));
    const report = await runTask({
      task: {
        id: 'local',
        source: { connector: 'file', connection: 'local', options: { root }, endpoint: { path: 'in', format: 'csv' } },
        target: hdfs({ path: 'out/local', format: 'parquet' }),
        chunks: { max: 3 },
      },
      connectors: registry,
    });
    expect(report.error).toBeUndefined();
    expect(report.chunks).toMatchObject({ count: 3, rows: 1000 });
    expect(report.validation?.ok).toBe(true);
    expect((await fingerprintOf('out/local', 'parquet')).batches.reduce((sum, b) => sum + b.numRows, 0)).toBe(1000);
    expect(await stagingLeft('/lake/out')).toEqual([]);
  });

  it('plans again when a source file is rewritten between chunks, and publishes the new data only', async () => {
    await parts('/lake/in/b', 4, 200);
    const store = createMemoryTaskStore();
    const definition: TaskDefinition = {
      id: 'changing',
      source: hdfs({ path: 'in/b', format: 'csv' }),
      target: hdfs({ path: 'out/b', format: 'parquet' }),
      chunks: { max: 4 },
    };
    await store.enqueue([{ id: 'changing', definition: definition as never, maxAttempts: 3 }]);
    const agent = new Agent({
      store,
      connectors: registry,
      id: 'agent',
      concurrency: 1,
      retry: { initialMs: 1, maxMs: 5 },
    });
    let rewritten: Promise<unknown> | undefined;
    agent.events.on('task-succeeded', (event) => {
      // The last file (read by the last chunk) is rewritten after chunk 0 was staged.
      if (event.taskId === 'changing#0' && !rewritten) rewritten = put('/lake/in/b/part-3.csv', csv(3, 200, ' (new)'));
    });
    await agent.runUntilIdle();
    await agent.stop();
    await rewritten;
    const parent = (await store.get('changing')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual([
      'split',
      'SOURCE_CHANGED',
      'split',
      'succeeded',
    ]);
    const { source, target } = await compare('in/b', 'out/b');
    expect(target).toEqual(source);
    expect(await stagingLeft('/lake/out')).toEqual([]);
  });

  it('finishes again after a finish that moved the parts, finding every chunk under its final name', async () => {
    await parts('/lake/in/c', 1, 10);
    const { schema, batches } = await fingerprintOf('in/c', 'csv');
    const sink = createHdfsSink({
      client: client(),
      options: hdfsConnectionSchema.parse(options()),
      endpoint: { path: 'out/c', format: 'parquet' },
      taskId: 'twice',
    });
    const staging = await sink.openChunked!(schema, { signal, mode: 'replace', plan: 'p1' });
    const writer = await staging.openChunk(chunkName(0));
    for (const batch of batches) await writer.write(batch);
    await writer.commit({ by: 'a' });
    const first = await staging.finish([chunkName(0)]);
    expect((await first.stage()).ref).toMatchObject({ files: ['part-00000-00000.parquet'] });
    // The agent died before publishing: the next finish finds the moved parts.
    expect(await staging.committed(chunkName(0))).toMatchObject({ result: { by: 'a' }, rows: 10 });
    const again = await staging.finish([chunkName(0)]);
    expect((await again.stage()).rows).toBe(10);
    await again.publish();
    expect(await names('/lake/out/c')).toEqual(['part-00000-00000.parquet']);
    const read = await fingerprintOf('out/c', 'parquet');
    expect(await fingerprint(schema, read.batches)).toEqual(await fingerprint(schema, batches));
    expect(await stagingLeft('/lake/out')).toEqual([]);
  });

  it('refuses a single-file target before moving data', async () => {
    await parts('/lake/in/d', 2, 10);
    const report = await runTask({
      task: {
        id: 'single',
        source: hdfs({ path: 'in/d', format: 'csv' }),
        target: hdfs({ path: 'out/d.parquet' }),
        chunks: { max: 2 },
      },
      connectors: registry,
    });
    expect(report.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('single file') });
    expect(await client().statusIfExists('/lake/out/d.parquet')).toBeUndefined();
  });
});

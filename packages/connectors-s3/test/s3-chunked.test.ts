/**
 * Chunked tasks with S3 on s3rver, through agents on a memory task store: a prefix of CSV
 * part objects → an S3 prefix (and local part files → S3), a chunk that fails then resumes
 * with only that chunk run again, a source object replaced mid-task (SOURCE_CHANGED, then a
 * new plan), and a `key` target refused. Two attempts of one chunk, crashed attempts and
 * CHUNKS_MISSING are core's chunked-staging conformance suite (s3-conformance.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  Agent,
  ConnectorRegistry,
  createMemoryTaskStore,
  fileConnector,
  runTask,
  type TaskDefinition,
  type TaskRecord,
} from '@honk/core';
import { fingerprint } from '@honk/core/testing';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { s3Connector } from '../src/index.ts';
import { listPinned, type S3Location } from '../src/s3-listing.ts';
import { MANIFEST_NAME } from '../src/s3-manifest.ts';
import { type S3ConnectionOptions, s3ConnectionSchema } from '../src/s3-options.ts';
import { createS3Source } from '../src/s3-source.ts';
import { type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';

const signal = new AbortController().signal;
/** Core's chunk-test transform: fails (not retried) on ids of part 2 while a flag file exists. */
const failOnFlag = `${path.join(import.meta.dirname, '..', '..', 'core', 'test', 'fixtures', 'transforms', 'fail-on-flag.ts')}#failOnFlag`;
const registry = new ConnectorRegistry([s3Connector, fileConnector]);

function csv(part: number, rows: number, suffix = ''): string {
  const lines = ['id,name,amount'];
  for (let row = 0; row < rows; row++) lines.push(`${part * 100_000 + row},name ${part}-${row}${suffix},${row * 0.25}`);
  return `${lines.join('\n')}\n`;
}

describe('chunked tasks with S3 (s3rver)', () => {
  let server: S3TestServer;
  let connection: Record<string, unknown>;
  let options: S3ConnectionOptions;
  let location: S3Location;
  let root: string;

  beforeAll(async () => {
    server = await startS3TestServer('s3rver');
    connection = { ...(await server.connection('chunks', { partFileBytes: 4_000 })) };
    options = s3ConnectionSchema.parse(connection);
    location = { client: createS3Client(options), bucket: 'chunks', connection: 'test', retries: 3 };
    root = await mkdtemp(path.join(os.tmpdir(), 'honk-s3-chunks-'));
  });
  afterAll(async () => {
    location?.client.destroy();
    await server?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const put = (key: string, body: string) =>
    location.client.send(new PutObjectCommand({ Bucket: 'chunks', Key: key, Body: body }));

  async function parts(prefix: string, count: number, rows: number) {
    for (let part = 0; part < count; part++) await put(`${prefix}part-${part}.csv`, csv(part, rows));
  }

  const s3 = (endpoint: Record<string, unknown>) => ({
    connector: 's3',
    connection: 'lake',
    options: connection,
    endpoint,
  });

  async function readAll(endpoint: { prefix: string; format: 'csv' | 'parquet' }) {
    const source = createS3Source({
      client: location.client,
      bucket: 'chunks',
      connection: 'test',
      retries: 3,
      endpoint,
    });
    const batches: RecordBatch[] = [];
    for await (const batch of source.read({ signal, batchRows: 10_000 })) batches.push(batch);
    return fingerprint(await source.schema(), batches);
  }

  /** Fingerprints of the CSV source prefix and the published Parquet target, read independently. */
  async function compare(from: string, to: string) {
    const source = createS3Source({
      client: location.client,
      bucket: 'chunks',
      connection: 'test',
      retries: 3,
      endpoint: { prefix: from, format: 'csv' },
    });
    const batches: RecordBatch[] = [];
    for await (const batch of source.read({ signal, batchRows: 10_000 })) batches.push(batch);
    const schema = await source.schema();
    const target = createS3Source({
      client: location.client,
      bucket: 'chunks',
      connection: 'test',
      retries: 3,
      endpoint: { prefix: to, format: 'parquet' },
    });
    const targetBatches: RecordBatch[] = [];
    for await (const batch of target.read({ signal, batchRows: 10_000 })) targetBatches.push(batch);
    return { source: await fingerprint(schema, batches), target: await fingerprint(schema, targetBatches) };
  }

  const stagingLeft = async () => (await listPinned(location, '_honk/')).map((object) => object.key);

  it('moves a prefix of parts to an S3 prefix; a failed chunk is the only one run again after a requeue', async () => {
    await parts('in/a/', 4, 300);
    const flag = path.join(root, 'fail-flag');
    await writeFile(flag, '');
    process.env.HONK_TEST_FAIL_FLAG = flag;
    try {
      const store = createMemoryTaskStore();
      const definition: TaskDefinition = {
        id: 'orders',
        source: s3({ prefix: 'in/a/', format: 'csv' }),
        target: s3({ prefix: 'out/a/', format: 'parquet' }),
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
      expect(await listPinned(location, 'out/a/')).toEqual([]);

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
      const { source, target } = await compare('in/a/', 'out/a/');
      expect(target).toEqual(source);
      const published = (await listPinned(location, 'out/a/')).map((object) => object.key);
      expect(published).toContain(`out/a/${MANIFEST_NAME}`);
      expect(published.filter((key) => key.endsWith('.parquet')).length).toBeGreaterThanOrEqual(4);
      expect(await stagingLeft()).toEqual([]);
    } finally {
      delete process.env.HONK_TEST_FAIL_FLAG;
    }
  });

  it('moves local part files to S3 in one call (runTask), validating the whole', async () => {
    const dir = path.join(root, 'in');
    await mkdir(dir, { recursive: true });
    for (let part = 0; part < 5; part++) await writeFile(path.join(dir, `part-${part}.csv`), csv(part, 200));
    const report = await runTask({
      task: {
        id: 'local',
        source: { connector: 'file', connection: 'local', options: { root }, endpoint: { path: 'in', format: 'csv' } },
        target: s3({ prefix: 'out/local/', format: 'parquet' }),
        chunks: { max: 3 },
      },
      connectors: registry,
    });
    expect(report.error).toBeUndefined();
    expect(report.chunks).toMatchObject({ count: 3, rows: 1000 });
    expect(report.validation?.ok).toBe(true);
    expect(await readAll({ prefix: 'out/local/', format: 'parquet' })).toMatchObject({ rows: 1000 });
    expect(await stagingLeft()).toEqual([]);
  });

  it('plans again when a source object is replaced between chunks, and publishes the new data only', async () => {
    await parts('in/b/', 4, 200);
    const store = createMemoryTaskStore();
    const definition: TaskDefinition = {
      id: 'changing',
      source: s3({ prefix: 'in/b/', format: 'csv' }),
      target: s3({ prefix: 'out/b/', format: 'parquet' }),
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
    let replaced: Promise<unknown> | undefined;
    agent.events.on('task-succeeded', (event) => {
      // The last object (read by the last chunk) is replaced after chunk 0 was staged: a new ETag.
      if (event.taskId === 'changing#0' && !replaced) replaced = put('in/b/part-3.csv', csv(3, 200, ' (new)'));
    });
    await agent.runUntilIdle();
    await agent.stop();
    await replaced;
    const parent = (await store.get('changing')) as TaskRecord;
    expect(parent.state).toBe('succeeded');
    expect(parent.history.map((entry) => entry.error?.code ?? entry.outcome)).toEqual([
      'split',
      'SOURCE_CHANGED',
      'split',
      'succeeded',
    ]);
    const { source, target } = await compare('in/b/', 'out/b/');
    expect(target).toEqual(source);
    expect(await stagingLeft()).toEqual([]);
  });

  it('refuses a single-object target before moving data', async () => {
    await parts('in/d/', 2, 10);
    const report = await runTask({
      task: {
        id: 'single',
        source: s3({ prefix: 'in/d/', format: 'csv' }),
        target: s3({ key: 'out/d.parquet' }),
        chunks: { max: 2 },
      },
      connectors: registry,
    });
    expect(report.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('single object') });
  });
});

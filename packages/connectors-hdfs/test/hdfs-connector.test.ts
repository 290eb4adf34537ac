/**
 * The connector through the real engine (`runTask`) on the emulator: CSV part files, globs
 * and hidden files, a source that changes mid-read, append mode, refusals at preflight,
 * paths outside the root, errors through the task report, and discover().
 */
import { ConnectorRegistry, fileConnector, runTask, type TaskDefinition } from '@honk/core';
import { createMemoryConnector, MemoryStorage } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSourceFiles } from '../src/hdfs-paths.ts';
import { createHdfsSource } from '../src/hdfs-source.ts';
import { createHdfsClient, hdfsConnectionSchema, hdfsConnector } from '../src/index.ts';
import { startWebHdfsEmulator, type WebHdfsEmulator } from '../src/testing/index.ts';

let emulator: WebHdfsEmulator;
const memory = new MemoryStorage();
const registry = new ConnectorRegistry([hdfsConnector, fileConnector, createMemoryConnector({ default: memory })]);

beforeAll(async () => {
  emulator = await startWebHdfsEmulator({ listPageSize: 3 });
});
afterAll(async () => {
  await emulator?.stop();
});

const options = (extra: Record<string, unknown> = {}) => ({ url: emulator.url, user: 'etl', root: '/lake', ...extra });
const client = () => createHdfsClient(hdfsConnectionSchema.parse(options()), 'test');

async function put(path: string, text: string) {
  const upload = await client().create(path, { overwrite: true });
  await upload.write(Buffer.from(text));
  await upload.finish();
}

function task(
  id: string,
  source: Record<string, unknown>,
  target: Record<string, unknown>,
  mode?: 'append',
): TaskDefinition {
  return {
    id,
    source: { connector: 'hdfs', connection: 'lake', options: options(), endpoint: source },
    target: { connector: 'hdfs', connection: 'lake', options: options(), endpoint: target, ...(mode ? { mode } : {}) },
    validate: { rowCount: true, checksum: true, sample: 10, schema: false },
  };
}

async function readRows(path: string): Promise<string[]> {
  const hdfs = client();
  const source = createHdfsSource({
    client: hdfs,
    endpoint: { path },
    retries: 2,
    list: () => listSourceFiles(hdfs, '/lake', path, 'test'),
  });
  const rows: string[] = [];
  for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 1000 })) {
    for (const row of batch)
      rows.push(JSON.stringify(row.toJSON(), (_, value) => (typeof value === 'bigint' ? String(value) : value)));
  }
  return rows;
}

describe('hdfs through runTask', () => {
  beforeAll(async () => {
    await put('/lake/raw/orders/part-0.csv', 'id,amount\n1,10.50\n2,20.25\n');
    await put('/lake/raw/orders/part-1.csv', 'id,amount\n3,30.00\n');
    await put('/lake/raw/orders/_SUCCESS', '');
    await put('/lake/raw/orders/.part-2.csv.crc', 'not data');
  });

  it('a directory of CSV parts (hidden files skipped) becomes a Parquet directory, validated', async () => {
    const report = await runTask({
      task: task(
        'csv-to-parquet',
        { path: 'raw/orders/', format: 'csv', schema: { amount: 'decimal(10,2)' } },
        { path: 'curated/orders/', format: 'parquet' },
      ),
      connectors: registry,
    });
    expect(report.error).toBeUndefined();
    expect(report.stats.rows).toBe(3);
    expect(report.validation?.ok).toBe(true);
    // Decimals come back exact: unscaled integers of a decimal(10,2) column.
    expect(await readRows('curated/orders/')).toEqual([
      '{"id":"1","amount":"\\"1050\\""}',
      '{"id":"2","amount":"\\"2025\\""}',
      '{"id":"3","amount":"\\"3000\\""}',
    ]);
    const hdfs = client();
    const staged = createHdfsSource({
      client: hdfs,
      endpoint: { path: 'curated/orders/' },
      retries: 2,
      list: () => listSourceFiles(hdfs, '/lake', 'curated/orders/', 'test'),
    });
    expect(String((await staged.schema()).fields[1]?.type)).toBe('Decimal[10e+2]');
  });

  it('a glob picks matching files in name order', async () => {
    const files = await listSourceFiles(client(), '/lake', 'raw/*/part-*.csv', 'test');
    expect(files.map((file) => file.path)).toEqual(['/lake/raw/orders/part-0.csv', '/lake/raw/orders/part-1.csv']);
    await expect(listSourceFiles(client(), '/lake', 'raw/*/nothing-*.csv', 'test')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a file appended to after it was listed fails the read with SOURCE_CHANGED (transient)', async () => {
    await put('/lake/changing/a.csv', 'id\n1\n2\n');
    const hdfs = client();
    const source = createHdfsSource({
      client: hdfs,
      endpoint: { path: 'changing/' },
      retries: 2,
      list: () => listSourceFiles(hdfs, '/lake', 'changing/', 'test'),
    });
    await source.schema();
    const upload = await hdfs.append('/lake/changing/a.csv');
    await upload.write(Buffer.from('3\n'));
    await upload.finish();
    const read = async () => {
      for await (const _ of source.read({ signal: new AbortController().signal, batchRows: 10 })) {
        // Draining: the change is found when the file is checked after its bytes.
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'SOURCE_CHANGED', retryable: true });
  });

  it('append adds part files to a directory target; running the same task twice never duplicates', async () => {
    await put('/lake/events-in/day-2.csv', 'id,amount\n4,1.00\n5,2.00\n');
    const append = task(
      'append-day-2',
      { path: 'events-in/day-2.csv', schema: { amount: 'decimal(10,2)' } },
      { path: 'curated/orders/', format: 'parquet' },
      'append',
    );
    for (let run = 0; run < 2; run += 1) {
      const report = await runTask({ task: append, connectors: registry });
      expect(report.error).toBeUndefined();
    }
    expect((await readRows('curated/orders/')).map((row) => JSON.parse(row).id)).toEqual(['1', '2', '3', '4', '5']);
  });

  it('append refuses at preflight: a file target (CAPABILITY_MISSING) and another schema (SCHEMA_MISMATCH)', async () => {
    await put('/lake/other/x.csv', 'name\nz\n');
    const onFile = await runTask({
      task: task('append-file', { path: 'other/x.csv' }, { path: 'single.parquet' }, 'append'),
      connectors: registry,
    });
    expect(onFile.error).toMatchObject({ code: 'CAPABILITY_MISSING', retryable: false });
    const other = await runTask({
      task: task('append-schema', { path: 'other/x.csv' }, { path: 'curated/orders/', format: 'parquet' }, 'append'),
      connectors: registry,
    });
    expect(other.error).toMatchObject({ code: 'SCHEMA_MISMATCH', retryable: false });
    expect(other.error?.message).toMatch(/cannot append to "\/lake\/curated\/orders"/);
    expect((await readRows('curated/orders/')).length).toBe(5);
  });

  it('a single-file target is replaced in one atomic RENAME with OVERWRITE', async () => {
    for (const salt of ['1', '2']) {
      await put('/lake/one/in.csv', `id\n${salt}\n`);
      const report = await runTask({
        task: task(`single-${salt}`, { path: 'one/in.csv' }, { path: 'one/out.parquet' }),
        connectors: registry,
      });
      expect(report.error).toBeUndefined();
    }
    expect(
      emulator.requests.some(
        (request) => request.op === 'RENAME' && request.query.get('renameoptions') === 'OVERWRITE',
      ),
    ).toBe(true);
    expect(await readRows('one/out.parquet')).toEqual(['{"id":"2"}']);
  });

  it('a path outside the root is a CONFIG_INVALID naming it; a permission refusal is AUTH_FAILED and not retried', async () => {
    const outside = await runTask({
      task: task('outside', { path: '../etc/passwd' }, { path: 'x.parquet' }),
      connectors: registry,
    });
    expect(outside.error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(outside.error?.message).toMatch(/"\.\.\/etc\/passwd" resolves outside the connection root "\/lake"/);
    await client().mkdirs('/lake/locked');
    await client().setPermission('/lake/locked', '700');
    const refused = await runTask({
      task: {
        ...task('refused', { path: 'raw/orders/', format: 'csv' }, { path: 'locked/out/' }),
        target: {
          connector: 'hdfs',
          connection: 'lake',
          options: options({ user: 'intruder' }),
          endpoint: { path: 'locked/out/' },
        },
      },
      connectors: registry,
    });
    expect(refused.error).toMatchObject({ code: 'AUTH_FAILED', retryable: false });
  });
});

describe('discover()', () => {
  it('lists dataset directories and files with sizes and formats, skipping hidden names', async () => {
    await put('/lake/catalog/sales/part-0.parquet', 'PAR1xxxxPAR1');
    await put('/lake/catalog/sales/part-1.parquet', 'PAR1yyPAR1');
    await put('/lake/catalog/readme.txt', 'not a dataset');
    await put('/lake/catalog/users.csv', 'id\n1\n');
    await client().mkdirs('/lake/catalog/.honk-staging-x');
    const context = {
      taskId: 'discover',
      connectionName: 'lake',
      signal: new AbortController().signal,
      logger: console,
    };
    const found = await hdfsConnector.discover!({
      options: hdfsConnectionSchema.parse(options()),
      scope: { within: 'catalog' },
      context,
    });
    expect(found).toEqual([
      {
        name: 'catalog/sales/',
        kind: 'directory',
        endpoint: { path: 'catalog/sales/', format: 'parquet' },
        bytes: 22,
        modifiedAt: expect.any(String),
      },
      {
        name: 'catalog/users.csv',
        kind: 'file',
        endpoint: { path: 'catalog/users.csv', format: 'csv' },
        bytes: 5,
        modifiedAt: expect.any(String),
      },
    ]);
    expect(
      emulator.requests.some((request) => request.op === 'GETCONTENTSUMMARY' && request.path === '/lake/catalog/sales'),
    ).toBe(true);
    await expect(
      hdfsConnector.discover!({
        options: hdfsConnectionSchema.parse(options()),
        scope: { within: 'nowhere' },
        context,
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const limited = await hdfsConnector.discover!({
      options: hdfsConnectionSchema.parse(options()),
      scope: { within: 'catalog', limit: 1 },
      context,
    });
    expect(limited).toHaveLength(1);
  });
});

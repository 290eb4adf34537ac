/**
 * Behaviour beyond the conformance suites, against the in-process emulator: publish modes
 * (append idempotency marker, merge, replace keeping partitioning), point-in-time reads,
 * query sources, count by metadata, discovery, error mapping and retries.
 */
import { ConnectorRegistry, runTask, type TaskDefinition } from '@honk/core';
import { createMemoryConnector, MemoryStorage, makeTrickyBatch } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryConnector, createBigQuerySnapshot, createBigQuerySource } from '../src/index.ts';
import { context, type EmulatorHarness, PROJECT, startEmulatorHarness } from './helpers/emulator-setup.ts';

let h: EmulatorHarness;
beforeAll(async () => {
  h = await startEmulatorHarness(['sales'], { retries: 3 });
});
afterAll(async () => h?.emulator.stop());

const options = { lists: false, nullEvery: 0 };
const storage = new MemoryStorage();
const registry = () => new ConnectorRegistry([bigQueryConnector, createMemoryConnector({ default: storage })]);

function task(
  id: string,
  from: string,
  table: string,
  publish: { mode?: 'replace' | 'append' | 'merge'; key?: string[] } = {},
): TaskDefinition {
  return {
    id,
    source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: from } },
    target: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table }, ...publish },
    validate: { rowCount: true, checksum: true, sample: 10, schema: false },
  };
}

function seedMemory(name: string, start: number, rows: number) {
  const batch = makeTrickyBatch(start, rows, options);
  storage.set(name, batch.schema, [batch]);
}

const rowsOf = async (table: string) =>
  Number((await h.api.getTable({ projectId: PROJECT, datasetId: 'sales', tableId: table }))?.numRows);

describe('publish modes', () => {
  it('append: the same task with the same data appends once; new data appends again', async () => {
    seedMemory('a1', 0, 100);
    const first = await runTask({
      task: task('append-orders', 'a1', 'sales.appended', { mode: 'append' }),
      connectors: registry(),
    });
    expect(first.ok).toBe(true);
    const again = await runTask({
      task: task('append-orders', 'a1', 'sales.appended', { mode: 'append' }),
      connectors: registry(),
    });
    expect(again.ok).toBe(true);
    expect(await rowsOf('appended')).toBe(100);
    seedMemory('a1', 100, 50);
    expect(
      (
        await runTask({
          task: task('append-orders', 'a1', 'sales.appended', { mode: 'append' }),
          connectors: registry(),
        })
      ).ok,
    ).toBe(true);
    expect(await rowsOf('appended')).toBe(150);
    const staging = [...h.emulator.store.tables.keys()].filter((key) => key.includes('_honk_staging_'));
    expect(staging).toEqual([]);
  });

  it('append after a snapshot restore: the same data applies again, once', async () => {
    seedMemory('r0', 1_000, 20);
    expect((await runTask({ task: task('restore-base', 'r0', 'sales.restored'), connectors: registry() })).ok).toBe(
      true,
    );
    // What the engine does around a publish: a snapshot first, a restore when a later step fails.
    const snapshot = createBigQuerySnapshot({
      api: h.api,
      options: h.options,
      endpoint: { table: 'sales.restored', snapshotMethod: 'snapshot' },
      taskId: 'append-restore',
    });
    const ref = await snapshot.take();
    expect(ref).not.toBeNull();
    seedMemory('r1', 0, 100);
    const append = () =>
      runTask({ task: task('append-restore', 'r1', 'sales.restored', { mode: 'append' }), connectors: registry() });
    expect((await append()).ok).toBe(true);
    expect(await rowsOf('restored')).toBe(120);
    await snapshot.restore(ref!);
    expect(await rowsOf('restored')).toBe(20);
    // The append's marker (a job id) was used before the restore; the data must still land.
    expect((await append()).ok).toBe(true);
    expect(await rowsOf('restored')).toBe(120);
    expect((await append()).ok).toBe(true);
    expect(await rowsOf('restored')).toBe(120);
    await snapshot.discard(ref!);
  });

  it('merge: updates matching keys, inserts the rest, and a NULL key is refused naming its row', async () => {
    seedMemory('m1', 0, 10);
    expect((await runTask({ task: task('merge-1', 'm1', 'sales.merged'), connectors: registry() })).ok).toBe(true);
    seedMemory('m2', 5, 10);
    const merged = await runTask({
      task: task('merge-2', 'm2', 'sales.merged', { mode: 'merge', key: ['id'] }),
      connectors: registry(),
    });
    expect(merged.ok).toBe(true);
    expect(await rowsOf('merged')).toBe(15);
    const withNulls = makeTrickyBatch(0, 8, { lists: false, nullEvery: 7 });
    storage.set('m3', withNulls.schema, [withNulls]);
    const refused = await runTask({
      task: task('merge-3', 'm3', 'sales.merged', { mode: 'merge', key: ['big'] }),
      connectors: registry(),
    });
    expect(refused.ok).toBe(false);
    expect(refused.error?.message).toMatch(/merge key column "big" is NULL in row 7/);
    expect(await rowsOf('merged')).toBe(15);
  });

  it('replace keeps the partitioning and clustering of an existing target', async () => {
    seedMemory('p1', 0, 20);
    expect((await runTask({ task: task('part-1', 'p1', 'sales.partitioned'), connectors: registry() })).ok).toBe(true);
    const ref = { projectId: PROJECT, datasetId: 'sales', tableId: 'partitioned' };
    await h.api.patchTable(ref, { timePartitioning: { type: 'DAY', field: 'at_utc' }, clustering: { fields: ['id'] } });
    seedMemory('p2', 0, 30);
    expect((await runTask({ task: task('part-2', 'p2', 'sales.partitioned'), connectors: registry() })).ok).toBe(true);
    const after = await h.api.getTable(ref);
    expect(after?.numRows).toBe('30');
    expect(after?.timePartitioning).toEqual({ type: 'DAY', field: 'at_utc' });
    expect(after?.clustering).toEqual({ fields: ['id'] });
  });
});

describe('source', () => {
  it('counts by metadata, reads a query with WHERE, and a table changed during the read fails as SOURCE_CHANGED', async () => {
    seedMemory('s1', 0, 300);
    expect((await runTask({ task: task('source-1', 's1', 'sales.orders'), connectors: registry() })).ok).toBe(true);
    const before = h.emulator.requests.length;
    const table = createBigQuerySource({ api: h.api, endpoint: { table: 'sales.orders' }, pageRows: 100 });
    expect(await table.count!()).toBe(300);
    expect(h.emulator.requests.slice(before).every((request) => !request.path.endsWith('/data'))).toBe(true);

    const query = createBigQuerySource({
      api: h.api,
      endpoint: { query: 'SELECT id, label AS name FROM `sales.orders` WHERE id >= 250 AND flag = TRUE' },
      pageRows: 7,
    });
    expect((await query.schema()).fields.map((field) => field.name)).toEqual(['id', 'name']);
    let rows = 0;
    for await (const batch of query.read({ signal: new AbortController().signal, batchRows: 7 })) rows += batch.numRows;
    expect(rows).toBe(await query.count!());
    // Rows 250–299 whose flag is true (row % 3 ≠ 0).
    expect(rows).toBe(34);

    const changing = createBigQuerySource({ api: h.api, endpoint: { table: 'sales.orders' }, pageRows: 100 });
    const read = async () => {
      let first = true;
      for await (const _ of changing.read({ signal: new AbortController().signal, batchRows: 100 })) {
        if (first) {
          first = false;
          await h.api.call(
            { operation: 'insertAll' },
            {
              method: 'POST',
              uri: '/datasets/sales/tables/orders/insertAll',
              json: { rows: [{ json: { id: 1_000_000 } }] },
            },
          );
        }
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'SOURCE_CHANGED', retryable: true });
  });

  it('snapshotTime reads the table as it was at that instant', async () => {
    seedMemory('t1', 0, 40);
    expect((await runTask({ task: task('time-1', 't1', 'sales.travel'), connectors: registry() })).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const instant = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    seedMemory('t1', 0, 60);
    expect((await runTask({ task: task('time-2', 't1', 'sales.travel'), connectors: registry() })).ok).toBe(true);
    const old = createBigQuerySource({
      api: h.api,
      endpoint: { table: 'sales.travel', snapshotTime: instant },
      pageRows: 1000,
    });
    let rows = 0;
    for await (const batch of old.read({ signal: new AbortController().signal, batchRows: 1000 }))
      rows += batch.numRows;
    expect(rows).toBe(40);
  });

  it('pages a query whose job is still running (PENDING/RUNNING → DONE, jobComplete: false)', async () => {
    const slow = await startEmulatorHarness(['sales'], {}, { jobLatencyMs: 400 });
    try {
      await slow.api.insertTable(
        { projectId: PROJECT, datasetId: 'sales', tableId: 'small' },
        { schema: { fields: [{ name: 'n', type: 'INT64' }] } },
      );
      await slow.api.call(
        { operation: 'insertAll' },
        {
          method: 'POST',
          uri: '/datasets/sales/tables/small/insertAll',
          json: { rows: [{ json: { n: 1 } }, { json: { n: 2 } }] },
        },
      );
      const source = createBigQuerySource({
        api: slow.api,
        endpoint: { query: 'SELECT COUNT(*) AS total FROM sales.small' },
        pageRows: 10,
      });
      const batches = [];
      for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10 }))
        batches.push(batch);
      expect(batches[0]?.get(0)?.toJSON()).toEqual({ total: 2n });
      expect(slow.emulator.requests.filter((request) => /\/jobs\/[^/]+$/.test(request.path)).length).toBeGreaterThan(0);
    } finally {
      await slow.emulator.stop();
    }
  });

  it('a statement outside the emulated subset is a clear, non-retried config error', async () => {
    const source = createBigQuerySource({
      api: h.api,
      endpoint: { query: 'SELECT a FROM x JOIN y ON a = b' },
      pageRows: 10,
    });
    await expect(source.schema()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/not supported by the emulator/),
    });
  });
});

describe('errors and retries', () => {
  it('retries backendError and 503, gives up on 403 at once, maps 404 and quota', async () => {
    seedMemory('e1', 0, 10);
    expect((await runTask({ task: task('errors-1', 'e1', 'sales.errors'), connectors: registry() })).ok).toBe(true);
    const ref = { projectId: PROJECT, datasetId: 'sales', tableId: 'errors' };
    h.emulator.injectFault({ method: 'GET', path: /\/tables\/errors$/, status: 503, reason: 'backendError', times: 2 });
    expect((await h.api.getTable(ref))?.numRows).toBe('10');

    const before = h.emulator.requests.length;
    h.emulator.injectFault({ method: 'GET', path: /\/tables\/errors$/, status: 403, reason: 'accessDenied' });
    await expect(h.api.getTable(ref)).rejects.toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    expect(h.emulator.requests.length - before).toBe(1);

    h.emulator.injectFault({ method: 'GET', path: /\/tables\/errors$/, status: 403, reason: 'quotaExceeded' });
    await expect(h.api.getTable(ref)).rejects.toMatchObject({
      code: 'TRANSIENT',
      retryable: true,
      retryAfterMs: 60_000,
    });

    const missing = await runTask({
      task: {
        id: 'missing',
        source: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table: 'sales.nope' } },
        target: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'never' } },
      },
      connectors: registry(),
    });
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND', retryable: false });
    expect(missing.error?.message).toMatch(/sales\.nope/);
  });
});

describe('errors and retries on pages', () => {
  it('a page read retries 503 and backendError, and maps 403 and 404 at once', async () => {
    seedMemory('e2', 0, 30);
    expect((await runTask({ task: task('errors-2', 'e2', 'sales.paged'), connectors: registry() })).ok).toBe(true);
    const read = async () => {
      const source = createBigQuerySource({ api: h.api, endpoint: { table: 'sales.paged' }, pageRows: 10 });
      let rows = 0;
      for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10 }))
        rows += batch.numRows;
      return rows;
    };
    h.emulator.injectFault({
      method: 'GET',
      path: /\/tables\/paged\/data$/,
      status: 503,
      reason: 'backendError',
      times: 2,
    });
    expect(await read()).toBe(30);

    for (const [status, reason, code] of [
      [403, 'accessDenied', 'AUTH_FAILED'],
      [404, 'notFound', 'NOT_FOUND'],
    ] as const) {
      const before = h.emulator.requests.filter((request) => request.path.endsWith('/paged/data')).length;
      h.emulator.injectFault({ method: 'GET', path: /\/tables\/paged\/data$/, status, reason });
      const failed = await read().catch((error: unknown) => error);
      expect(failed).toMatchObject({ code, retryable: false, message: expect.stringContaining(reason) });
      const after = h.emulator.requests.filter((request) => request.path.endsWith('/paged/data')).length;
      expect(after - before).toBe(1);
    }
  });
});

describe('discover', () => {
  it('lists the tables of a dataset with rows and bytes, without Honk work tables', async () => {
    const found = await bigQueryConnector.discover!({
      options: h.options,
      scope: { within: 'sales' },
      context: context(),
    });
    const orders = found.find((info) => info.name === 'sales.orders');
    expect(orders).toMatchObject({ kind: 'table', endpoint: { table: 'sales.orders' }, estimatedRows: 301 });
    expect(orders?.bytes).toBeGreaterThan(0);
    expect(found.every((info) => !info.name.includes('_honk_'))).toBe(true);
    await expect(
      bigQueryConnector.discover!({ options: h.options, scope: { within: 'nothing_here' }, context: context() }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

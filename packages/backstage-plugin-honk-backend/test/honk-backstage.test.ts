/**
 * The Backstage half of Honk against real parts (see honk-test-backend.ts): entities appear,
 * routes enforce authentication and permissions, a started migration runs on a real agent and
 * its status reaches the entity.
 */
import { dirname } from 'node:path';
import { HONK_ANNOTATIONS } from '@honk/backstage-plugin-honk-common';
import { migrationStatusOf } from '@honk/backstage-plugin-honk-node';
import { createPostgresTaskStore, postgresConnector } from '@honk/connectors-postgres';
import { Agent, CHUNKS_WAITING_RUN_AT, ConnectorRegistry, createFileSource, fileConnector } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, eventually, type HonkBackstage, MALLORY, startHonkBackstage } from './honk-test-backend.ts';

let honk: HonkBackstage;
beforeAll(async () => {
  honk = await startHonkBackstage();
});
afterAll(async () => {
  await honk?.stop();
});

/** Runs a real Honk agent on its own store connection until `done` resolves. */
async function withAgent<T>(done: () => Promise<T>): Promise<T> {
  const agentStore = await createPostgresTaskStore({ url: honk.db.url });
  const agent = new Agent({
    store: agentStore,
    connectors: new ConnectorRegistry([postgresConnector, fileConnector]),
    concurrency: 1,
    pollMs: 100,
    scheduler: false,
    // Relative roots of the stored tasks resolve against the spec's directory, as on any agent
    // that shares it (until task records carry absolute paths).
    baseDir: dirname(honk.lake),
  });
  agent.start();
  try {
    return await done();
  } finally {
    await agent.stop({ drain: true });
    await agentStore.close();
  }
}

async function rowsIn(path: string): Promise<number> {
  const source = createFileSource({ options: { root: honk.lake }, endpoint: { path } });
  try {
    return await source.count!();
  } finally {
    await source.close?.();
  }
}

describe('honk in Backstage', () => {
  it('publishes every dataset of the spec and of discovery as a dataset entity', async () => {
    const orders = await eventually('the orders entity', () => honk.entity('warehouse.shop.orders'));
    expect(orders).toMatchObject({
      kind: 'Resource',
      spec: { type: 'dataset', owner: 'group:default/data-platform' },
      metadata: {
        title: 'shop.orders',
        tags: ['migration', 'postgres'],
        annotations: {
          'backstage.io/managed-by-location': 'honk:datasets',
          [HONK_ANNOTATIONS.sourceConnection]: 'warehouse',
          [HONK_ANNOTATIONS.sourceEndpoint]: '{"table":"shop.orders"}',
          [HONK_ANNOTATIONS.estimatedRows]: '500',
          [HONK_ANNOTATIONS.retention]: '90d',
          [HONK_ANNOTATIONS.status]: 'not-started',
        },
      },
    });
    // The spec's dataset carries its target, task labels and owner; discovery did not duplicate it.
    const customers = await eventually('the spec dataset', () => honk.entity('legacy-customers'));
    expect(customers.spec.owner).toBe('group:default/sales');
    expect(customers.metadata.annotations).toMatchObject({
      [HONK_ANNOTATIONS.targetUri]: 'lake:legacy/customers.parquet',
      [HONK_ANNOTATIONS.region]: 'eu-west-1',
      [HONK_ANNOTATIONS.specTask]: 'legacy-customers',
    });
    const names = await eventually('all four dataset entities', async () => {
      const { body } = await honk.call('/api/catalog/entities?filter=metadata.tags=migration', ALICE);
      const found = (body as Array<{ metadata: { name: string } }>).map((item) => item.metadata.name).sort();
      return found.length === 4 ? found : undefined;
    });
    expect(names).toEqual([
      'legacy-customers',
      'warehouse.shop.orders',
      'warehouse.shop.payments',
      'warehouse.shop.refunds',
    ]);
  });

  it('keeps health open and every other route behind authentication', async () => {
    expect(await honk.call('/api/honk/health', undefined)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await honk.call('/api/honk/migrations', undefined)).status).toBe(401);
  });

  it('answers a denied user with 403 and enqueues nothing', async () => {
    await eventually('the refunds entity', () => honk.entity('warehouse.shop.refunds'));
    const denied = await honk.call('/api/honk/migrations', MALLORY, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.refunds' }),
    });
    expect(denied.status).toBe(403);
    expect((await honk.call('/api/honk/migrations', MALLORY)).status).toBe(403);
    const bulk = await honk.call('/api/honk/migrations/bulk', MALLORY, {
      method: 'POST',
      body: JSON.stringify({ filter: { 'metadata.tags': 'migration' } }),
    });
    expect(bulk.status).toBe(403);
    expect(await honk.store.list()).toEqual([]);
  });

  it('runs a started migration on a real agent, shows its status on the entity, records the sign-off', async () => {
    await eventually('the orders entity', () => honk.entity('warehouse.shop.orders'));
    const dry = await honk.call('/api/honk/migrations', ALICE, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.orders', dryRun: true }),
    });
    expect(dry.status).toBe(200);
    expect(dry.body.results[0]).toMatchObject({
      taskId: 'resource.default.warehouse.shop.orders',
      outcome: 'dry-run',
      task: { target: { connection: 'lake', path: 'migrated/warehouse.shop.orders.parquet' } },
    });
    expect(await honk.store.get('resource.default.warehouse.shop.orders')).toBeUndefined();

    const started = await honk.call('/api/honk/migrations', ALICE, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.orders' }),
    });
    expect(started.status).toBe(202);
    expect(started.body.results[0]).toMatchObject({ outcome: 'created', state: 'pending' });
    await honk.entityWithStatus('warehouse.shop.orders', 'pending');

    const migrated = await withAgent(() => honk.entityWithStatus('warehouse.shop.orders', 'succeeded'));
    expect(migrated.metadata.annotations[HONK_ANNOTATIONS.taskId]).toBe('resource.default.warehouse.shop.orders');
    const detail = await honk.call('/api/honk/migrations/resource.default.warehouse.shop.orders', ALICE);
    expect(detail.body).toMatchObject({ status: 'succeeded', entityRef: 'resource:default/warehouse.shop.orders' });
    const checks = (detail.body.report as { validation: { checks: Array<{ name: string; ok: boolean }> } }).validation
      .checks;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((check) => check.ok)).toBe(true);

    expect(
      (
        await honk.call('/api/honk/migrations/resource.default.warehouse.shop.orders/sign-off', MALLORY, {
          method: 'POST',
        })
      ).status,
    ).toBe(403);
    const signed = await honk.call('/api/honk/migrations/resource.default.warehouse.shop.orders/sign-off', ALICE, {
      method: 'POST',
    });
    expect(signed.status).toBe(200);
    expect(signed.body).toMatchObject({ status: 'migrated', signedOff: { by: ALICE } });
    const shown = await honk.entityWithStatus('warehouse.shop.orders', 'migrated');
    expect(shown.metadata.annotations[HONK_ANNOTATIONS.signedOffBy]).toBe(ALICE);
    expect(shown.metadata.annotations[HONK_ANNOTATIONS.signedOffAt]).toBe(signed.body.signedOff.at);
  });

  it('starts a selection with a window and priority, and lists it with counts', async () => {
    const refs = ['warehouse.shop.payments', 'warehouse.shop.refunds', 'legacy-customers'].map(
      (name) => `resource:default/${name}`,
    );
    const started = await honk.call('/api/honk/migrations/bulk', ALICE, {
      method: 'POST',
      body: JSON.stringify({
        entityRefs: refs,
        window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
        notBefore: '2030-01-01T00:00:00Z',
        priority: 7,
      }),
    });
    expect(started.status).toBe(202);
    expect(started.body.results.map((result: { outcome: string }) => result.outcome)).toEqual([
      'created',
      'created',
      'created',
    ]);
    for (const ref of refs) {
      const record = (await honk.store.list()).find((item) => item.entity === ref);
      expect(record).toMatchObject({
        priority: 7,
        runAt: '2030-01-01T00:00:00.000Z',
        window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
      });
    }
    const customers = (await honk.store.list()).find((item) => item.entity === 'resource:default/legacy-customers');
    // A spec dataset keeps its own target, not the template's.
    expect(JSON.stringify(customers?.definition)).toContain('legacy/customers.parquet');

    const listed = await honk.call('/api/honk/migrations?status=pending&limit=2', ALICE);
    expect(listed.body.totalItems).toBe(3);
    expect(listed.body.items).toHaveLength(2);
    expect(listed.body.counts).toMatchObject({ pending: 3, migrated: 1 });
    // By entity (what the migrations page polls for the rows on screen): only those tasks,
    // the counts still over every migration.
    const byEntity = await honk.call(
      `/api/honk/migrations?entityRef=${encodeURIComponent(refs[0]!)}&entityRef=resource:default/warehouse.shop.orders&entityRef=resource:default/nothing`,
      ALICE,
    );
    expect(
      byEntity.body.items.map((item: { entityRef: string; status: string }) => [item.entityRef, item.status]),
    ).toEqual([
      ['resource:default/warehouse.shop.orders', 'migrated'],
      [refs[0], 'pending'],
    ]);
    expect(byEntity.body.counts).toEqual(listed.body.counts);
    const migrated = await honk.call(
      '/api/honk/migrations?status=migrated&entityRef=resource:default/warehouse.shop.orders',
      ALICE,
    );
    expect(migrated.body).toMatchObject({ totalItems: 1, items: [{ signedOff: { by: ALICE } }] });
    const none = await honk.call('/api/honk/migrations?status=not-started', ALICE);
    expect(none.body).toMatchObject({ totalItems: 0, items: [] });

    const requeue = await honk.call(`/api/honk/migrations/${customers!.id}/requeue`, ALICE, { method: 'POST' });
    expect(requeue.status).toBe(409);
    const cancelled = await honk.call(`/api/honk/migrations/${customers!.id}/cancel`, ALICE, { method: 'POST' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    await honk.entityWithStatus('legacy-customers', 'cancelled');
  });

  it('rolls a re-run back to the snapshot of the target it replaced', async () => {
    const task = 'resource.default.warehouse.shop.refunds';
    const start = (rerun: boolean) =>
      honk.call('/api/honk/migrations', ALICE, {
        method: 'POST',
        body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.refunds', rerun }),
      });
    expect((await honk.store.get(task))?.runAt).toBe('2030-01-01T00:00:00.000Z');
    // The bulk start above scheduled this dataset for 2030 in a window; a re-run starts it now.
    expect((await start(true)).status).toBe(202);
    await withAgent(() => honk.entityWithStatus('warehouse.shop.refunds', 'succeeded'));
    expect(await rowsIn('migrated/warehouse.shop.refunds.parquet')).toBe(500);

    await honk.db.sql("INSERT INTO shop.refunds SELECT i, 'late ' || i FROM generate_series(501, 620) i");
    expect((await start(true)).body.results[0].outcome).toBe('requeued');
    await withAgent(() =>
      eventually('the re-run to succeed', async () => {
        const record = await honk.store.get(task);
        return record?.state === 'succeeded' &&
          record.history.filter((attempt) => attempt.outcome === 'succeeded').length === 2
          ? record
          : undefined;
      }),
    );
    expect(await rowsIn('migrated/warehouse.shop.refunds.parquet')).toBe(620);

    expect((await honk.call(`/api/honk/migrations/${task}/rollback`, MALLORY, { method: 'POST' })).status).toBe(403);
    expect(await rowsIn('migrated/warehouse.shop.refunds.parquet')).toBe(620);
    const rolledBack = await honk.call(`/api/honk/migrations/${task}/rollback`, ALICE, { method: 'POST' });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body).toMatchObject({ status: 'rolled-back', rolledBack: { by: ALICE } });
    expect(await rowsIn('migrated/warehouse.shop.refunds.parquet')).toBe(500);
    await honk.entityWithStatus('warehouse.shop.refunds', 'rolled-back');
    // A rolled-back migration is not signed off.
    expect((await honk.call(`/api/honk/migrations/${task}/sign-off`, ALICE, { method: 'POST' })).status).toBe(409);
  });

  it('generates a Honk spec from a catalog filter without enqueueing', async () => {
    const before = (await honk.store.list()).length;
    const generated = await honk.call('/api/honk/tasks/generate', ALICE, {
      method: 'POST',
      body: JSON.stringify({
        filter: { 'metadata.tags': 'migration', 'metadata.annotations.honk.dev/connector': 'postgres' },
      }),
    });
    expect(generated.status).toBe(200);
    const spec = generated.body.spec as {
      version: number;
      connections: Record<string, unknown>;
      tasks: Array<{ id: string; entity: string }>;
    };
    expect(spec.version).toBe(1);
    expect(Object.keys(spec.connections).sort()).toEqual(['lake', 'warehouse']);
    expect(spec.tasks.map((task) => task.id).sort()).toEqual([
      'resource.default.legacy-customers',
      'resource.default.warehouse.shop.orders',
      'resource.default.warehouse.shop.payments',
      'resource.default.warehouse.shop.refunds',
    ]);
    expect((await honk.store.list()).length).toBe(before);
    const invalid = await honk.call('/api/honk/migrations/bulk', ALICE, { method: 'POST', body: JSON.stringify({}) });
    expect(invalid.status).toBe(400);
  });
  it('lists a chunked task once, its chunks summed under it, and shows it running while it waits for them', async () => {
    const warehouse = { connector: 'postgres', connection: 'warehouse', options: { url: honk.db.url } };
    await honk.store.enqueue([
      {
        id: 'chunky-orders',
        definition: {
          source: { ...warehouse, endpoint: { table: 'shop.orders', partitionBy: { column: 'id' } } },
          target: { ...warehouse, endpoint: { table: 'public.chunky_orders' } },
          chunks: { max: 3 },
        },
      },
    ]);
    const done = await withAgent(() =>
      eventually('the chunked task to succeed', async () => {
        const record = await honk.store.get('chunky-orders');
        return record?.state === 'succeeded' ? record : undefined;
      }),
    );
    expect(done.chunked?.chunks).toBe(3);
    // While its chunks run, the task waits in the store (pending, never due): it is under way.
    expect(migrationStatusOf({ ...done, state: 'pending', runAt: CHUNKS_WAITING_RUN_AT })).toBe('running');
    expect(migrationStatusOf({ ...done, state: 'pending', runAt: done.updatedAt })).toBe('pending');
    const listed = await honk.call('/api/honk/migrations', ALICE);
    const ids = listed.body.items.map((item: { taskId: string }) => item.taskId);
    expect(ids).toContain('chunky-orders');
    expect(ids.filter((id: string) => id.startsWith('chunky-orders#'))).toEqual([]);
    const item = listed.body.items.find((entry: { taskId: string }) => entry.taskId === 'chunky-orders');
    expect(item).toMatchObject({ status: 'succeeded', chunks: { total: 3, states: { succeeded: 3 }, rows: 500 } });
    const detail = await honk.call('/api/honk/migrations/chunky-orders', ALICE);
    expect(detail.body).toMatchObject({ chunks: { total: 3, rows: 500 }, report: { chunks: { count: 3, rows: 500 } } });
  });
});

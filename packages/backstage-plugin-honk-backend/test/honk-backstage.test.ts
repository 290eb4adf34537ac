/**
 * The Backstage half of Honk against real parts: a Backstage test backend with the real
 * catalog backend, a permission policy that denies Mallory every honk permission, the honk plugin and the honk catalog module, all on the PostgreSQL server the
 * suite starts (Backstage's own database, the Honk task store, the ledger and the source
 * tables). Migrations run on a real in-process Honk agent.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackstageCredentials, coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend, type TestBackend } from '@backstage/backend-test-utils';
import { AuthorizeResult, type Permission } from '@backstage/plugin-permission-common';
import catalogModuleHonk from '@honk/backstage-plugin-catalog-backend-module-honk';
import { HONK_ANNOTATIONS, honkPermissions } from '@honk/backstage-plugin-honk-common';
import { createPostgresTaskStore, type PostgresTaskStore, postgresConnector } from '@honk/connectors-postgres';
import { Agent, ConnectorRegistry, fileConnector } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import honkPlugin from '../src/index.ts';

const ALICE = 'user:default/alice';
const MALLORY = 'user:default/mallory';
const honkPermissionNames = new Set(honkPermissions.map((permission) => permission.name));

/**
 * The permission policy, as the service every plugin asks: Mallory is denied every honk
 * permission, everything else is allowed. (Backstage's permission backend is left out: with
 * the test backend's mock tokens it refuses the catalog's on-behalf-of requests.)
 */
function decide(
  permission: Permission,
  credentials: BackstageCredentials,
): AuthorizeResult.ALLOW | AuthorizeResult.DENY {
  const principal = credentials.principal as { userEntityRef?: string };
  return honkPermissionNames.has(permission.name) && principal.userEntityRef === MALLORY
    ? AuthorizeResult.DENY
    : AuthorizeResult.ALLOW;
}

const policyPermissions = createServiceFactory({
  service: coreServices.permissions,
  deps: {},
  factory: () =>
    ({
      async authorize(requests: Array<{ permission: Permission }>, options: { credentials: BackstageCredentials }) {
        return requests.map((request) => ({ result: decide(request.permission, options.credentials) }));
      },
      async authorizeConditional(
        requests: Array<{ permission: Permission }>,
        options: { credentials: BackstageCredentials },
      ) {
        return requests.map((request) => ({ result: decide(request.permission, options.credentials) }));
      },
    }) as never,
});

let db: TestDatabase;
let backend: TestBackend;
let base: string;
let store: PostgresTaskStore;
let lake: string;

function as(user: string | undefined, init: RequestInit = {}): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) headers.authorization = mockCredentials.user.header(user);
  return { ...init, headers };
}

async function call(path: string, user: string | undefined, init: RequestInit = {}) {
  const response = await fetch(`${base}${path}`, as(user, init));
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function entity(name: string) {
  const { status, body } = await call(`/api/catalog/entities/by-name/resource/default/${name}`, ALICE);
  return status === 200 ? body : undefined;
}

async function entityWithStatus(name: string, wanted: string) {
  return eventually(`${name} to show ${wanted}`, async () => {
    const found = await entity(name);
    return found?.metadata.annotations[HONK_ANNOTATIONS.status] === wanted ? found : undefined;
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql('CREATE SCHEMA shop');
  for (const table of ['customers', 'orders', 'payments', 'refunds']) {
    await db.sql(`CREATE TABLE shop.${table} (id bigint PRIMARY KEY, note text)`);
    await db.sql(`INSERT INTO shop.${table} SELECT i, 'row ' || i FROM generate_series(1, 500) i`);
  }
  await db.sql('ANALYZE');
  const dir = mkdtempSync(join(tmpdir(), 'honk-backstage-'));
  lake = join(dir, 'lake');
  writeFileSync(
    join(dir, 'honk.yaml'),
    `version: 1
connections:
  warehouse: { connector: postgres, url: "${db.url}" }
  lake: { connector: file, root: ./lake }
tasks:
  - id: legacy-customers
    source: { connection: warehouse, table: shop.customers }
    target: { connection: lake, path: legacy/customers.parquet }
    labels: { region: eu-west-1, owner: group:default/sales }
`,
  );
  backend = await startTestBackend({
    features: [
      // A CommonJS package: under NodeNext its default export types as the module namespace;
      // the backend unwraps it at run time.
      import('@backstage/plugin-catalog-backend') as never,
      policyPermissions,
      catalogModuleHonk,
      honkPlugin,
      mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
      mockServices.rootLogger.factory({ level: (process.env.HONK_TEST_BACKSTAGE_LOG as 'info') ?? 'none' }),
      mockServices.rootConfig.factory({
        data: {
          backend: { database: { client: 'pg', connection: db.url, pluginDivisionMode: 'schema' } },
          honk: {
            store: { url: db.url },
            spec: join(dir, 'honk.yaml'),
            statusPollMs: 250,
            taskTemplate: { target: { connection: 'lake', path: 'migrated/{name}.parquet' } },
            catalog: {
              owner: 'group:default/data-platform',
              discover: [{ connection: 'warehouse', within: 'shop' }],
              facts: { retention: '90d' },
            },
          },
        },
      }),
    ],
  });
  base = `http://localhost:${backend.server.port()}`;
  store = await createPostgresTaskStore({ url: db.url });
});

afterAll(async () => {
  await store?.close();
  await backend?.stop();
  await db?.drop();
});

describe('honk in Backstage', () => {
  it('publishes every dataset of the spec and of discovery as a dataset entity', async () => {
    const orders = await eventually('the orders entity', () => entity('warehouse.shop.orders'));
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
    const customers = await eventually('the spec dataset', () => entity('legacy-customers'));
    expect(customers.spec.owner).toBe('group:default/sales');
    expect(customers.metadata.annotations).toMatchObject({
      [HONK_ANNOTATIONS.targetUri]: 'lake:legacy/customers.parquet',
      [HONK_ANNOTATIONS.region]: 'eu-west-1',
      [HONK_ANNOTATIONS.specTask]: 'legacy-customers',
    });
    const { body } = await call('/api/catalog/entities?filter=metadata.tags=migration', ALICE);
    expect(body.map((item: { metadata: { name: string } }) => item.metadata.name).sort()).toEqual([
      'legacy-customers',
      'warehouse.shop.orders',
      'warehouse.shop.payments',
      'warehouse.shop.refunds',
    ]);
  });

  it('keeps health open and every other route behind authentication', async () => {
    expect(await call('/api/honk/health', undefined)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await call('/api/honk/migrations', undefined)).status).toBe(401);
  });

  it('answers a denied user with 403 and enqueues nothing', async () => {
    await eventually('the refunds entity', () => entity('warehouse.shop.refunds'));
    const denied = await call('/api/honk/migrations', MALLORY, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.refunds' }),
    });
    expect(denied.status).toBe(403);
    expect((await call('/api/honk/migrations', MALLORY)).status).toBe(403);
    const bulk = await call('/api/honk/migrations/bulk', MALLORY, {
      method: 'POST',
      body: JSON.stringify({ filter: { 'metadata.tags': 'migration' } }),
    });
    expect(bulk.status).toBe(403);
    expect(await store.list()).toEqual([]);
  });

  it('runs a started migration on a real agent, shows its status on the entity, records the sign-off', async () => {
    await eventually('the orders entity', () => entity('warehouse.shop.orders'));
    const dry = await call('/api/honk/migrations', ALICE, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.orders', dryRun: true }),
    });
    expect(dry.status).toBe(200);
    expect(dry.body.results[0]).toMatchObject({
      taskId: 'resource.default.warehouse.shop.orders',
      outcome: 'dry-run',
      task: { target: { connection: 'lake', path: 'migrated/warehouse.shop.orders.parquet' } },
    });
    expect(await store.get('resource.default.warehouse.shop.orders')).toBeUndefined();

    const started = await call('/api/honk/migrations', ALICE, {
      method: 'POST',
      body: JSON.stringify({ entityRef: 'resource:default/warehouse.shop.orders' }),
    });
    expect(started.status).toBe(202);
    expect(started.body.results[0]).toMatchObject({ outcome: 'created', state: 'pending' });
    await entityWithStatus('warehouse.shop.orders', 'pending');

    const agentStore = await createPostgresTaskStore({ url: db.url });
    const agent = new Agent({
      store: agentStore,
      connectors: new ConnectorRegistry([postgresConnector, fileConnector]),
      concurrency: 1,
      pollMs: 100,
      scheduler: false,
      baseDir: lake,
    });
    agent.start();
    try {
      const migrated = await entityWithStatus('warehouse.shop.orders', 'succeeded');
      expect(migrated.metadata.annotations[HONK_ANNOTATIONS.taskId]).toBe('resource.default.warehouse.shop.orders');
    } finally {
      await agent.stop({ drain: true });
      await agentStore.close();
    }
    const detail = await call('/api/honk/migrations/resource.default.warehouse.shop.orders', ALICE);
    expect(detail.body).toMatchObject({ status: 'succeeded', entityRef: 'resource:default/warehouse.shop.orders' });
    const checks = (detail.body.report as { validation: { checks: Array<{ name: string; ok: boolean }> } }).validation
      .checks;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((check) => check.ok)).toBe(true);

    expect(
      (await call('/api/honk/migrations/resource.default.warehouse.shop.orders/sign-off', MALLORY, { method: 'POST' }))
        .status,
    ).toBe(403);
    const signed = await call('/api/honk/migrations/resource.default.warehouse.shop.orders/sign-off', ALICE, {
      method: 'POST',
    });
    expect(signed.status).toBe(200);
    expect(signed.body).toMatchObject({ status: 'migrated', signedOff: { by: ALICE } });
    const shown = await entityWithStatus('warehouse.shop.orders', 'migrated');
    expect(shown.metadata.annotations[HONK_ANNOTATIONS.signedOffBy]).toBe(ALICE);
    expect(shown.metadata.annotations[HONK_ANNOTATIONS.signedOffAt]).toBe(signed.body.signedOff.at);
  });

  it('starts a selection with a window and priority, and lists it with counts', async () => {
    const refs = ['warehouse.shop.payments', 'warehouse.shop.refunds', 'legacy-customers'].map(
      (name) => `resource:default/${name}`,
    );
    const started = await call('/api/honk/migrations/bulk', ALICE, {
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
      const record = (await store.list()).find((item) => item.entity === ref);
      expect(record).toMatchObject({
        priority: 7,
        runAt: '2030-01-01T00:00:00.000Z',
        window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
      });
    }
    const customers = (await store.list()).find((item) => item.entity === 'resource:default/legacy-customers');
    // A spec dataset keeps its own target, not the template's.
    expect(JSON.stringify(customers?.definition)).toContain('legacy/customers.parquet');

    const listed = await call('/api/honk/migrations?status=pending&limit=2', ALICE);
    expect(listed.body.totalItems).toBe(3);
    expect(listed.body.items).toHaveLength(2);
    expect(listed.body.counts).toMatchObject({ pending: 3, migrated: 1 });

    const requeue = await call(`/api/honk/migrations/${customers!.id}/requeue`, ALICE, { method: 'POST' });
    expect(requeue.status).toBe(409);
    const cancelled = await call(`/api/honk/migrations/${customers!.id}/cancel`, ALICE, { method: 'POST' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled' });
    await entityWithStatus('legacy-customers', 'cancelled');
  });

  it('generates a Honk spec from a catalog filter without enqueueing', async () => {
    const before = (await store.list()).length;
    const generated = await call('/api/honk/tasks/generate', ALICE, {
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
    expect((await store.list()).length).toBe(before);
    const invalid = await call('/api/honk/migrations/bulk', ALICE, { method: 'POST', body: JSON.stringify({}) });
    expect(invalid.status).toBe(400);
  });
});

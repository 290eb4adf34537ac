/**
 * A Backstage test backend with Honk's plugins on real parts, shared by the backend plugin's
 * and the scaffolder module's tests: the real catalog backend with the honk catalog module,
 * the honk backend plugin, a permission policy that denies Mallory every honk permission,
 * all on the PostgreSQL server the suite starts (Backstage's database, the Honk task store,
 * the ledger and the source tables `shop.customers|orders|payments|refunds`, 500 rows each).
 * Set HONK_TEST_BACKSTAGE_LOG=info to see Backstage's log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackstageCredentials, coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend, type TestBackend } from '@backstage/backend-test-utils';

import { AuthorizeResult, type Permission } from '@backstage/plugin-permission-common';
import catalogModuleHonk from '@honk/backstage-plugin-catalog-backend-module-honk';
import { HONK_ANNOTATIONS, honkPermissions } from '@honk/backstage-plugin-honk-common';
import { createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import honkPlugin from '../src/index.ts';

type TestBackendFeature = NonNullable<Parameters<typeof startTestBackend>[0]['features']>[number];

export const ALICE = 'user:default/alice';
export const MALLORY = 'user:default/mallory';
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

function as(user: string | undefined, init: RequestInit = {}): RequestInit {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (user) headers.authorization = mockCredentials.user.header(user);
  return { ...init, headers };
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
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

export interface HonkBackstage {
  db: TestDatabase;
  backend: TestBackend;
  /** `http://localhost:<port>` */
  base: string;
  /** A task store client of the test's own (what an operator would look at). */
  store: PostgresTaskStore;
  /** The file connection's root, where migrated datasets land. */
  lake: string;
  call(path: string, user: string | undefined, init?: RequestInit): Promise<{ status: number; body: any }>;
  entity(name: string): Promise<any>;
  entityWithStatus(name: string, wanted: string): Promise<any>;
  stop(): Promise<void>;
}

export interface HonkBackstageOptions {
  /** Runs on the test database after the `shop` tables exist, before Backstage starts (more source tables …). */
  beforeStart?(db: TestDatabase): Promise<void>;
}

export async function startHonkBackstage(
  features: TestBackendFeature[] = [],
  options: HonkBackstageOptions = {},
): Promise<HonkBackstage> {
  let base = '';

  const db = await createTestDatabase();
  await db.sql('CREATE SCHEMA shop');
  for (const table of ['customers', 'orders', 'payments', 'refunds']) {
    await db.sql(`CREATE TABLE shop.${table} (id bigint PRIMARY KEY, note text)`);
    await db.sql(`INSERT INTO shop.${table} SELECT i, 'row ' || i FROM generate_series(1, 500) i`);
  }
  await options.beforeStart?.(db);
  await db.sql('ANALYZE');
  const dir = mkdtempSync(join(tmpdir(), 'honk-backstage-'));
  const lake = join(dir, 'lake');
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
  const backend = await startTestBackend({
    features: [
      // A CommonJS package: under NodeNext its default export types as the module namespace;
      // the backend unwraps it at run time.
      import('@backstage/plugin-catalog-backend') as never,
      policyPermissions,
      catalogModuleHonk,
      honkPlugin,
      ...features,
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
  const store = await createPostgresTaskStore({ url: db.url });
  const call = async (path: string, user: string | undefined, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, as(user, init));
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const entity = async (name: string) => {
    const { status, body } = await call(`/api/catalog/entities/by-name/resource/default/${name}`, ALICE);
    return status === 200 ? body : undefined;
  };
  return {
    db,
    backend,
    base,
    store,
    lake,
    call,
    entity,
    entityWithStatus: (name, wanted) =>
      eventually(`${name} to show ${wanted}`, async () => {
        const found = await entity(name);
        return found?.metadata.annotations[HONK_ANNOTATIONS.status] === wanted ? found : undefined;
      }),
    async stop() {
      await store.close();
      await backend.stop();
      await db.drop();
    },
  };
}

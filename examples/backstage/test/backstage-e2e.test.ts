/**
 * End to end: the example Backstage (start.ts: a real createBackend with the catalog, auth,
 * permissions, Honk's plugins and an in-process agent, serving the app Vite built) on the
 * suite's PostgreSQL, driven in Debian's Chromium through playwright-core. A user signs in as
 * guest, finds a quickstart dataset in the catalog, starts its migration from the entity page
 * and watches it succeed, then starts three datasets with a daily window from the migrations
 * page. What the UI shows is checked against the task store, the catalog and the lake.
 *
 * Screenshots and the backend's log go to examples/backstage/test-artifacts/ (git-ignored;
 * HONK_TEST_ARTIFACTS moves them). Build, browser install and each step print their timing.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HONK_ANNOTATIONS } from '@honk/backstage-plugin-honk-common';
import { createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import { createFileSource, type TaskRecord } from '@honk/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type TestDatabase,
} from '../../../packages/connectors-postgres/test/postgres-test-database.ts';
import { ensureChromium } from '../../../test/services/chromium.ts';
import { buildApp } from '../build-app.ts';
import { type ExampleBackstage, eventually, startExampleBackstage } from './example-backstage-process.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));
const artifacts = resolve(process.env.HONK_TEST_ARTIFACTS ?? join(example, 'test-artifacts'));
const SCALE = 0.01;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const timing = (what: string, ms: number) => console.log(`[backstage e2e] ${what}: ${seconds(ms)}`);

let db: TestDatabase;
let backstage: ExampleBackstage;
let store: PostgresTaskStore;
let browser: Browser;
let page: Page;
let dataDir: string;

async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    timing(what, performance.now() - started);
  }
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/** Every record of the store whose entity is `ref`. */
async function recordsOf(ref: string): Promise<TaskRecord[]> {
  return (await store.list()).filter((record) => record.entity === ref);
}

/** Rows the quickstart generator wrote into a legacy export (its marker file records them). */
function generatedRows(file: string): number {
  const marker = JSON.parse(readFileSync(join(dataDir, 'data', 'legacy', '.generated.json'), 'utf8')) as {
    datasets: Array<{ file: string; rows: number }>;
  };
  const found = marker.datasets.find((dataset) => dataset.file === file);
  if (!found) throw new Error(`${file} was not generated`);
  return found.rows;
}

/** Rows and columns of a migrated dataset in the lake, read back through the file connector. */
async function lakeDataset(path: string): Promise<{ rows: number; columns: string[] }> {
  const source = createFileSource({ options: { root: join(dataDir, 'data', 'lake') }, endpoint: { path } });
  try {
    const schema = await source.schema();
    return { rows: await source.count!(), columns: schema.fields.map((field) => `${field.name}:${field.type}`) };
  } finally {
    await source.close?.();
  }
}

/** The dataset entity as the catalog serves it to Ada. */
async function catalogEntity(name: string): Promise<{ metadata: { annotations: Record<string, string> } }> {
  const response = await fetch(`${backstage.base}/api/catalog/entities/by-name/resource/default/${name}`, {
    headers: { authorization: `Bearer ${await backstage.userToken()}` },
  });
  if (!response.ok) throw new Error(`catalog answered ${response.status} for ${name}`);
  return (await response.json()) as never;
}

/** HH:00 in `timeZone`, `hoursAhead` hours from now. */
function hourFromNow(hoursAhead: number, timeZone: string): string {
  const hour = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', hourCycle: 'h23', timeZone }).format(
    Date.now() + hoursAhead * 3_600_000,
  );
  return `${hour}:00`;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  // Failure screenshots of an earlier run would be mistaken for this one's.
  for (const file of readdirSync(artifacts)) if (/^failed-.*\.png$/.test(file)) rmSync(join(artifacts, file));
  const work = mkdtempSync(join(tmpdir(), 'honk-backstage-e2e-'));
  dataDir = join(work, 'data');
  const { executablePath, installMs } = ensureChromium();
  timing(installMs > 0 ? 'chromium installed (apt-get)' : 'chromium found', installMs);
  const build = await buildApp({ appDir: join(work, 'app'), quiet: true });
  timing('app build: Vite bundle', build.bundleMs);
  timing('app build: config schema', build.schemaMs);
  db = await createTestDatabase();
  backstage = await startExampleBackstage({
    databaseUrl: db.url,
    dataDir,
    appDir: join(work, 'app'),
    logFile: join(artifacts, 'backend.log'),
    scale: SCALE,
  });
  timing('backend start (start.ts to ready)', backstage.startMs);
  store = await createPostgresTaskStore({ url: db.url });
  browser = await chromium.launch({ executablePath });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, timezoneId: 'Europe/Stockholm' });
  // Generous: the suite runs other heavy tests beside this one on two cores.
  page.setDefaultTimeout(60_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await store?.close();
  await backstage?.stop();
  await db?.drop();
});

afterEach(async (context) => {
  // What the browser showed when a test failed, beside the backend's log.
  if (context.task.result?.state === 'fail' && page) {
    await screenshot(`failed-${context.task.name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
  }
});

describe('the example Backstage in Chromium', () => {
  it('signs in as guest and lists the quickstart datasets in the catalog', async () => {
    await timed('sign in and catalog', async () => {
      await page.goto(backstage.base);
      await page.getByRole('button', { name: 'Enter' }).click();
      // Signed in: the app (its navigation) replaces the sign-in page.
      await page.getByRole('link', { name: 'Migrations' }).first().waitFor();
      await page.goto(`${backstage.base}/catalog?filters%5Bkind%5D=resource`);
      await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
    });
    // All 24 datasets of the quickstart's spec, owned by Ada's group.
    await page.getByText(/Resources \(24\)/).waitFor();
    for (const name of ['customers', 'ledger', 'events']) {
      expect(await page.getByRole('link', { name, exact: true }).count(), name).toBe(1);
    }
    await screenshot('01-catalog');
  });

  it('starts a dataset from its entity page and shows it succeed, as the store, the catalog and the lake do', async () => {
    await page.getByRole('link', { name: 'orders', exact: true }).click();
    const card = page.getByText('Honk migration', { exact: true });
    await card.waitFor();
    await screenshot('02-entity-not-started');
    await timed('entity page: Start to succeeded', async () => {
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.locator('[data-testid="honk-status"]', { hasText: 'succeeded' }).waitFor({ timeout: 90_000 });
    });
    await screenshot('03-entity-succeeded');

    const [record, ...others] = await recordsOf('resource:default/orders');
    expect(others).toEqual([]);
    expect(record).toMatchObject({ state: 'succeeded', attempts: 1 });
    const report = record!.report as { validation?: { ok: boolean } };
    expect(report.validation?.ok).toBe(true);
    // Every row of the legacy export is in the published Parquet file, shaped by the spec's
    // task (select drops status, amount renamed to total and cast to decimal).
    const orders = await lakeDataset('sales/orders.parquet');
    expect(orders.rows).toBe(generatedRows('orders.csv'));
    expect(orders.columns.map((column) => column.split(':')[0])).toEqual([
      'order_id',
      'customer_id',
      'total',
      'currency',
      'created_at',
    ]);
    expect(orders.columns[2]).toBe('total:Decimal[18e+2]');
    // The catalog module carried the status to the entity.
    const entity = await eventually('the orders entity to show succeeded', async () => {
      const found = await catalogEntity('orders');
      return found.metadata.annotations[HONK_ANNOTATIONS.status] === 'succeeded' ? found : undefined;
    });
    expect(entity.metadata.annotations[HONK_ANNOTATIONS.taskId]).toBe(record!.id);
  });

  it('starts three selected datasets with a daily window from the migrations page', async () => {
    const picked = ['customers', 'payments', 'refunds'];
    const timezone = 'Europe/Stockholm';
    // A two-hour window that begins six hours from now: the tasks wait in the queue for it.
    const window = { start: hourFromNow(6, timezone), end: hourFromNow(8, timezone), timezone };
    await page.getByRole('link', { name: 'Migrations' }).first().click();
    await timed('migrations page: select three and start with a window', async () => {
      for (const name of picked) {
        const row = page.getByRole('row').filter({ hasText: `resource:default/${name}` });
        // Backstage UI draws its own box over the (transparent) input: click where the user
        // does; check() still verifies that the row ended up selected.
        await row.getByRole('checkbox').check({ force: true });
      }
      await page.getByRole('button', { name: 'Start selected (3)' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Window start').fill(window.start);
      await dialog.getByLabel('Window end').fill(window.end);
      await dialog.getByLabel('Time zone').fill(timezone);
      await dialog.getByLabel('Priority').fill('5');
      await screenshot('04-start-selected-window');
      await dialog.getByRole('button', { name: 'Start 3' }).click();
      for (const name of picked) {
        await page.locator(`[data-testid="status-resource:default/${name}"][data-status="pending"]`).waitFor();
      }
    });
    // The page counts what the store holds: one succeeded (orders), three pending (the counts
    // follow on their own poll).
    const counts = page.getByRole('group', { name: 'Counts by status' });
    await counts.locator('[data-count-status="pending"]', { hasText: /: 3$/ }).waitFor();
    expect(await counts.locator('[data-count-status="succeeded"]').textContent()).toMatch(/: 1$/);
    expect(await counts.locator('[data-count-status="not-started"]').textContent()).toMatch(/: 20$/);
    await screenshot('05-migrations-started');
    for (const name of picked) {
      const records = await recordsOf(`resource:default/${name}`);
      expect(records, name).toHaveLength(1);
      expect(records[0], name).toMatchObject({ state: 'pending', priority: 5, window });
    }
  });

  it("runs the example's software template: Honk's scaffolder action enqueues the dataset as the user", async () => {
    const timezone = 'Europe/Stockholm';
    const window = { start: hourFromNow(6, timezone), end: hourFromNow(8, timezone), timezone };
    const token = await backstage.userToken();
    const scaffolder = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${backstage.base}/api/scaffolder/v2${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      if (!response.ok) throw new Error(`scaffolder ${path} answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as any;
    };
    const task = await timed('scaffolder template run', async () => {
      // The template comes from a file location, ingested shortly after start.
      const { id } = await eventually('the template to be runnable', () =>
        scaffolder('/tasks', {
          method: 'POST',
          body: JSON.stringify({
            templateRef: 'template:default/start-dataset-migration',
            values: {
              dataset: 'resource:default/warehouses',
              windowStart: window.start,
              windowEnd: window.end,
              timezone,
            },
          }),
        }),
      );
      return eventually('the template run to end', async () => {
        const run = await scaffolder(`/tasks/${id}`);
        return run.status === 'completed' || run.status === 'failed' ? run : undefined;
      });
    });
    expect(task.status).toBe('completed');
    const records = await recordsOf('resource:default/warehouses');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ state: 'pending', window });
  });
});

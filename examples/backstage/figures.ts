/**
 * Figures for Honk in Backstage (prints them; asserts nothing; not run by CI):
 *
 * 1. Publishing: a spec of N datasets (default 10,000) through the catalog module — when the
 *    provider's full run was applied, when all N entities could be read from the catalog, and
 *    the backend process's memory (RSS when ready, peak RSS once every entity is in).
 * 2. Status latency: a few real migrations started through the honk routes; for each, the
 *    time from the task's end (its attempt's `endedAt` in the store) to the first moment the
 *    catalog serves the entity with `honk.dev/status: succeeded` (polled every 250 ms).
 * 3. The migrations page with N datasets in Chromium: time to the first rows and to the
 *    counts over all N, and the page's JS heap.
 *
 *   node examples/backstage/figures.ts [--datasets 10000] [--migrations 5]
 *
 * It starts a throwaway PostgreSQL (test/services/postgres.ts) and the example (start.ts) on
 * a free port, in a temporary folder it removes at the end.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HONK_ANNOTATIONS } from '@honk/backstage-plugin-honk-common';
import { createPostgresTaskStore } from '@honk/connectors-postgres';
import { chromium } from 'playwright-core';
import { ensureChromium } from '../../test/services/chromium.ts';
import { startPostgres } from '../../test/services/postgres.ts';
import { buildApp } from './build-app.ts';
import { eventually, startExampleBackstage } from './test/example-backstage-process.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { datasets: { type: 'string', default: '10000' }, migrations: { type: 'string', default: '5' } },
});
const N = Number(values.datasets);
const MIGRATIONS = Number(values.migrations);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (kib: number) => `${Math.round(kib / 1024)} MiB`;

/** VmRSS and VmHWM (peak) of a process, in KiB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

const work = mkdtempSync(join(tmpdir(), 'honk-backstage-figures-'));
const postgres = await startPostgres();
try {
  // A spec of N file datasets; the first MIGRATIONS exist (1,000 rows each) and are migrated.
  mkdirSync(join(work, 'legacy'));
  const rows = ['id,name', ...Array.from({ length: 1000 }, (_, i) => `${i},name ${i}`)].join('\n');
  const tasks: string[] = [];
  for (let i = 0; i < N; i++) {
    const id = `d${String(i).padStart(5, '0')}`;
    if (i < MIGRATIONS) writeFileSync(join(work, 'legacy', `${id}.csv`), `${rows}\n`);
    tasks.push(
      `  - { id: ${id}, labels: { region: eu-north-1 }, source: { connection: legacy, path: ${id}.csv }, target: { connection: lake, path: ${id}.parquet } }`,
    );
  }
  const spec = join(work, 'honk.yaml');
  writeFileSync(
    spec,
    `version: 1\nconnections:\n  legacy: { connector: file, root: ./legacy }\n  lake: { connector: file, root: ./lake }\ntasks:\n${tasks.join('\n')}\n`,
  );
  const { executablePath } = ensureChromium();
  const build = await buildApp({ appDir: join(work, 'app'), quiet: true });
  console.log(`app build: bundle ${s(build.bundleMs)}, config schema ${s(build.schemaMs)}`);

  const spawnedAt = Date.now();
  const backstage = await startExampleBackstage({
    databaseUrl: postgres.url,
    dataDir: join(work, 'data'),
    appDir: join(work, 'app'),
    logFile: join(work, 'backend.log'),
    scale: 0.01,
    spec,
    readyTimeoutMs: 600_000,
  });
  const ready = memoryOf(backstage.pid);
  const token = await backstage.userToken();
  const api = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${backstage.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as any;
  };

  // 1. Publishing. The provider logs when its full run was applied; the log is read as the
  // catalog is polled (Backstage's log lines carry no time when they are JSON).
  let appliedAfter: number | undefined;
  const visibleAfter = await eventually(
    `all ${N} dataset entities`,
    async () => {
      if (
        appliedAfter === undefined &&
        readFileSync(join(work, 'backend.log'), 'utf8').includes(`honk: published ${N} dataset entities`)
      )
        appliedAfter = Date.now() - spawnedAt;
      const page = await api('/api/catalog/entities/by-query?filter=kind=resource,spec.type=dataset&limit=1');
      return page.totalItems === N ? Date.now() - spawnedAt : undefined;
    },
    1_800_000,
  );
  const afterPublish = memoryOf(backstage.pid);
  console.log(`\n1. ${N.toLocaleString('en-US')} datasets through the catalog module (times since spawn)`);
  console.log(`   backend ready:            ${s(backstage.startMs)}`);
  console.log(`   provider's run applied:   ${appliedAfter === undefined ? 'not seen' : s(appliedAfter)}`);
  console.log(`   all readable in catalog:  ${s(visibleAfter)}`);
  console.log(
    `   backend RSS ${mib(afterPublish.rss)}, peak RSS ${mib(afterPublish.peak)} (when ready: ${mib(ready.rss)})`,
  );

  // 2. Status latency.
  const store = await createPostgresTaskStore({ url: postgres.url });
  const latencies: number[] = [];
  for (let i = 0; i < MIGRATIONS; i++) {
    const name = `d${String(i).padStart(5, '0')}`;
    const ref = `resource:default/${name}`;
    await api('/api/honk/migrations', { method: 'POST', body: JSON.stringify({ entityRef: ref }) });
    const seenAt = await eventually(
      `${name} to show succeeded`,
      async () => {
        const entity = await api(`/api/catalog/entities/by-name/resource/default/${name}`);
        return entity.metadata.annotations[HONK_ANNOTATIONS.status] === 'succeeded' ? Date.now() : undefined;
      },
      300_000,
    );
    const record = (await store.list()).find((item) => item.entity === ref);
    const endedAt = Date.parse(record?.history.at(-1)?.endedAt ?? '');
    latencies.push(seenAt - endedAt);
  }
  await store.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`\n2. status latency, task end → entity status (${MIGRATIONS} migrations, polled every 250 ms)`);
  console.log(`   each: ${latencies.map(s).join(', ')}; median ${s(sorted[Math.floor(sorted.length / 2)]!)}`);

  // 3. The migrations page in Chromium.
  const browser = await chromium.launch({ executablePath });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(300_000);
  await page.goto(backstage.base);
  await page.getByRole('button', { name: 'Enter' }).click();
  await page.getByRole('link', { name: 'Migrations' }).first().waitFor();
  const loads: string[] = [];
  for (let run = 0; run < 3; run++) {
    const started = Date.now();
    await page.goto(backstage.base);
    await page.getByRole('row').nth(1).waitFor();
    const firstRows = Date.now() - started;
    await page.getByText(`${N.toLocaleString('en-US')} datasets`).waitFor();
    loads.push(`first rows ${s(firstRows)}, counts over all ${s(Date.now() - started)}`);
  }
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = (await cdp.send('Performance.getMetrics')).metrics;
  const heap = metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value ?? 0;
  mkdirSync(join(here, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(here, 'test-artifacts', `figures-migrations-${N}.png`) });
  await browser.close();
  console.log(`\n3. migrations page with ${N.toLocaleString('en-US')} datasets (page load, three times, signed in)`);
  for (const line of loads) console.log(`   ${line}`);
  console.log(`   JS heap used ${Math.round(heap / 1024 / 1024)} MiB`);
  await backstage.stop();
  rmSync(work, { recursive: true, force: true });
} finally {
  await postgres.stop();
}

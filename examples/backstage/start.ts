/**
 * Starts the example Backstage: `pnpm start` here (`node start.ts`).
 *
 *   --port <n>            where the backend (and the app it serves) listens on 127.0.0.1; default
 *                         7007, or HONK_BACKSTAGE_PORT
 *   --database-url <url>  PostgreSQL for Backstage and Honk's task store, or
 *                         HONK_BACKSTAGE_DATABASE_URL. Without one, a throwaway PostgreSQL
 *                         cluster is started (the test suite's test/services/postgres.ts) and
 *                         removed on exit: the catalog, the queue and sign-offs go with it.
 *   --data-dir <dir>      the quickstart's generated exports, the spec and the migrated lake;
 *                         default data/ here
 *   --scale <x>           size of the generated exports (HONK_QUICKSTART_SCALE); default 0.05
 *   --spec <file>         publish and migrate the datasets of this Honk spec instead of the
 *                         quickstart's (its connections are what tasks use)
 *   --app-dir <dir>       serve the app built into <dir>/dist (default: this folder)
 *   --rebuild             build the app even when dist/ exists
 *
 * Then open the printed URL and enter as guest (Ada, an operator).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from '../../test/services/postgres.ts';
import { createExampleBackend } from './backend/create-backend.ts';
import { APP_DIR, buildApp } from './build-app.ts';
import { prepareQuickstartDatasets } from './quickstart-datasets.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.HONK_BACKSTAGE_PORT ?? '7007' },
    'database-url': { type: 'string', default: process.env.HONK_BACKSTAGE_DATABASE_URL },
    'data-dir': { type: 'string', default: join(here, 'data') },
    scale: { type: 'string', default: process.env.HONK_QUICKSTART_SCALE ?? '0.05' },
    spec: { type: 'string' },
    'app-dir': { type: 'string', default: APP_DIR },
    rebuild: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const scale = Number(values.scale);
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  console.error(`--port must be a TCP port (1-65535), got "${values.port}".`);
  process.exit(2);
}
if (!(scale > 0)) {
  console.error(`--scale must be a positive number, got "${values.scale}".`);
  process.exit(2);
}
// Backstage logs a taken port as an uncaught exception and keeps running without serving;
// say so and stop before anything starts.
const portFree = await new Promise<boolean>((resolvePort) => {
  const probe = createServer();
  probe.once('error', () => resolvePort(false));
  probe.listen(port, '127.0.0.1', () => probe.close(() => resolvePort(true)));
});
if (!portFree) {
  console.error(`Port ${port} on 127.0.0.1 is in use; choose another with --port or HONK_BACKSTAGE_PORT.`);
  process.exit(2);
}
const dataDir = resolve(values['data-dir']);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const appDir = resolve(values['app-dir']);
if (values.rebuild || !existsSync(join(appDir, 'dist', 'index.html.tmpl'))) {
  console.log('Building the app with Vite …');
  const { bundleMs, schemaMs } = await buildApp({ appDir, quiet: true });
  console.log(`  bundle ${seconds(bundleMs)}, config schema ${seconds(schemaMs)}`);
}

await mkdir(dataDir, { recursive: true });
let specPath: string;
if (values.spec) {
  specPath = resolve(values.spec);
} else {
  const started = performance.now();
  const datasets = await prepareQuickstartDatasets(dataDir, scale);
  if (datasets.generated)
    console.log(`Generated the quickstart's exports (scale ${scale}) in ${seconds(performance.now() - started)}`);
  specPath = datasets.specPath;
}

let databaseUrl = values['database-url'];
if (!databaseUrl) {
  console.log('No --database-url: starting a throwaway PostgreSQL …');
  const postgres = await startPostgres();
  databaseUrl = postgres.url;
}

const baseUrl = `http://127.0.0.1:${port}`;
const localConfig = join(dataDir, 'app-config.local.yaml');
// JSON is YAML: what depends on this run, over app-config.yaml.
await writeFile(
  localConfig,
  `${JSON.stringify(
    {
      app: { baseUrl, packageName: appDir },
      backend: { baseUrl, listen: { port }, database: { connection: databaseUrl } },
      honk: { store: { url: databaseUrl }, spec: specPath },
    },
    null,
    2,
  )}\n`,
);

// File locations in app-config.yaml are relative to the working directory.
process.chdir(here);
const backend = createExampleBackend([join(here, 'app-config.yaml'), localConfig]);
try {
  await backend.start();
} catch (error) {
  // Backstage logs a failed start and would keep the process alive, serving nothing.
  console.error(`Backstage did not start: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`\nHonk in Backstage: ${baseUrl}  (enter as guest; the datasets of ${specPath})`);

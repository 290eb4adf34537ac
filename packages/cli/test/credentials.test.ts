/**
 * No credential is ever written to a store (issue 9 §1). A password written literally in a
 * spec stays in the memory of the `honk run` that read it — not in the journal, the PostgreSQL
 * store's rows, the output, the JSON report or the JUnit file, also when a task fails — and
 * `honk enqueue` refuses it with a hint to use `${env:…}`. Where tasks do not run (`plan`,
 * `enqueue`), unset `${env:…}` references are fine.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

let db: TestDatabase;
let passwordUrl: URL;
const PASSWORD = 'honk-test-pw-9f2c';

beforeAll(async () => {
  db = await createTestDatabase();
  const url = process.env.HONK_TEST_POSTGRES_PASSWORD_URL;
  if (!url) throw new Error('HONK_TEST_POSTGRES_PASSWORD_URL is not set: run the tests through vitest.');
  passwordUrl = new URL(url);
  passwordUrl.pathname = new URL(db.url).pathname;
  expect(decodeURIComponent(passwordUrl.password)).toBe(PASSWORD);
  await db.sql(`GRANT ALL ON SCHEMA public TO ${decodeURIComponent(passwordUrl.username)}`);
});
afterAll(async () => {
  await db?.drop();
});

/** Every file below `dir`, as text. */
function filesBelow(dir: string): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesBelow(path));
    else out.push({ path, text: readFileSync(path, 'latin1') });
  }
  return out;
}

const spec = (url: string, sample: number) => `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  warehouse: { connector: postgres, url: "${url}" }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: warehouse, table: public.orders }
    validate: { sample: ${sample} }
  - id: nowhere
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: warehouse, table: no_such_schema.orders }
`;

describe('a credential written literally in a spec', () => {
  it('is used by honk run but never reaches the journal, the output, the report or the JUnit file', async () => {
    const dir = tempDir('literal-credential');
    await writeFiles(dir, { 'honk.yaml': spec(passwordUrl.href, 5), 'legacy/orders.csv': ordersCsv(200) });
    const first = await honk(
      ['run', 'honk.yaml', '--json', '--report', 'out/report.json', '--junit', 'out/junit.xml'],
      {
        cwd: dir,
      },
    );
    expect(first.code, first.stderr).toBe(1);
    const summary = JSON.parse(first.stdout);
    const byId = Object.fromEntries(summary.tasks.map((task: { id: string }) => [task.id, task]));
    expect(byId.orders).toMatchObject({ state: 'succeeded', rows: 200 });
    expect(byId.nowhere.state).toBe('dead');
    expect(await db.sql('SELECT count(*)::int AS n FROM public.orders')).toEqual([{ n: 200 }]);

    const journal = filesBelow(join(dir, '.honk'));
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.some((file) => file.text.includes('HONK_SPEC_CREDENTIAL_WAREHOUSE_URL'))).toBe(true);
    for (const file of [...journal, ...filesBelow(join(dir, 'out'))])
      expect(file.text, file.path).not.toContain(PASSWORD);
    expect(first.stdout).not.toContain(PASSWORD);
    expect(first.stderr).not.toContain(PASSWORD);

    // A re-run of a changed task reads the credential from the spec again.
    await writeFiles(dir, { 'honk.yaml': spec(passwordUrl.href, 7), 'legacy/orders.csv': ordersCsv(300) });
    const second = await honk(['run', 'honk.yaml', '--only', 'orders', '--json'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).tasks[0]).toMatchObject({ state: 'succeeded', action: 'ran', rows: 300 });
    for (const file of filesBelow(join(dir, '.honk'))) expect(file.text, file.path).not.toContain(PASSWORD);
  });

  it('never reaches the rows of a PostgreSQL store', async () => {
    const dir = tempDir('literal-credential-pg');
    await writeFiles(dir, { 'honk.yaml': spec(passwordUrl.href, 5), 'legacy/orders.csv': ordersCsv(50) });
    const result = await honk(['run', 'honk.yaml', '--store', db.url, '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(1);
    const byId = Object.fromEntries(JSON.parse(result.stdout).tasks.map((task: { id: string }) => [task.id, task]));
    expect(byId.orders.state).toBe('succeeded');
    const rows = await db.sql<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM honk.tasks t UNION ALL
       SELECT row_to_json(c)::text FROM honk.connection_limits c`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((row) => row.row.includes('HONK_SPEC_CREDENTIAL_WAREHOUSE_URL'))).toBe(true);
    for (const row of rows) expect(row.row).not.toContain(PASSWORD);
  });

  it('is refused by honk enqueue with a hint to use an env reference, naming where and never the value', async () => {
    const dir = tempDir('literal-enqueue');
    await writeFiles(dir, {
      'honk.yaml': spec(passwordUrl.href, 5),
      's3.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake:
    connector: s3
    bucket: lake
    credentials: { accessKeyId: AKIAEXAMPLEKEY1, secretAccessKey: "wJalrXUtnFEMI/K7MDENG" }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv }
    target: { connection: lake, prefix: orders/ }
`,
    });
    const store = join(dir, 'queue');
    const refused = await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('connections.warehouse.url');
    expect(refused.stderr).toContain('$' + '{env:');
    expect(refused.stderr).not.toContain(PASSWORD);
    const s3 = await honk(['enqueue', 's3.yaml', '--store', store], { cwd: dir });
    expect(s3.code).toBe(2);
    expect(s3.stderr).toContain('connections.lake.credentials.accessKeyId');
    expect(s3.stderr).toContain('connections.lake.credentials.secretAccessKey');
    expect(s3.stderr).not.toContain('wJalrXUtnFEMI/K7MDENG');
    expect(s3.stderr).not.toContain('AKIAEXAMPLEKEY1');
    const status = await honk(['status', '--store', store, '--json'], { cwd: dir });
    expect(JSON.parse(status.stdout).tasks).toEqual([]);
    for (const file of filesBelow(store)) {
      expect(file.text).not.toContain(PASSWORD);
      expect(file.text).not.toContain('wJalrXUtnFEMI/K7MDENG');
    }
  });
});

describe("plan and enqueue without the agents' secrets", () => {
  it('validate the spec and enqueue it with its env references unresolved', async () => {
    const dir = tempDir('no-secrets');
    const withReference = spec(
      `postgres://\${env:PG_USER}:\${env:PG_PASSWORD}@${passwordUrl.host}${passwordUrl.pathname}`,
      5,
    ).split('  - id: nowhere')[0]!;
    await writeFiles(dir, { 'honk.yaml': withReference, 'legacy/orders.csv': ordersCsv(20) });
    const plan = await honk(['plan', 'honk.yaml', '--store', 'memory:'], { cwd: dir });
    expect(plan.code, plan.stderr + plan.stdout).toBe(0);
    expect(plan.stdout).toContain('PG_PASSWORD');
    expect(plan.stdout).toContain('not set here');

    // An invalid spec is still found without secrets.
    await writeFiles(dir, { 'broken.yaml': withReference.replace('table: public.orders', 'tabel: public.orders') });
    const broken = await honk(['plan', 'broken.yaml', '--store', 'memory:'], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('tasks[0].target');

    const store = join(dir, 'queue');
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(filesBelow(store).some((file) => file.text.includes(`\${env:PG_PASSWORD}`))).toBe(true);
  });
});

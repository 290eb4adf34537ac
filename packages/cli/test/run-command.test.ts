import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const SPEC = `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake, maxConcurrency: 2 }
defaults:
  retry: { attempts: 2, backoff: { initialMs: 10, factor: 2, maxMs: 50 } }
tasks:
  - id: orders
    priority: 10
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
    transform:
      rename: { amount: amount_eur }
      cast: { amount_eur: "decimal(12,2)", created_at: "timestamp[us, UTC]" }
  - id: customers
    source: { connection: legacy, path: customers.ndjson }
    target: { connection: lake, path: customers.arrow }
  - id: broken
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: broken.parquet }
    transform:
      cast: { name: int64 }
`;

async function project(spec = SPEC) {
  const dir = tempDir('run');
  const customers = Array.from({ length: 500 }, (_, i) =>
    JSON.stringify({ id: i, email: `c${i}@example.com`, vip: i % 3 === 0 }),
  );
  await writeFiles(dir, {
    'honk.yaml': spec,
    'legacy/orders.csv': ordersCsv(2_000),
    'legacy/customers.ndjson': `${customers.join('\n')}\n`,
  });
  return dir;
}

describe('honk run', () => {
  it('migrates, dead-letters the broken task with its reason, writes JSON and JUnit reports, exits 1', async () => {
    const dir = await project();
    const result = await honk(
      ['run', 'honk.yaml', '--agents', '3', '--json', '--report', 'out/report.json', '--junit', 'out/junit.xml'],
      {
        cwd: dir,
      },
    );
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.ok).toBe(false);
    const byId = Object.fromEntries(summary.tasks.map((task: { id: string }) => [task.id, task]));
    expect(byId.orders, JSON.stringify(byId.orders)).toMatchObject({ state: 'succeeded', action: 'ran', rows: 2_000 });
    expect(byId.customers).toMatchObject({ state: 'succeeded', rows: 500 });
    expect(byId.broken.state).toBe('dead');
    expect(byId.broken.error.code).toBe('SCHEMA_MISMATCH');
    expect(byId.broken.error.message).toContain('name');
    expect(byId.broken.attempts).toBe(1);
    expect(existsSync(join(dir, 'lake/orders.parquet'))).toBe(true);
    expect(existsSync(join(dir, 'lake/broken.parquet'))).toBe(false);
    expect(readdirSync(join(dir, 'lake')).filter((name) => name.startsWith('.honk-staging'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'out/report.json'), 'utf8'))).toEqual(summary);
    const junit = readFileSync(join(dir, 'out/junit.xml'), 'utf8');
    expect(junit).toContain('<testsuites name="honk" tests="3" failures="1"');
    expect(junit).toMatch(/<testcase classname="honk.migration" name="broken"[^>]*>\s*<failure type="SCHEMA_MISMATCH"/);
    // Progress goes to stderr as plain lines when not on a terminal.
    expect(result.stderr).toContain('✔ orders');
    expect(result.stderr).toContain('✖ broken: SCHEMA_MISMATCH');
  });

  it('a re-run skips what succeeded, re-runs what changed, and requeued dead tasks run again', async () => {
    const dir = await project();
    expect((await honk(['run', 'honk.yaml'], { cwd: dir })).code).toBe(1);
    const parquet = readFileSync(join(dir, 'lake/orders.parquet'));

    // Fix the broken task and change the customers task; orders is untouched.
    const fixed = SPEC.replace('cast: { name: int64 }', 'select: [id, name]').replace(
      'path: customers.arrow',
      'path: customers.parquet',
    );
    await writeFiles(dir, { 'honk.yaml': fixed });
    const second = await honk(['run', 'honk.yaml', '--json'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const byId = Object.fromEntries(JSON.parse(second.stdout).tasks.map((task: { id: string }) => [task.id, task]));
    expect(byId.orders).toMatchObject({ state: 'succeeded', action: 'skipped' });
    expect(byId.customers).toMatchObject({ state: 'succeeded', action: 'ran' });
    expect(byId.broken).toMatchObject({ state: 'succeeded', action: 'ran', rows: 2_000 });
    expect(readFileSync(join(dir, 'lake/orders.parquet'))).toEqual(parquet);
    expect(existsSync(join(dir, 'lake/customers.parquet'))).toBe(true);
  });

  it('--only runs just the named tasks; an unknown id is exit 2', async () => {
    const dir = await project();
    const only = await honk(['run', 'honk.yaml', '--only', 'customers', '--json'], { cwd: dir });
    expect(only.code, only.stderr).toBe(0);
    expect(JSON.parse(only.stdout).tasks.map((task: { id: string }) => task.id)).toEqual(['customers']);
    expect(existsSync(join(dir, 'lake/orders.parquet'))).toBe(false);
    const unknown = await honk(['run', 'honk.yaml', '--only', 'nope'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"nope"');
  });

  it('an unset env reference is exit 2 naming the variable; its value never appears when set', async () => {
    const spec = SPEC.replace('root: ./legacy', `root: "$${'{'}env:LEGACY_ROOT}"`);
    const dir = await project(spec);
    const unset = await honk(['run', 'honk.yaml'], { cwd: dir });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('LEGACY_ROOT');
    const secretRoot = join(dir, 'legacy');
    const set = await honk(['run', 'honk.yaml', '--json', '--only', 'broken'], {
      cwd: dir,
      env: { LEGACY_ROOT: secretRoot },
    });
    expect(set.code).toBe(1);
    expect(set.stdout + set.stderr).not.toContain(secretRoot);
  });

  it('an unknown connector is exit 2 with the path and the known connectors', async () => {
    const dir = await project(SPEC.replace('connector: file, root: ./legacy', 'connector: ftp, root: ./legacy'));
    const result = await honk(['run', 'honk.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('connections.legacy.connector');
    expect(result.stderr).toContain('file');
  });

  it('bad arguments are exit 2', async () => {
    const dir = await project();
    expect((await honk(['run', 'honk.yaml', '--agents', 'zero'], { cwd: dir })).code).toBe(2);
    expect((await honk(['run'], { cwd: dir })).code).toBe(2);
    expect((await honk(['frobnicate'], { cwd: dir })).code).toBe(2);
    expect((await honk(['run', 'missing.yaml'], { cwd: dir })).code).toBe(2);
  });
});

describe('honk run --store postgres://', () => {
  it('runs a spec on the distributed PostgreSQL store and resumes from it', async () => {
    const url = process.env.HONK_TEST_POSTGRES_URL;
    expect(url, 'the test global setup starts PostgreSQL').toBeTruthy();
    const dir = await project(SPEC.replace(/ {2}- id: broken[\s\S]*$/, ''));
    const store = `${url}${url!.includes('?') ? '&' : '?'}application_name=honk-cli-test`;
    const first = await honk(['run', 'honk.yaml', '--store', store, '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).tasks.map((task: { action: string }) => task.action)).toEqual(['ran', 'ran']);
    const second = await honk(['run', 'honk.yaml', '--store', store, '--json'], { cwd: dir });
    expect(JSON.parse(second.stdout).tasks.map((task: { action: string }) => task.action)).toEqual([
      'skipped',
      'skipped',
    ]);
    const status = JSON.parse((await honk(['status', 'orders', '--store', store, '--json'], { cwd: dir })).stdout);
    expect(status.tasks[0]).toMatchObject({ id: 'orders', state: 'succeeded' });
  });
});

/**
 * Exit codes and store resolution as DESIGN §5 states them: 2 for an invalid spec or
 * arguments found before any data moves (bad cast type names, strict JSON), 3 for a store
 * that is busy or unreachable, and every command finding its store the same way
 * (`--store`, then `HONK_STORE`, then the default), printed by `honk status`.
 */
import { join } from 'node:path';
import { openJournalTaskStore } from '@honk/core';
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const SPEC = `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
`;

describe('exit codes', () => {
  it('a busy embedded store exits 3 (could not run now), not 2 (invalid spec)', async () => {
    const dir = tempDir('busy');
    await writeFiles(dir, { 'honk.yaml': SPEC, 'legacy/orders.csv': ordersCsv(5) });
    const holder = await openJournalTaskStore(join(dir, '.honk'));
    try {
      const result = await honk(['run', 'honk.yaml'], { cwd: dir });
      expect(result.code, result.stderr).toBe(3);
      expect(result.stderr).toContain('already open');
      const enqueue = await honk(['enqueue', 'honk.yaml'], { cwd: dir });
      expect(enqueue.code, enqueue.stderr).toBe(3);
    } finally {
      await holder.close();
    }
  });

  it('an unreachable PostgreSQL store exits 3 and does not print its password', async () => {
    const dir = tempDir('unreachable');
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const result = await honk(['status', '--store', 'postgres://honk:s3cr3t-pw@127.0.0.1:1/honk'], { cwd: dir });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain('127.0.0.1:1');
    expect(result.stderr).not.toContain('s3cr3t-pw');
  });

  it('an invalid cast type name exits 2 at plan, enqueue and run, naming the column, before any data moves', async () => {
    const dir = tempDir('cast');
    const spec = `${SPEC}    transform:\n      cast: { amount: "int65" }\n`;
    await writeFiles(dir, { 'honk.yaml': spec, 'legacy/orders.csv': ordersCsv(5) });
    for (const command of ['plan', 'enqueue', 'run']) {
      const result = await honk([command, 'honk.yaml', '--store', 'memory:'], { cwd: dir });
      expect(result.code, `${command}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain('tasks[0].transform.cast.amount');
      expect(result.stderr).toContain('int65');
    }
  });

  it('a .json spec is strict JSON: a trailing comma exits 2 with its line', async () => {
    const dir = tempDir('json');
    const json = `{
  "version": 1,
  "connections": { "legacy": { "connector": "file", "root": "./legacy" } },
  "tasks": [],
}
`;
    await writeFiles(dir, { 'honk.json': json });
    const result = await honk(['plan', 'honk.json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('JSON');
    expect(result.stderr).toMatch(/line 5|:5:/);
  });
});

describe('store resolution', () => {
  it('every command finds the store by --store, then HONK_STORE, then the default; status prints which', async () => {
    const dir = tempDir('resolution');
    await writeFiles(dir, { 'specs/honk.yaml': SPEC, 'specs/legacy/orders.csv': ordersCsv(5) });
    const shared = join(dir, 'queue');

    // HONK_STORE applies to enqueue as to status: the same user sees the same queue.
    const env = { HONK_STORE: shared };
    const enqueued = await honk(['enqueue', 'specs/honk.yaml'], { cwd: dir, env });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(enqueued.stdout).toContain(`journal:${shared}`);
    const status = await honk(['status'], { cwd: dir, env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Store: journal:${shared} (from HONK_STORE)`);
    expect(status.stdout).toContain('pending: 1');
    const json = JSON.parse((await honk(['status', '--json'], { cwd: dir, env })).stdout);
    expect(json.store).toEqual({ url: `journal:${shared}`, from: 'HONK_STORE' });

    // --store wins over HONK_STORE.
    const other = join(dir, 'other');
    const flagged = await honk(['status', '--store', other], { cwd: dir, env });
    expect(flagged.stdout).toContain(`Store: journal:${other} (from --store)`);
    expect(flagged.stdout).toContain('pending: 0');

    // Without either, a spec's default store is .honk/ beside the spec; a command without a
    // spec that finds no store in the working directory says where to look instead of
    // showing an empty queue.
    const byDefault = await honk(['enqueue', 'specs/honk.yaml'], { cwd: dir });
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.stdout).toContain(`journal:${join(dir, 'specs', '.honk')}`);
    const lost = await honk(['status'], { cwd: dir });
    expect(lost.code).toBe(2);
    expect(lost.stderr).toContain(join(dir, '.honk'));
    expect(lost.stderr).toContain('HONK_STORE');
    const found = await honk(['status'], { cwd: join(dir, 'specs') });
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain('(from default)');
    expect(found.stdout).toContain('pending: 1');
  });
});

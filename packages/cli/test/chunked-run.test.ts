/**
 * `honk run` of a chunked task on the embedded journal store (its in-process agents share the
 * chunks), then `honk status`: chunks are summed under their task, listed one by one with
 * `--chunks`; a re-run skips the task.
 */
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

describe('honk run and status of a chunked task', () => {
  it('runs the chunks on the in-process agents, publishes once and reports the chunks in sum', async () => {
    const dir = tempDir('chunked-run');
    const files: Record<string, string> = {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders, format: csv }
    target: { connection: lake, path: orders, format: parquet }
    chunks: { max: 3 }
`,
    };
    for (let part = 0; part < 5; part++) files[`legacy/orders/part-${part}.csv`] = ordersCsv(2000, part * 2000);
    await writeFiles(dir, files);

    const run = await honk(['run', 'honk.yaml', '--json', '--agents', '2'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.tasks).toEqual([expect.objectContaining({ id: 'orders', state: 'succeeded', rows: 10_000 })]);
    expect(run.stderr).toContain('orders: split into 3 chunks');

    const status = await honk(['status', '--json'], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    const tasks = JSON.parse(status.stdout).tasks;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      id: 'orders',
      state: 'succeeded',
      chunks: { total: 3, states: { succeeded: 3 }, rows: 10_000 },
      waitingForChunks: false,
    });
    const text = await honk(['status'], { cwd: dir });
    expect(text.stdout).toContain('chunks 3/3 succeeded; 10,000 rows');
    const all = JSON.parse((await honk(['status', '--json', '--chunks'], { cwd: dir })).stdout).tasks;
    expect(all.map((task: { id: string }) => task.id)).toEqual(['orders', 'orders#0', 'orders#1', 'orders#2']);
    expect(all[1]).toMatchObject({ state: 'succeeded', attempts: 1, chunkOf: { task: 'orders', index: 0 } });

    const again = JSON.parse((await honk(['run', 'honk.yaml', '--json'], { cwd: dir })).stdout);
    expect(again.tasks).toEqual([expect.objectContaining({ id: 'orders', action: 'skipped' })]);
  });
});

/**
 * Snapshots under `honk run`: a re-run of a changed task keeps one snapshot of the old
 * target, `honk status` says what is kept and until when, and the sweep at the end of a run
 * discards what has expired — so repeated runs never pile snapshots up.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const spec = (snapshot: string, sample: number) => `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
defaults:
  snapshot: ${snapshot}
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
    validate: { sample: ${sample} }
`;

/** Files kept under the lake's snapshot directory. */
function snapshotFiles(dir: string): string[] {
  const base = join(dir, 'lake', '.honk-snapshots');
  if (!existsSync(base)) return [];
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name);
}

describe('snapshots and honk run', () => {
  it('keeps one snapshot across changed re-runs and shows it in honk status with when it goes', async () => {
    const dir = tempDir('snapshots-status');
    await writeFiles(dir, { 'legacy/orders.csv': ordersCsv(50) });
    // Each run changes the definition (the sample size), so each one runs and replaces the target.
    for (let run = 1; run <= 4; run++) {
      await writeFiles(dir, { 'honk.yaml': spec('{ keepFor: 30d }', 10 + run) });
      const result = await honk(['run', 'honk.yaml', '--json'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ id: 'orders', state: 'succeeded', action: 'ran' });
    }
    expect(snapshotFiles(dir)).toEqual(['orders.parquet']);

    const status = await honk(['status', '--json'], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    const [task] = JSON.parse(status.stdout).tasks;
    expect(task.snapshots).toHaveLength(1);
    const [snapshot] = task.snapshots;
    expect(snapshot).toMatchObject({ connector: 'file', keepForMs: 30 * 86_400_000, expired: false });
    expect(snapshot.location).toMatch(/^\.honk-snapshots\/orders-[0-9a-f]{8}\/.+\/orders\.parquet$/);
    expect(Date.parse(snapshot.discardAfter) - Date.parse(snapshot.takenAt)).toBe(30 * 86_400_000);
    expect(snapshot.ageMs).toBeGreaterThanOrEqual(0);

    const text = await honk(['status'], { cwd: dir });
    expect(text.stdout).toContain('snapshot (file .honk-snapshots/');
    expect(text.stdout).toContain(`discarded after ${snapshot.discardAfter}`);
  });

  it('sweeps expired snapshots when the run ends', async () => {
    const dir = tempDir('snapshots-sweep');
    await writeFiles(dir, { 'legacy/orders.csv': ordersCsv(50), 'honk.yaml': spec('{ keepFor: 1ms }', 10) });
    const first = await honk(['run', 'honk.yaml', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).snapshotsDiscarded).toBeUndefined();

    await writeFiles(dir, { 'honk.yaml': spec('{ keepFor: 1ms }', 11) });
    const second = await honk(['run', 'honk.yaml', '--json'], { cwd: dir });
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.tasks[0]).toMatchObject({ state: 'succeeded', action: 'ran' });
    // The run took a snapshot of the first target, and its end-of-run sweep discarded it.
    expect(summary.tasks[0].snapshot).toMatchObject({ connector: 'file' });
    expect(summary.snapshotsDiscarded).toBe(1);
    expect(snapshotFiles(dir)).toEqual([]);
    expect(readdirSync(join(dir, 'lake'))).toEqual(['orders.parquet']);

    const status = await honk(['status'], { cwd: dir });
    expect(status.stdout).toContain('expired');
  });
});

/**
 * kill -9 of `honk run` in the middle of a migration, then a re-run: nothing is lost,
 * nothing is duplicated, tasks that had succeeded are not redone, and no staging is left.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileConnector } from '@honk/core';
import { fingerprint } from '@honk/core/testing';
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));
const TASKS = 10;
const ROWS = 60_000;

async function readDataset(root: string, path: string) {
  const context = { taskId: 'verify', connectionName: 'verify', signal: new AbortController().signal, logger: console };
  const source = await fileConnector.createSource!({ options: { root }, endpoint: { path }, context } as never);
  const schema = await source.schema();
  let rows = 0;
  async function* counted() {
    for await (const batch of source.read({ signal: context.signal, batchRows: 65_536 })) {
      rows += batch.numRows;
      yield batch;
    }
  }
  const summary = await fingerprint(schema, counted());
  return { rows, summary };
}

describe('kill -9 and resume', () => {
  it('a re-run after SIGKILL finishes every task exactly once with correct data', { timeout: 300_000 }, async () => {
    const dir = tempDir('kill');
    const tasks = Array.from(
      { length: TASKS },
      (_, i) => `  - id: t${i}
    priority: ${TASKS - i}
    source: { connection: legacy, path: part-${i}.csv, format: csv }
    target: { connection: lake, path: part-${i}.parquet }`,
    ).join('\n');
    const files: Record<string, string> = {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
${tasks}
`,
    };
    for (let i = 0; i < TASKS; i++) files[`legacy/part-${i}.csv`] = ordersCsv(ROWS, i * ROWS);
    await writeFiles(dir, files);

    // First run: killed with SIGKILL once a few tasks have succeeded and others are in flight.
    const child = spawn(process.execPath, [bin, 'run', 'honk.yaml', '--agents', '2'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const succeededBeforeKill = await new Promise<string[]>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const done = [...stderr.matchAll(/✔ (t\d+):/g)].map((match) => match[1]!);
        const started = [...stderr.matchAll(/▶ (t\d+)/g)].length;
        if (done.length >= 3 && started > done.length) {
          child.kill('SIGKILL');
          resolve(done);
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL')
          reject(new Error(`honk run ended before it could be killed (code ${code}): ${stderr}`));
      });
    });
    await new Promise((resolve) => child.once('close', resolve));
    expect(succeededBeforeKill.length).toBeGreaterThanOrEqual(3);

    // Second run: resumes.
    const rerun = await honk(['run', 'honk.yaml', '--json', '--agents', '2'], { cwd: dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    for (const task of summary.tasks) {
      expect(task.state).toBe('succeeded');
      // A task that succeeded before the kill is not redone.
      if (succeededBeforeKill.includes(task.id)) expect(task.action).toBe('skipped');
    }
    // A task may finish between the last progress line read and the kill, so at most the rest re-run,
    // and at least the one that was in flight.
    const ran = summary.tasks.filter((task: { action: string }) => task.action === 'ran').length;
    expect(ran).toBeGreaterThanOrEqual(1);
    expect(ran).toBeLessThanOrEqual(TASKS - succeededBeforeKill.length);
    expect(summary.tasks.filter((task: { action: string }) => task.action === 'skipped').length).toBe(TASKS - ran);

    // Every target equals its source: nothing lost, nothing duplicated, no staging left over.
    for (let i = 0; i < TASKS; i++) {
      const source = await readDataset(join(dir, 'legacy'), `part-${i}.csv`);
      const target = await readDataset(join(dir, 'lake'), `part-${i}.parquet`);
      expect(target.rows).toBe(ROWS);
      expect(target.summary).toEqual(source.summary);
    }
    expect(readdirSync(join(dir, 'lake')).filter((name) => name.startsWith('.honk-staging'))).toEqual([]);

    // A third run does nothing.
    const third = JSON.parse((await honk(['run', 'honk.yaml', '--json'], { cwd: dir })).stdout);
    expect(third.tasks.every((task: { action: string }) => task.action === 'skipped')).toBe(true);
  });
});

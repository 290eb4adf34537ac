/**
 * SIGTERM against the real `honk` process while a task hangs in a connector or transform
 * that ignores its AbortSignal and keeps a timer alive: the process still exits within its
 * drain timeout (plus the abort grace), and the task is released back to the store — not
 * lost, not failed, not counted as succeeded — so a later run or agent picks it up.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { openJournalTaskStore, type TaskRecord } from '@honk/core';
import { describe, expect, it } from 'vitest';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));
const stuckConnector = fileURLToPath(new URL('./fixtures/stuck-connector.ts', import.meta.url));
const stuckTransform = fileURLToPath(new URL('./fixtures/stuck-transform.ts', import.meta.url));
const DRAIN_MS = 500;
/**
 * A hang guard, not a timing assertion: drain, the run's 5 s for an aborted step to wind
 * down, the agent's 5 s abort grace, store and server shutdown, and a slow shared machine.
 */
const EXIT_BOUND_MS = DRAIN_MS + 30_000;

type Child = ChildProcessByStdio<null, Readable, Readable>;

function start(args: string[], cwd: string): { child: Child; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor(text: RegExp, output: () => string, exited: Promise<unknown>): Promise<void> {
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  const deadline = Date.now() + 60_000;
  while (!text.test(output())) {
    if (ended) throw new Error(`the process ended before ${text}: ${output()}`);
    if (Date.now() > deadline) throw new Error(`no ${text} in time: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends SIGTERM and resolves with the exit code, or kills the process and fails past the bound. */
async function terminate(child: Child, exited: Promise<number | null>): Promise<number | null> {
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), EXIT_BOUND_MS);
  });
  const outcome = await Promise.race([exited, bound]);
  clearTimeout(timer);
  if (outcome === 'hung') {
    child.kill('SIGKILL');
    throw new Error(`honk did not exit within ${EXIT_BOUND_MS} ms of SIGTERM`);
  }
  return outcome;
}

async function record(storeDir: string, id: string): Promise<TaskRecord | undefined> {
  const store = await openJournalTaskStore(storeDir);
  try {
    return await store.get(id);
  } finally {
    await store.close();
  }
}

describe('SIGTERM while a task hangs', () => {
  it('honk run drains, releases the task back to the store and exits 143', { timeout: 120_000 }, async () => {
    const dir = tempDir('sigterm-run');
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connectors: ["${stuckConnector}"]
connections:
  legacy: { connector: stuck, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: stuck
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
    batchRows: 100
`,
      'legacy/orders.csv': ordersCsv(1000),
    });
    const run = start(['run', 'honk.yaml', '--json', '--drain-timeout-ms', String(DRAIN_MS)], dir);
    await waitFor(/▶ stuck/, run.output, run.exited);
    const code = await terminate(run.child, run.exited);
    expect(code, run.output()).toBe(143);

    const summary = JSON.parse(run.output().slice(run.output().indexOf('{')));
    expect(summary).toMatchObject({ ok: false, interrupted: 'SIGTERM' });
    expect(summary.tasks[0]).toMatchObject({ id: 'stuck', state: 'pending', attempts: 0 });
    expect(run.output()).toContain('⏏ stuck: released back to the store (drain-timeout)');

    const task = await record(join(dir, '.honk'), 'stuck');
    expect(task).toMatchObject({ state: 'pending', attempts: 0 });
    expect(task?.history.at(-1)).toMatchObject({ outcome: 'released' });
    expect(task?.lastError).toBeUndefined();
    // Nothing was published and the staging is gone.
    expect(existsSync(join(dir, 'lake', 'orders.parquet'))).toBe(false);
    expect(existsSync(join(dir, 'lake')) ? readdirSync(join(dir, 'lake')) : []).toEqual([]);
  });

  it('honk agent drains within --drain-timeout-ms, releases the task and exits 0', { timeout: 120_000 }, async () => {
    const dir = tempDir('sigterm-agent');
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: stalled
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
    transform: { module: "${stuckTransform}#stall" }
`,
      'legacy/orders.csv': ordersCsv(1000),
    });
    const storeDir = join(dir, 'queue');
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', storeDir], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const agent = start(
      [
        'agent',
        '--store',
        storeDir,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--no-scheduler',
        '--drain-timeout-ms',
        String(DRAIN_MS),
        // The agent loads only modules it was told to trust.
        '--allow-module',
        stuckTransform,
      ],
      dir,
    );
    await waitFor(/task claimed/, agent.output, agent.exited);
    const code = await terminate(agent.child, agent.exited);
    expect(code, agent.output()).toBe(0);
    expect(agent.output()).toContain('SIGTERM: draining');
    expect(agent.output()).toContain('task released (drain-timeout)');

    const task = await record(storeDir, 'stalled');
    expect(task).toMatchObject({ state: 'pending', attempts: 0 });
    expect(task?.history.at(-1)).toMatchObject({ outcome: 'released' });
    expect(existsSync(join(dir, 'lake', 'orders.parquet'))).toBe(false);
  });
});

/**
 * A real Prometheus server scrapes a real `honk agent` process: the agent's metrics are
 * valid exposition that Prometheus ingests, labelled with the agent's class, and readable
 * through Prometheus's HTTP API as dashboards and alerts read them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningPrometheus, startPrometheus } from '../../../test/services/prometheus.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('honk agent scraped by Prometheus', () => {
  it("exposes the class's task, backlog and process series through Prometheus's API", async () => {
    const dir = tempDir('prometheus');
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet, format: parquet }
`,
      'legacy/orders.csv': ordersCsv(25),
    });
    const store = join(dir, 'queue');
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const port = await freePort();
    const agent: ChildProcess = spawn(
      process.execPath,
      [bin, 'agent', '--store', store, '--host', '127.0.0.1', '--port', String(port), '--no-scheduler'],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HONK_AGENT_CLASS: 'eu' } },
    );
    let agentLog = '';
    agent.stderr?.on('data', (chunk) => {
      agentLog += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (agent.exitCode === null) {
        agent.kill('SIGTERM');
        await exited;
      }
    });

    const prometheus: RunningPrometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], job: 'honk-agents' });
    cleanups.push(() => prometheus.stop());

    const succeeded = await until(async () => {
      const result = await prometheus.query('honk_tasks_total{job="honk-agents",state="succeeded"}');
      return result.find((sample) => sample.value[1] === '1');
    }, `a scraped honk_tasks_total{state="succeeded"} of 1 (agent log: ${agentLog})`);
    expect(succeeded.metric).toMatchObject({ class: 'eu', job: 'honk-agents', instance: `127.0.0.1:${port}` });

    const up = await prometheus.query('up{job="honk-agents"}');
    expect(up.map((sample) => sample.value[1])).toEqual(['1']);
    const queue = await until(async () => {
      const result = await prometheus.query('honk_queue_tasks{job="honk-agents",state="succeeded"}');
      return result[0]?.value[1] === '1' ? result : undefined;
    }, 'the queue gauge');
    expect(queue[0]!.metric.class).toBe('eu');
    const backlog = await prometheus.query('honk_queue_claimable_tasks{job="honk-agents"}');
    expect(backlog.map((sample) => [sample.metric.class, sample.value[1]])).toEqual([['eu', '0']]);
    const memory = await prometheus.query('process_resident_memory_bytes{job="honk-agents",class="eu"}');
    expect(Number(memory[0]?.value[1])).toBeGreaterThan(0);

    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

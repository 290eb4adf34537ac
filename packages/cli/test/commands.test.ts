import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malformedSpecCases } from '../../core/test/spec/malformed-corpus.ts';
import { agentCommand } from '../src/commands/agent-command.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const SPEC = `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet }
    transform:
      select: [id, amount, created_at]
      cast: { amount: "decimal(12,2)" }
  - id: missing
    source: { connection: legacy, path: nope.csv, format: csv }
    target: { connection: lake, path: nope.parquet }
`;

describe('honk plan', () => {
  it('shows the column mapping and what would run, moves no data, and exits 1 for a task that would fail', async () => {
    const dir = tempDir('plan');
    await writeFiles(dir, { 'honk.yaml': SPEC, 'legacy/orders.csv': ordersCsv(10) });
    const result = await honk(['plan', 'honk.yaml'], { cwd: dir });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('● orders: run');
    expect(result.stdout).toMatch(/amount: float64\s+→\s+amount: decimal\(12,2\)/);
    expect(result.stdout).toMatch(/name: utf8\s+→\s+\(dropped\)/);
    expect(result.stdout).toContain('(dropped)');
    expect(result.stdout).toContain('● missing: WOULD FAIL');
    expect(result.stdout).toContain('NOT_FOUND');
    expect(result.stdout).toContain('No data was moved');
    const ok = await honk(['plan', 'honk.yaml', '--only', 'orders', '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    const plan = JSON.parse(ok.stdout);
    expect(plan.tasks[0]).toMatchObject({ taskId: 'orders', ok: true, action: 'run', target: { exists: false } });
    expect((await honk(['status', '--store', join(dir, '.honk'), '--json'], { cwd: dir })).stdout).toContain(
      '"tasks": []',
    );
  });

  it(`rejects each of ${malformedSpecCases.length} malformed specs with exit 2 and the path on stderr`, async () => {
    const dir = tempDir('malformed');
    for (const [index, testCase] of malformedSpecCases.entries()) {
      const file = `broken-${index}.yaml`;
      await writeFiles(dir, { [file]: testCase.yaml });
      for (const command of ['plan', 'run']) {
        const result = await honk([command, file], { cwd: dir });
        expect(result.code, `${testCase.name}: ${result.stderr}`).toBe(2);
        for (const path of testCase.paths) expect(result.stderr, testCase.name).toContain(path || '(document)');
      }
    }
  });
});

describe('store commands', () => {
  it('enqueue, status, dead-letter list/requeue and cancel work against a store', async () => {
    const dir = tempDir('store');
    await writeFiles(dir, { 'honk.yaml': SPEC, 'legacy/orders.csv': ordersCsv(10) });
    const store = join(dir, 'queue');
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', store, '--json'], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    expect(JSON.parse(enqueued.stdout).map((r: { outcome: string }) => r.outcome)).toEqual(['created', 'created']);

    const status = await honk(['status', '--store', store, '--json'], { cwd: dir });
    expect(JSON.parse(status.stdout).counts.pending).toBe(2);

    // An agent runs them: orders succeeds, missing is dead-lettered (NOT_FOUND is not retryable).
    let stop!: () => void;
    const until = new Promise<void>((resolve) => {
      stop = resolve;
    });
    let address: AddressInfo | undefined;
    const io = { stdout() {}, stderr() {}, env: { HONK_AGENT_CLASS: 'eu' }, cwd: dir, isTTY: false };
    const agent = agentCommand(
      { store, concurrency: 2, port: 0, host: '127.0.0.1', scheduler: false, until, onListening: (a) => (address = a) },
      io,
    );
    const base = async () => {
      while (!address) await new Promise((resolve) => setTimeout(resolve, 20));
      return `http://127.0.0.1:${address.port}`;
    };
    const url = await base();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    let metrics = '';
    // A hang guard of a minute: on a loaded machine the two tiny tasks can take many seconds.
    for (let i = 0; i < 600; i++) {
      metrics = await (await fetch(`${url}/metrics`)).text();
      if (
        /honk_tasks_total\{state="dead",class="eu"\} 1/.test(metrics) &&
        /honk_queue_tasks\{state="succeeded",class="eu"\} 1/.test(metrics)
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The agent's class labels every series; the backlog and the process metrics are served too.
    expect(metrics).toMatch(/honk_tasks_total\{state="succeeded",class="eu"\} 1/);
    expect(metrics).toMatch(/honk_task_failures_total\{code="NOT_FOUND",class="eu"\} 1/);
    expect(metrics).toMatch(/honk_queue_claimable_tasks\{class="eu"\} 0/);
    expect(metrics).toMatch(/process_resident_memory_bytes\{class="eu"\} [1-9]/);
    expect(metrics).not.toContain('orders');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    stop();
    expect(await agent).toBe(0);

    const dead = await honk(['dead-letter', 'list', '--store', store], { cwd: dir });
    expect(dead.stdout).toContain('missing');
    expect(dead.stdout).toContain('NOT_FOUND');
    expect(dead.stdout).not.toContain('orders');
    const requeued = await honk(['dead-letter', 'requeue', 'missing', '--store', store], { cwd: dir });
    expect(requeued.code).toBe(0);
    expect(requeued.stdout).toContain('now pending, attempts 0/');
    const cancelled = await honk(['cancel', 'missing', '--store', store], { cwd: dir });
    expect(cancelled.stdout).toContain('cancelled');
    const final = JSON.parse((await honk(['status', '--store', store, '--json'], { cwd: dir })).stdout);
    expect(final.counts).toMatchObject({ succeeded: 1, cancelled: 1, pending: 0 });
    expect((await honk(['cancel', 'nope', '--store', store], { cwd: dir })).code).toBe(1);
  });

  it('prints the JSON Schema of spec files', async () => {
    const result = await honk(['schema'], { cwd: tempDir('schema') });
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout);
    expect(schema.$schema).toContain('json-schema.org');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['version', 'connections', 'tasks']));
  });

  it('rejects an unknown store URL with exit 2', async () => {
    const result = await honk(['status', '--store', 'redis://user:hunter22@localhost'], { cwd: tempDir('url') });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('hunter22');
  });
});

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileConnector } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrationService, type MigrationService } from '../migration-service.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));

function csv(rows: number): string {
  const lines = ['id,name,amount,paid_at'];
  for (let i = 0; i < rows; i++)
    lines.push(`${9_007_199_254_740_993n + BigInt(i)},"Duck, ""${i}"" 🦆",${i}.25,2026-01-02T03:04:05+01:00`);
  return `${lines.join('\n')}\n`;
}

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'honk-library-'));
  const incomingDir = join(root, 'incoming');
  mkdirSync(incomingDir, { recursive: true });
  writeFileSync(join(incomingDir, 'orders.csv'), csv(1234));
  return { root, incomingDir, lakeDir: join(root, 'lake'), storeDir: join(root, '.honk') };
}

async function poll(base: string, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const status = (await (await fetch(`${base}/migrations/${id}`)).json()) as Record<string, unknown>;
    if (status.state === 'succeeded' || status.state === 'dead') return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the migration service (in-process, loopback)', () => {
  let service: MigrationService;
  let base: string;
  let paths: ReturnType<typeof dirs>;

  beforeAll(async () => {
    paths = dirs();
    service = await createMigrationService(paths);
    service.server.listen(0, '127.0.0.1');
    await once(service.server, 'listening');
    base = `http://127.0.0.1:${(service.server.address() as AddressInfo).port}`;
  });
  afterAll(() => service.close());

  it('POST /migrations runs the task; GET /migrations/:id reports it; /metrics counts it', async () => {
    const posted = await fetch(`${base}/migrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'orders-2026-11', source: 'orders.csv', target: 'orders.parquet' }),
    });
    expect(posted.status).toBe(202);
    expect(posted.headers.get('location')).toBe('/migrations/orders-2026-11');
    expect(await posted.json()).toMatchObject({ id: 'orders-2026-11', outcome: 'created' });

    const status = await poll(base, 'orders-2026-11');
    expect(status).toMatchObject({ id: 'orders-2026-11', state: 'succeeded', attempts: 1, rows: 1234 });

    // The target is there and holds every row.
    const signal = new AbortController().signal;
    const source = await fileConnector.createSource!({
      options: { root: paths.lakeDir },
      endpoint: { path: 'orders.parquet' },
      context: { taskId: 'check', connectionName: 'lake', signal, logger: console },
    });
    let rows = 0;
    const ids: bigint[] = [];
    for await (const batch of source.read({ signal, batchRows: 10_000 })) {
      rows += batch.numRows;
      ids.push(...(batch.getChild('id')!.toArray() as BigInt64Array));
    }
    expect(rows).toBe(1234);
    expect(ids[0]).toBe(9_007_199_254_740_993n); // beyond 2^53, exact

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^honk_tasks_total\{state="succeeded"\} 1$/m);
    expect(metrics).toMatch(/^honk_rows_transferred_total 1234$/m);
    expect(metrics).toMatch(/^honk_queue_tasks\{state="succeeded"\} 1$/m);
  });

  it('a bad request gets 400 with the spec error naming the field; an unknown id 404', async () => {
    const bad = await fetch(`${base}/migrations`, {
      method: 'POST',
      body: JSON.stringify({ id: 'has spaces', source: 'orders.csv', target: 'x.parquet' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/\bid\b/);
    expect((await fetch(`${base}/migrations/nope`)).status).toBe(404);
  });

  it('a missing source dead-letters with NOT_FOUND at once', async () => {
    await fetch(`${base}/migrations`, {
      method: 'POST',
      body: JSON.stringify({ id: 'missing', source: 'nope.csv', target: 'nope.parquet' }),
    });
    expect(await poll(base, 'missing')).toMatchObject({ state: 'dead', error: { code: 'NOT_FOUND' } });
    expect(existsSync(join(paths.lakeDir, 'nope.parquet'))).toBe(false);
  });
});

it('the service process drains and exits 0 on SIGTERM', async () => {
  const paths = dirs();
  const child = spawn(process.execPath, [join(example, 'service.ts')], {
    env: { ...process.env, PORT: '0', SERVICE_DATA: paths.root },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`service exited early (${code}): ${output}`)));
  });
  await fetch(`${base}/migrations`, {
    method: 'POST',
    body: JSON.stringify({ id: 'before-shutdown', source: 'orders.csv', target: 'orders.parquet' }),
  });
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  expect(output).toContain('SIGTERM: draining');
  expect(code).toBe(0);
});

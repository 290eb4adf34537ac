/**
 * `honk backstage generate|start|status` against a real Backstage backend with Honk's plugins
 * (honk-test-backend.ts): the CLI selects datasets by catalog filter or entity ref through the
 * honk plugin, with the plugin's authentication and permission checks, and maps Backstage's
 * answers onto the CLI's exit codes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { runCli } from '@honk/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALICE, eventually, type HonkBackstage, MALLORY, startHonkBackstage } from './honk-test-backend.ts';

let honk: HonkBackstage;
let cwd: string;
beforeAll(async () => {
  honk = await startHonkBackstage();
  // The entity provider publishes the datasets shortly after start-up.
  for (const name of [
    'legacy-customers',
    'warehouse.shop.orders',
    'warehouse.shop.payments',
    'warehouse.shop.refunds',
  ]) {
    await eventually(`entity ${name}`, () => honk.entity(name));
  }
  cwd = mkdtempSync(join(tmpdir(), 'honk-cli-backstage-'));
});
afterAll(async () => {
  await honk?.stop();
});

const tokenOf = (user: string) => mockCredentials.user.token(user);
/** Runs `honk backstage …` as `user` (null: no token). */
const honkCli = (argv: string[], user: string | null = ALICE, url: string = honk.base) =>
  runCli(['backstage', ...argv], {
    cwd,
    env: { HONK_BACKSTAGE_URL: url, ...(user ? { HONK_BACKSTAGE_TOKEN: tokenOf(user) } : {}) },
  });

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('honk backstage', () => {
  it('generates a spec for a catalog filter into a file, enqueueing nothing', async () => {
    const before = (await honk.store.list()).length;
    const result = await honkCli([
      'generate',
      '--filter',
      'metadata.tags=migration',
      '--filter',
      'metadata.annotations.honk.dev/connector=postgres',
      '--out',
      'generated.yaml',
    ]);
    expect(result.stderr).toContain('wrote 4 task(s)');
    expect(result.code).toBe(0);
    const spec = parse(readFileSync(join(cwd, 'generated.yaml'), 'utf8')) as {
      version: number;
      tasks: Array<{ id: string }>;
    };
    expect(spec.version).toBe(1);
    expect(spec.tasks.map((task) => task.id).sort()).toEqual([
      'resource.default.legacy-customers',
      'resource.default.warehouse.shop.orders',
      'resource.default.warehouse.shop.payments',
      'resource.default.warehouse.shop.refunds',
    ]);
    expect((await honk.store.list()).length).toBe(before);
  });

  it('starts entities in a window with a priority, then shows them in status', async () => {
    const entityRef = 'resource:default/warehouse.shop.payments';
    const dry = await honkCli(['start', '--entity', entityRef, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).results).toMatchObject([{ entityRef, outcome: 'dry-run' }]);
    expect((await honk.store.list()).some((task) => task.entity === entityRef)).toBe(false);

    const started = await honkCli([
      'start',
      '--entity',
      entityRef,
      '--window',
      '01:00-05:00',
      '--timezone',
      'Europe/Stockholm',
      '--priority',
      '7',
    ]);
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/resource:default\/warehouse\.shop\.payments\s+\S+\s+created\s+pending/);
    const task = (await honk.store.list()).find((record) => record.entity === entityRef);
    expect(task).toMatchObject({
      priority: 7,
      window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
    });

    const status = await honkCli(['status', '--entity', entityRef, '--json']);
    expect(status.code).toBe(0);
    const listed = JSON.parse(status.stdout) as {
      items: Array<{ taskId: string; status: string }>;
      totalItems: number;
    };
    expect(listed.items).toEqual([expect.objectContaining({ taskId: task!.id, status: 'pending' })]);
    const text = await honkCli(['status', '--status', 'pending']);
    expect(text.stdout).toContain(task!.id);
    expect(text.stdout).toMatch(/pending [1-9]/);
  });

  it('refuses a user without the permission, and enqueues nothing', async () => {
    const before = (await honk.store.list()).length;
    const denied = await honkCli(['start', '--entity', 'resource:default/warehouse.shop.refunds'], MALLORY);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('lacks the honk permission');
    expect(denied.stderr).not.toContain(tokenOf(MALLORY));
    expect((await honk.store.list()).length).toBe(before);
  });

  it('asks for a token when Backstage wants one', async () => {
    const anonymous = await honkCli(['status'], null);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('set HONK_BACKSTAGE_TOKEN');
  });

  it('exits 3 when Backstage cannot be reached, 2 for bad arguments', async () => {
    const unreachable = await honkCli(['status'], ALICE, `http://127.0.0.1:${await closedPort()}`);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot be reached');

    const badFilter = await honkCli(['start', '--filter', 'metadata.tags']);
    expect(badFilter.code).toBe(2);
    expect(badFilter.stderr).toContain('is not key=value');
    const badWindow = await honkCli(['start', '--filter', 'metadata.tags=migration', '--window', '1-5']);
    expect(badWindow.code).toBe(2);
    const noSelection = await honkCli(['start']);
    expect(noSelection.code).toBe(2);
    const credentialsInUrl = await runCli(['backstage', 'status', '--url', 'http://user:pw@127.0.0.1:1'], {
      cwd,
      env: {},
    });
    expect(credentialsInUrl.code).toBe(2);
    expect(credentialsInUrl.stderr).not.toContain('pw@');
    const unknownStatus = await honkCli(['status', '--status', 'bogus']);
    expect(unknownStatus.code).toBe(2);
    expect(unknownStatus.stderr).toContain('Unknown status bogus');
  });
});

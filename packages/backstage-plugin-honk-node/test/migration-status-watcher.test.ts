/**
 * MigrationStatusWatcher on the real PostgreSQL task store: a task enqueued in another process
 * (a notified event) and finished before the next poll still reaches the listeners as
 * succeeded — its success is not notified, so the poll must know to look for it.
 */
import type { MigrationSummary } from '@honk/backstage-plugin-honk-common';
import { createPostgresTaskStore, type PostgresTaskStore } from '@honk/connectors-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { MigrationLedger, MigrationStatusWatcher } from '../src/index.ts';

let db: TestDatabase;
let watched: PostgresTaskStore;
let other: PostgresTaskStore;
let ledger: MigrationLedger;

beforeAll(async () => {
  db = await createTestDatabase();
  watched = await createPostgresTaskStore({ url: db.url });
  other = await createPostgresTaskStore({ url: db.url });
  ledger = await MigrationLedger.open({ url: db.url, schema: 'honk_backstage' });
});

afterAll(async () => {
  await watched?.close();
  await other?.close();
  await ledger?.close();
  await db?.drop();
});

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe('MigrationStatusWatcher', () => {
  it('reports a task that was enqueued and ended between two polls', async () => {
    const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent } as never;
    // Polls only when told to: the test decides what happens between two polls.
    const watcher = new MigrationStatusWatcher({ store: watched, ledger, pollMs: 3_600_000, logger: silent });
    const seen: MigrationSummary[] = [];
    watcher.onChange((summary) => seen.push(summary));
    await watcher.start();
    try {
      await other.enqueue([{ id: 'orders', definition: { any: 'thing' }, entity: 'resource:default/orders' }]);
      // The enqueue is notified through PostgreSQL: the watcher reports it at once.
      await until('pending', () => seen.find((summary) => summary.status === 'pending'));
      const claim = await other.claim('agent-1', { leaseMs: 30_000 });
      expect(claim?.task.id).toBe('orders');
      await other.complete('orders', claim!.token, { ok: true });
      await watcher.poll();
      const done = await until('succeeded', () => seen.find((summary) => summary.status === 'succeeded'));
      expect(done).toMatchObject({ taskId: 'orders', entityRef: 'resource:default/orders' });
    } finally {
      await watcher.stop();
    }
  });
});

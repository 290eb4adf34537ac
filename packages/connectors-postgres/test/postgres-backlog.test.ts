/**
 * The backlog `honk agent` reports for its class from a real PostgreSQL store: the same
 * count as the KEDA scaler query, and the age of the longest-due task inside its window.
 */
import { randomBytes } from 'node:crypto';
import { measureBacklog, type TaskInput } from '@honk/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresTaskStore, type PostgresTaskStore } from '../src/index.ts';
import { serverUrl } from './postgres-test-database.ts';

const stores: PostgresTaskStore[] = [];

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

describe('PostgresTaskStore.backlog', () => {
  it('counts what a class could claim and dates its oldest due task, without reading task records', async () => {
    const store = await createPostgresTaskStore({
      url: serverUrl(),
      schema: `honk_backlog_${randomBytes(5).toString('hex')}`,
    });
    stores.push(store);
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    const now = new Date();
    const closedWindow = {
      start: `${String((now.getUTCHours() + 2) % 24).padStart(2, '0')}:00`,
      end: `${String((now.getUTCHours() + 3) % 24).padStart(2, '0')}:00`,
      timezone: 'UTC',
    };
    const task = (id: string, extra: Partial<TaskInput>): TaskInput => ({ id, definition: { id }, ...extra });
    await store.setConnectionLimits({ warehouse: 1 });
    await store.enqueue([
      task('eu-old', { notBefore: ago(600), agentLabels: { region: 'eu' }, connections: ['lake'] }),
      task('eu-new', { notBefore: ago(60), agentLabels: { region: 'eu' }, connections: ['lake'] }),
      // Behind a limit of 1: of the two, one counts.
      task('eu-limited-a', { notBefore: ago(30), agentLabels: { region: 'eu' }, connections: ['warehouse'] }),
      task('eu-limited-b', { notBefore: ago(30), agentLabels: { region: 'eu' }, connections: ['warehouse'] }),
      // Waiting for its window, not for an agent: neither counted nor dated.
      task('eu-window', { notBefore: ago(5000), agentLabels: { region: 'eu' }, window: closedWindow }),
      task('us', { notBefore: ago(9000), agentLabels: { region: 'us' } }),
      task('eu-later', { notBefore: new Date(Date.now() + 3_600_000), agentLabels: { region: 'eu' } }),
    ]);

    const eu = await measureBacklog(store, { labels: { region: 'eu' } });
    expect(eu.claimable).toBe(3);
    const age = (Date.now() - Date.parse(eu.oldestClaimableAt!)) / 1000;
    expect(age).toBeGreaterThanOrEqual(599);
    expect(age).toBeLessThan(5000);

    // A class limited to the lake connection sees only the lake tasks.
    expect((await measureBacklog(store, { labels: { region: 'eu' }, connections: ['lake'] })).claimable).toBe(2);
    expect(await measureBacklog(store, { labels: { region: 'ap' } })).toEqual({ claimable: 0 });
  });
});

/**
 * The KEDA scaler query against a real PostgreSQL task store: what it counts must be what
 * agents of that class can claim now, no more (pods that would idle) and no less.
 */
import { randomBytes } from 'node:crypto';
import type { ClaimOptions, TaskInput } from '@honk/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClaimableTasksQueryOptions,
  claimableTasksQuery,
  createPostgresTaskStore,
  type PostgresTaskStore,
} from '../src/index.ts';
import { serverUrl } from './postgres-test-database.ts';

const schemas: string[] = [];
const stores: PostgresTaskStore[] = [];

async function open(): Promise<PostgresTaskStore> {
  const schema = `honk_scaler_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  const store = await createPostgresTaskStore({ url: serverUrl(), schema });
  stores.push(store);
  return store;
}

async function sql<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Runs the query exactly as KEDA does: the text alone, no parameters, one numeric value. */
async function claimable(store: PostgresTaskStore, options: Omit<ClaimableTasksQueryOptions, 'schema'> = {}) {
  const rows = await sql<Record<string, unknown>>(claimableTasksQuery({ ...options, schema: store.schema }));
  expect(rows).toHaveLength(1);
  expect(Object.keys(rows[0]!)).toEqual(['claimable']);
  return rows[0]!.claimable as number;
}

/** Claims as one agent of a class until nothing is left; returns the ids claimed. */
async function claimAll(store: PostgresTaskStore, agentClass: Pick<ClaimOptions, 'labels' | 'connections'>) {
  const ids: string[] = [];
  for (;;) {
    const claim = await store.claim(`agent-${ids.length}`, { leaseMs: 60_000, ...agentClass });
    if (claim === null) return ids;
    ids.push(claim.task.id);
  }
}

const tasks = (prefix: string, count: number, extra: Partial<TaskInput> = {}): TaskInput[] =>
  Array.from({ length: count }, (_, index) => ({ id: `${prefix}${index}`, definition: { index }, ...extra }));

/** `HH:MM` (UTC) `hours` from now, wrapping round midnight. */
function clockIn(hours: number): string {
  const minutes = (((new Date().getUTCHours() + hours) % 24) + 24) % 24;
  return `${String(minutes).padStart(2, '0')}:00`;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const schema of schemas.splice(0)) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});

describe('claimableTasksQuery', () => {
  it('counts due tasks only: not those whose notBefore is ahead or whose window is closed', async () => {
    const store = await open();
    await store.enqueue([
      ...tasks('due', 3),
      ...tasks('later', 4, { notBefore: new Date(Date.now() + 3_600_000) }),
      // Open: from an hour ago to two hours ahead; closed: from two to four hours ahead.
      ...tasks('open', 2, { window: { start: clockIn(-1), end: clockIn(2), timezone: 'UTC' } }),
      ...tasks('closed', 5, { window: { start: clockIn(2), end: clockIn(4), timezone: 'UTC' } }),
      // The same closed hours in another zone: evaluated in that zone, still closed.
      ...tasks('tokyo', 1, { window: { start: clockIn(11), end: clockIn(13), timezone: 'Asia/Tokyo' } }),
    ]);
    expect(await claimable(store)).toBe(5);
    expect((await claimAll(store, { labels: {} })).sort()).toEqual(['due0', 'due1', 'due2', 'open0', 'open1']);
    expect(await claimable(store)).toBe(0);
  });

  it('counts at most the free slots of a maxConcurrency: 2 connection, whatever its backlog', async () => {
    const store = await open();
    await store.setConnectionLimits({ warehouse: 2 });
    await store.enqueue([...tasks('w', 50, { connections: ['warehouse', 'lake'] }), ...tasks('free', 3)]);
    expect(await claimable(store)).toBe(5);
    const first = await store.claim('agent', { leaseMs: 60_000, labels: {} });
    expect(first?.task.id).toBe('w0');
    expect(await claimable(store)).toBe(1 + 3);
    await store.claim('agent', { leaseMs: 60_000, labels: {} });
    expect(await claimable(store)).toBe(3);
    // The first one's success frees its slot.
    await store.complete(first!.task.id, first!.token, {});
    expect(await claimable(store)).toBe(1 + 3);
  });

  it('counts a task whose lease expired (the next claim takes it back), unless it has no attempt left', async () => {
    const store = await open();
    const past = new Date(Date.now() - 3_600_000);
    await store.enqueue([...tasks('retry', 1, { maxAttempts: 3 }), ...tasks('last', 1, { maxAttempts: 1 })], {
      now: past,
    });
    expect(await store.claim('gone', { leaseMs: 1000, now: past })).not.toBeNull();
    expect(await store.claim('gone', { leaseMs: 1000, now: past })).not.toBeNull();
    expect(await claimable(store)).toBe(1);
    expect(await claimAll(store, { labels: {} })).toEqual(['retry0']);
    expect((await store.get('last0'))?.state).toBe('dead');
  });

  it('filters by the class: required labels and the connection list', async () => {
    const store = await open();
    await store.enqueue([
      ...tasks('any', 2, { connections: ['lake'] }),
      ...tasks('eu', 3, { agentLabels: { region: 'eu' }, connections: ['lake'] }),
      ...tasks('eu-gold', 1, { agentLabels: { region: 'eu', tier: 'gold' }, connections: ['lake'] }),
      ...tasks('us', 4, { agentLabels: { region: 'us' }, connections: ['lake'] }),
      ...tasks('eu-wh', 2, { agentLabels: { region: 'eu' }, connections: ['lake', 'warehouse-eu'] }),
    ]);
    expect(await claimable(store)).toBe(2);
    expect(await claimable(store, { labels: { region: 'eu' } })).toBe(2 + 3 + 2);
    expect(await claimable(store, { labels: { region: 'eu', tier: 'gold' } })).toBe(2 + 3 + 1 + 2);
    expect(await claimable(store, { labels: { region: 'us' } })).toBe(2 + 4);
    expect(await claimable(store, { labels: { region: 'eu' }, connections: ['lake'] })).toBe(2 + 3);
    expect(await claimable(store, { labels: { region: 'eu' }, connections: ['warehouse-eu'] })).toBe(0);
    expect(await claimable(store, { labels: { region: 'eu' }, connections: ['lake', 'warehouse-eu'] })).toBe(7);
    // What the class counts is exactly what an agent of that class claims.
    const euLake = await claimAll(store, { labels: { region: 'eu' }, connections: ['lake'] });
    expect(euLake.sort()).toEqual(['any0', 'any1', 'eu0', 'eu1', 'eu2']);
    expect(await claimable(store, { labels: { region: 'us' } })).toBe(4);
  });

  it('equals the number of claims a class can make in a mixed queue', async () => {
    const store = await open();
    await store.setConnectionLimits({ small: 3, tiny: 1 });
    await store.enqueue([
      ...tasks('small', 10, { connections: ['small'], priority: 2 }),
      ...tasks('tiny', 4, { connections: ['tiny'], agentLabels: { region: 'eu' } }),
      ...tasks('both', 2, { connections: ['small', 'tiny'], priority: 5 }),
      ...tasks('plain', 6, { agentLabels: { region: 'eu' } }),
      ...tasks('later', 6, { notBefore: new Date(Date.now() + 3_600_000) }),
      ...tasks('us', 6, { agentLabels: { region: 'us' } }),
    ]);
    const euClass = { labels: { region: 'eu' } };
    const counted = await claimable(store, euClass);
    const claimed = await claimAll(store, euClass);
    expect(claimed).toHaveLength(counted);
    // `both0` takes one slot of `small` and the only one of `tiny`: 2 more small, no tiny, 6 plain.
    expect(counted).toBe(1 + 2 + 6);
    expect(await claimable(store, euClass)).toBe(0);
  });

  it('inlines values safely: quotes and backslashes in connection names, no SQL injection', async () => {
    const store = await open();
    const odd = `it's a \\ "name"; DROP TABLE x; --`;
    await store.enqueue([...tasks('odd', 2, { connections: [odd] }), ...tasks('other', 1, { connections: ['b'] })]);
    expect(await claimable(store, { connections: [odd] })).toBe(2);
    expect(await claimable(store, { connections: ['b'] })).toBe(1);
    const schemaWithQuote = `${store.schema}"x`;
    expect(claimableTasksQuery({ schema: schemaWithQuote })).toContain(`"${store.schema}""x"."tasks"`);
  });

  it('keeps a task whose window zone the database does not know out of the count, without failing', async () => {
    const store = await open();
    await store.enqueue([...tasks('ok', 1), ...tasks('odd', 1, { window: { start: '00:00', end: '24:00' } })]);
    expect(await claimable(store)).toBe(2);
    await sql(
      `UPDATE "${store.schema}"."tasks" SET "window" = '{"start":"00:00","end":"24:00","timezone":"Mars/Olympus"}' WHERE "id" = 'odd0'`,
    );
    expect(await claimable(store)).toBe(1);
  });

  it('refuses labels and options it cannot inline faithfully, naming them', () => {
    expect(() => claimableTasksQuery({ labels: { region: "eu'; --" } })).toThrow(/value of label "region"/);
    expect(() => claimableTasksQuery({ schema: '' })).toThrow(/schema must be a name/);
    expect(() => claimableTasksQuery({ connections: [''] })).toThrow(/connections must be a list/);
    expect(() => claimableTasksQuery({ connections: ['a\0b'] })).toThrow(/NUL/);
  });
});

/**
 * The TaskStore conformance suite. Every store runs it (memory, journal, PostgreSQL …);
 * a store's test file is a few lines:
 *
 * ```ts
 * testTaskStore({ name: 'memory', create: async () => new MemoryTaskStore() });
 * ```
 *
 * Time is driven through the `now` option of each operation, so lease expiry, retries,
 * `notBefore` and windows are tested without sleeping. Real-time operations (the
 * concurrent-claimers test) use long leases so wall-clock time never expires them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Json } from '../connector/connector.ts';
import type { TaskInput, TaskStore, TaskStoreEvent } from '../queue/task-store.ts';
import { agentClassCases } from './agent-class-cases.ts';
import { chunkCases } from './chunk-cases.ts';

export interface TaskStoreSuiteOptions {
  /** Shown in the describe block. */
  name: string;
  /** A fresh, empty store; called once per test. */
  create: () => Promise<TaskStore>;
  /** Runs after the store is closed (remove its directory, drop its schema …). */
  cleanup?: (store: TaskStore) => Promise<void>;
}

const T0 = new Date('2030-01-01T00:00:00.000Z');
const LONG_LEASE = 30 * 24 * 3_600_000; // never expires within a test, in real or simulated time

function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

function task(id: string, extra: Partial<TaskInput> = {}): TaskInput {
  return { id, definition: { id, source: 'a', target: 'b' }, ...extra };
}

export function testTaskStore(options: TaskStoreSuiteOptions): void {
  describe(`TaskStore conformance: ${options.name}`, () => {
    let store: TaskStore;

    beforeEach(async () => {
      store = await options.create();
    });

    afterEach(async () => {
      await store.close();
      await options.cleanup?.(store);
    });

    async function claimIds(agentId: string, now: Date, count: number): Promise<Array<string | null>> {
      const ids: Array<string | null> = [];
      for (let index = 0; index < count; index += 1) {
        const claim = await store.claim(agentId, { leaseMs: LONG_LEASE, now });
        ids.push(claim?.task.id ?? null);
      }
      return ids;
    }

    agentClassCases(() => store);
    chunkCases(() => store);

    it('declares contract v1', () => {
      expect(store.specificationVersion).toBe('v1');
      expect(typeof store.name).toBe('string');
    });

    describe('enqueue', () => {
      it('creates pending tasks with defaults', async () => {
        const results = await store.enqueue(
          [task('a', { labels: { team: 'x' }, connections: ['wh', 'lake'], entity: 'resource:default/a' })],
          { now: T0 },
        );
        expect(results).toEqual([{ id: 'a', outcome: 'created', state: 'pending' }]);
        const record = await store.get('a');
        expect(record).toMatchObject({
          id: 'a',
          definition: { id: 'a', source: 'a', target: 'b' },
          priority: 0,
          state: 'pending',
          attempts: 0,
          maxAttempts: 3,
          history: [],
          labels: { team: 'x' },
          entity: 'resource:default/a',
          runAt: T0.toISOString(),
          enqueuedAt: T0.toISOString(),
        });
        expect([...(record?.connections ?? [])].sort()).toEqual(['lake', 'wh']);
        expect(record?.definitionHash).toMatch(/\S/);
        expect(record?.lease).toBeUndefined();
        expect(await store.get('missing')).toBeUndefined();
      });

      it('is idempotent by id and reruns only a changed definition', async () => {
        await store.enqueue([task('a'), task('b')], { now: T0 });
        expect(await store.enqueue([task('a')], { now: T0 })).toEqual([
          { id: 'a', outcome: 'unchanged', state: 'pending' },
        ]);

        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        expect(claim?.task.id).toBe('a');
        await store.complete('a', claim!.token, { rows: 10 }, { now: at(1000) });
        const again = await store.enqueue([task('a'), task('b')], { now: at(2000) });
        expect(again).toEqual([
          { id: 'a', outcome: 'skipped-succeeded', state: 'succeeded' },
          { id: 'b', outcome: 'unchanged', state: 'pending' },
        ]);
        expect((await store.get('a'))?.report).toEqual({ rows: 10 });

        const changed = await store.enqueue([{ id: 'a', definition: { id: 'a', source: 'a', target: 'c' } }], {
          now: at(3000),
        });
        expect(changed).toEqual([{ id: 'a', outcome: 'updated', state: 'pending' }]);
        const record = await store.get('a');
        expect(record).toMatchObject({ state: 'pending', attempts: 0, definition: { target: 'c' } });
        expect(record?.report).toBeUndefined();
        expect(record?.history).toHaveLength(1);
      });

      it('uses an explicit definitionHash instead of hashing the definition', async () => {
        await store.enqueue([{ id: 'a', definition: { v: 1 }, definitionHash: 'h1' }], { now: T0 });
        expect((await store.get('a'))?.definitionHash).toBe('h1');
        const same = await store.enqueue([{ id: 'a', definition: { v: 2 }, definitionHash: 'h1' }], { now: T0 });
        expect(same[0]?.outcome).toBe('unchanged');
        const other = await store.enqueue([{ id: 'a', definition: { v: 2 }, definitionHash: 'h2' }], { now: T0 });
        expect(other[0]?.outcome).toBe('updated');
        expect((await store.get('a'))?.definition).toEqual({ v: 2 });
      });

      it('hashes definitions independently of key order', async () => {
        await store.enqueue([{ id: 'a', definition: { x: 1, y: { p: 1, q: 2 } } }], { now: T0 });
        const again = await store.enqueue([{ id: 'a', definition: { y: { q: 2, p: 1 }, x: 1 } }], { now: T0 });
        expect(again[0]?.outcome).toBe('unchanged');
      });

      it('supersedes a running task whose definition changed, revoking its lease', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        await store.enqueue([{ id: 'a', definition: { changed: true } }], { now: at(10) });
        const record = await store.get('a');
        expect(record?.state).toBe('pending');
        expect(record?.history[0]?.outcome).toBe('superseded');
        await expect(store.heartbeat('a', claim!.token, { leaseMs: LONG_LEASE, now: at(20) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
          retryable: true,
        });
        await expect(store.complete('a', claim!.token, {}, { now: at(20) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
      });

      it('resumes dead and cancelled tasks by default, keeps them with onConflict "keep"', async () => {
        await store.enqueue([task('dead', { maxAttempts: 1 }), task('cancelled')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        expect(claim?.task.id).toBe('dead');
        await store.fail('dead', claim!.token, { code: 'TRANSIENT', message: 'boom', retryable: true }, { now: T0 });
        await store.cancel('cancelled', { now: T0 });

        const kept = await store.enqueue([task('dead', { maxAttempts: 1 }), task('cancelled')], {
          onConflict: 'keep',
          now: at(1),
        });
        expect(kept.map((result) => [result.outcome, result.state])).toEqual([
          ['unchanged', 'dead'],
          ['unchanged', 'cancelled'],
        ]);
        const resumed = await store.enqueue([task('dead', { maxAttempts: 1 }), task('cancelled')], { now: at(2) });
        expect(resumed.map((result) => [result.outcome, result.state])).toEqual([
          ['requeued', 'pending'],
          ['requeued', 'pending'],
        ]);
        expect((await store.get('dead'))?.attempts).toBe(0);
      });

      it('reruns a succeeded task with onConflict "replace"', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        await store.complete('a', claim!.token, null, { now: T0 });
        const replaced = await store.enqueue([task('a')], { onConflict: 'replace', now: at(1) });
        expect(replaced).toEqual([{ id: 'a', outcome: 'requeued', state: 'pending' }]);
      });

      it('rejects duplicate ids in one call and stores nothing', async () => {
        await expect(store.enqueue([task('a'), task('b'), task('a')], { now: T0 })).rejects.toMatchObject({
          code: 'CONFIG_INVALID',
        });
        expect(await store.list()).toEqual([]);
      });

      it('rejects invalid inputs with a ConfigError', async () => {
        await expect(store.enqueue([task('a', { maxAttempts: 0 })])).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        await expect(store.enqueue([task('a', { notBefore: 'not a date' })])).rejects.toMatchObject({
          code: 'CONFIG_INVALID',
        });
        await expect(
          store.enqueue([task('a', { window: { start: '25:00', end: '06:00', timezone: 'UTC' } })]),
        ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        await expect(
          store.enqueue([task('a', { window: { start: '01:00', end: '06:00', timezone: 'Mars/Olympus' } })]),
        ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      });
    });

    describe('claim', () => {
      it('orders by priority, then runAt, then enqueue time', async () => {
        await store.enqueue([task('low-first')], { now: T0 });
        await store.enqueue([task('high-late', { priority: 5 })], { now: at(10) });
        await store.enqueue([task('high-early', { priority: 5, notBefore: at(-60_000) })], { now: at(20) });
        await store.enqueue([task('low-second')], { now: at(30) });
        await store.enqueue([task('batch-1'), task('batch-2'), task('batch-3')], { now: at(30) });
        expect(await claimIds('agent', at(100), 8)).toEqual([
          'high-early',
          'high-late',
          'low-first',
          'low-second',
          'batch-1',
          'batch-2',
          'batch-3',
          null,
        ]);
      });

      it('returns a lease and records the attempt', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: 30_000, now: at(5) });
        expect(claim?.token).toMatch(/\S/);
        expect(claim?.task).toMatchObject({
          id: 'a',
          state: 'running',
          attempts: 1,
          lease: { owner: 'agent-1', token: claim?.token, expiresAt: at(30_005).toISOString() },
          history: [{ attempt: 1, agentId: 'agent-1', startedAt: at(5).toISOString() }],
        });
        expect((await store.get('a'))?.state).toBe('running');
        expect(await store.claim('agent-2', { leaseMs: 30_000, now: at(6) })).toBeNull();
      });

      it('respects notBefore', async () => {
        await store.enqueue(
          [task('later', { notBefore: at(3_600_000) }), task('later-iso', { notBefore: '2030-01-01T02:00:00Z' })],
          {
            now: T0,
          },
        );
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: at(3_599_999) })).toBeNull();
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: at(3_600_000) }))?.task.id).toBe('later');
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: at(3_600_001) })).toBeNull();
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: at(7_200_000) }))?.task.id).toBe('later-iso');
      });

      it('respects windows, across midnight and in other time zones, without blocking other tasks', async () => {
        await store.enqueue(
          [
            task('night', { priority: 9, window: { start: '22:00', end: '06:00', timezone: 'UTC' } }),
            // Stockholm is UTC+1 in January: 09:00–17:00 local is 08:00–16:00 UTC.
            task('office', { priority: 5, window: { start: '09:00', end: '17:00', timezone: 'Europe/Stockholm' } }),
            task('anytime'),
          ],
          { now: T0 },
        );
        const noon = new Date('2030-01-01T12:00:00Z');
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: noon }))?.task.id).toBe('office');
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: noon }))?.task.id).toBe('anytime');
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: noon })).toBeNull();
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: new Date('2030-01-01T21:59:00Z') })).toBeNull();
        expect(
          (await store.claim('agent', { leaseMs: LONG_LEASE, now: new Date('2030-01-01T23:30:00Z') }))?.task.id,
        ).toBe('night');
      });

      it('reopens a window on the next day', async () => {
        await store.enqueue([task('w', { window: { start: '09:00', end: '17:00', timezone: 'Europe/Stockholm' } })], {
          now: T0,
        });
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: new Date('2030-01-01T16:00:00Z') })).toBeNull();
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: new Date('2030-01-02T07:59:00Z') })).toBeNull();
        expect(
          (await store.claim('agent', { leaseMs: LONG_LEASE, now: new Date('2030-01-02T08:00:00Z') }))?.task.id,
        ).toBe('w');
      });

      it('holds each connection maxConcurrency across all agents', async () => {
        await store.setConnectionLimits({ wh: 2, lake: 1 });
        expect(await store.getConnectionLimits()).toEqual({ wh: 2, lake: 1 });
        await store.enqueue(
          [
            task('wh-1', { connections: ['wh'], priority: 9 }),
            task('wh-2', { connections: ['wh'], priority: 9 }),
            task('wh-3', { connections: ['wh'], priority: 9 }),
            task('both', { connections: ['wh', 'lake'], priority: 8 }),
            task('free', { connections: ['other'] }),
          ],
          { now: T0 },
        );
        const a1 = await store.claim('agent-a', { leaseMs: LONG_LEASE, now: at(1) });
        const b1 = await store.claim('agent-b', { leaseMs: LONG_LEASE, now: at(1) });
        expect([a1?.task.id, b1?.task.id]).toEqual(['wh-1', 'wh-2']);
        expect((await store.claim('agent-a', { leaseMs: LONG_LEASE, now: at(2) }))?.task.id).toBe('free');
        expect(await store.claim('agent-b', { leaseMs: LONG_LEASE, now: at(2) })).toBeNull();

        await store.complete('wh-1', a1!.token, {}, { now: at(3) });
        expect((await store.claim('agent-b', { leaseMs: LONG_LEASE, now: at(4) }))?.task.id).toBe('wh-3');
        await store.fail('wh-2', b1!.token, { code: 'AUTH_FAILED', message: 'no', retryable: false }, { now: at(5) });
        expect((await store.claim('agent-a', { leaseMs: LONG_LEASE, now: at(6) }))?.task.id).toBe('both');

        await store.setConnectionLimits({ wh: null });
        expect(await store.getConnectionLimits()).toEqual({ lake: 1 });
      });

      it('never exceeds a limit with concurrent claimers', async () => {
        await store.setConnectionLimits({ wh: 2 });
        await store.enqueue(
          Array.from({ length: 20 }, (_, index) => task(`t${index}`, { connections: ['wh'] })),
          { now: T0 },
        );
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, index) => store.claim(`agent-${index}`, { leaseMs: LONG_LEASE, now: at(1) })),
        );
        expect(claims.filter((claim) => claim !== null)).toHaveLength(2);
        expect((await store.counts()).running).toBe(2);
      });

      it('skips tasks on excluded connections', async () => {
        await store.enqueue([task('a', { connections: ['x'], priority: 1 }), task('b', { connections: ['y'] })], {
          now: T0,
        });
        const claim = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0, excludeConnections: ['x'] });
        expect(claim?.task.id).toBe('b');
      });

      it('never hands one task to two of many concurrent claimers', async () => {
        await store.enqueue(Array.from({ length: 200 }, (_, index) => task(`t${index}`)));
        const claimedBy = new Map<string, string[]>();
        await Promise.all(
          Array.from({ length: 8 }, async (_, index) => {
            const agentId = `agent-${index}`;
            for (;;) {
              const claim = await store.claim(agentId, { leaseMs: LONG_LEASE });
              if (claim === null) return;
              claimedBy.set(claim.task.id, [...(claimedBy.get(claim.task.id) ?? []), agentId]);
              await store.complete(claim.task.id, claim.token, { by: agentId });
            }
          }),
        );
        expect(claimedBy.size).toBe(200);
        expect([...claimedBy.values()].every((agents) => agents.length === 1)).toBe(true);
        expect(await store.counts()).toMatchObject({ succeeded: 200, pending: 0, running: 0 });
      });
    });

    describe('leases', () => {
      it('makes a task whose lease expired claimable again, counting the attempt', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const first = await store.claim('agent-1', { leaseMs: 200, now: T0 });
        expect(await store.claim('agent-2', { leaseMs: 200, now: at(199) })).toBeNull();
        const second = await store.claim('agent-2', { leaseMs: 200, now: at(250) });
        expect(second?.task.id).toBe('a');
        expect(second?.token).not.toBe(first?.token);
        expect(second?.task.attempts).toBe(2);
        expect(second?.task.lastError?.code).toBe('LEASE_LOST');
        expect(second?.task.history.map((entry) => [entry.agentId, entry.outcome])).toEqual([
          ['agent-1', 'lease-expired'],
          ['agent-2', undefined],
        ]);
        await expect(store.heartbeat('a', first!.token, { leaseMs: 200, now: at(260) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
        await expect(store.complete('a', first!.token, {}, { now: at(260) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
        await store.complete('a', second!.token, { ok: true }, { now: at(300) });
        expect((await store.get('a'))?.state).toBe('succeeded');
      });

      it('dead-letters a task whose last attempt expired', async () => {
        await store.enqueue([task('a', { maxAttempts: 1 })], { now: T0 });
        await store.claim('agent-1', { leaseMs: 200, now: T0 });
        expect(await store.claim('agent-2', { leaseMs: 200, now: at(1000) })).toBeNull();
        expect(await store.get('a')).toMatchObject({ state: 'dead', lastError: { code: 'LEASE_LOST' } });
      });

      it('extends the lease and stores progress on heartbeat', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: 200, now: T0 });
        const beat = await store.heartbeat('a', claim!.token, { leaseMs: 200, now: at(150), progress: { rows: 42 } });
        expect(beat.expiresAt).toBe(at(350).toISOString());
        expect(await store.claim('agent-2', { leaseMs: 200, now: at(300) })).toBeNull();
        const record = await store.get('a');
        expect(record).toMatchObject({
          state: 'running',
          progress: { rows: 42 },
          lease: { expiresAt: at(350).toISOString() },
        });
        await store.heartbeat('a', claim!.token, { leaseMs: 200, now: at(300) });
        expect((await store.get('a'))?.progress).toEqual({ rows: 42 });
      });

      it('fences every mutation of a stale or expired lease', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: 200, now: T0 });
        const wrong = 'not-the-token';
        const error = { code: 'TRANSIENT', message: 'x', retryable: true };
        for (const attempt of [
          () => store.heartbeat('a', wrong, { leaseMs: 200, now: at(10) }),
          () => store.complete('a', wrong, {}, { now: at(10) }),
          () => store.fail('a', wrong, error, { now: at(10) }),
          () => store.release('a', wrong, { now: at(10) }),
          () => store.setSnapshotRef('a', wrong, { snapshot: 1 }, { now: at(10) }),
          () => store.heartbeat('missing', wrong, { leaseMs: 200, now: at(10) }),
        ]) {
          await expect(attempt()).rejects.toMatchObject({ code: 'LEASE_LOST', retryable: true });
        }
        expect((await store.get('a'))?.state).toBe('running');
        // The holder itself is fenced once its lease expired, even if nobody claimed the task yet.
        await expect(store.complete('a', claim!.token, {}, { now: at(201) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
        expect((await store.get('a'))?.state).toBe('retrying');
      });

      it('gives the attempt back on release', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        await store.release('a', claim!.token, { now: at(1) });
        const record = await store.get('a');
        expect(record).toMatchObject({ state: 'pending', attempts: 0 });
        expect(record?.lease).toBeUndefined();
        expect(record?.history[0]?.outcome).toBe('released');
        const again = await store.claim('agent-2', { leaseMs: LONG_LEASE, now: at(2) });
        expect(again?.task).toMatchObject({ id: 'a', attempts: 1 });
      });
    });

    describe('results', () => {
      it('stores the report, snapshot ref and history of a success', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        await store.setSnapshotRef('a', claim!.token, { connector: 'file', takenAt: T0.toISOString() }, { now: at(1) });
        await store.complete('a', claim!.token, { rows: 7, checks: [{ name: 'count', ok: true }] }, { now: at(2) });
        const record = await store.get('a');
        expect(record).toMatchObject({
          state: 'succeeded',
          report: { rows: 7, checks: [{ name: 'count', ok: true }] },
          snapshotRef: { connector: 'file' },
          history: [{ attempt: 1, agentId: 'agent-1', outcome: 'succeeded', endedAt: at(2).toISOString() }],
        });
        expect(record?.lease).toBeUndefined();
        await expect(store.complete('a', claim!.token, {}, { now: at(3) })).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
      });

      it('retries retryable failures at retryAt and dead-letters when attempts run out', async () => {
        await store.enqueue([task('a', { maxAttempts: 2 })], { now: T0 });
        const error = { code: 'TRANSIENT', message: 'connection reset', retryable: true };
        const first = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        expect(await store.fail('a', first!.token, error, { retryAt: at(60_000), now: at(1) })).toBe('retrying');
        expect(await store.get('a')).toMatchObject({
          state: 'retrying',
          runAt: at(60_000).toISOString(),
          lastError: error,
        });
        expect(await store.claim('agent-1', { leaseMs: LONG_LEASE, now: at(59_999) })).toBeNull();
        const second = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: at(60_000) });
        expect(second?.task.attempts).toBe(2);
        expect(await store.fail('a', second!.token, error, { now: at(60_001) })).toBe('dead');
        const record = await store.get('a');
        expect(record).toMatchObject({ state: 'dead', attempts: 2, lastError: error });
        expect(record?.history.map((entry) => entry.outcome)).toEqual(['failed', 'failed']);
        expect(await store.claim('agent-1', { leaseMs: LONG_LEASE, now: at(10_000_000) })).toBeNull();
      });

      it('dead-letters a non-retryable failure at once', async () => {
        await store.enqueue([task('a', { maxAttempts: 5 })], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        const error = { code: 'AUTH_FAILED', message: 'password rejected for user "app"', retryable: false };
        expect(await store.fail('a', claim!.token, error, { now: at(1) })).toBe('dead');
        expect(await store.get('a')).toMatchObject({ state: 'dead', attempts: 1, lastError: error });
      });

      it('retries at once when no retryAt is given', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent-1', { leaseMs: LONG_LEASE, now: T0 });
        await store.fail('a', claim!.token, { code: 'TRANSIENT', message: 'x', retryable: true }, { now: at(5) });
        expect((await store.claim('agent-1', { leaseMs: LONG_LEASE, now: at(5) }))?.task.attempts).toBe(2);
      });
    });

    describe('requeue and cancel', () => {
      it('requeues a dead task, resetting attempts unless told not to', async () => {
        await store.enqueue([task('a', { maxAttempts: 1 }), task('b', { maxAttempts: 1 })], { now: T0 });
        for (const id of ['a', 'b']) {
          const claim = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
          expect(claim?.task.id).toBe(id);
          await store.fail(id, claim!.token, { code: 'TRANSIENT', message: 'x', retryable: true }, { now: T0 });
        }
        expect(await store.requeue('a', { now: at(10) })).toMatchObject({ state: 'pending', attempts: 0 });
        expect(await store.requeue('b', { resetAttempts: false, now: at(10) })).toMatchObject({
          state: 'pending',
          attempts: 1,
        });
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: at(10) }))?.task.id).toBe('a');
      });

      it('requeues a succeeded task to force a re-run', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        await store.complete('a', claim!.token, { rows: 1 }, { now: T0 });
        await store.requeue('a', { now: at(1) });
        expect((await store.claim('agent', { leaseMs: LONG_LEASE, now: at(1) }))?.task.id).toBe('a');
      });

      it('refuses to requeue a running or unknown task', async () => {
        await store.enqueue([task('a')], { now: T0 });
        await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        await expect(store.requeue('a')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        await expect(store.requeue('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(store.cancel('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });

      it('cancels pending tasks and revokes the lease of a running one', async () => {
        await store.enqueue([task('running', { priority: 1 }), task('pending')], { now: T0 });
        const claim = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        expect(claim?.task.id).toBe('running');
        expect((await store.cancel('pending', { now: at(1) })).state).toBe('cancelled');
        const cancelled = await store.cancel('running', { now: at(2) });
        expect(cancelled.state).toBe('cancelled');
        expect(cancelled.lease).toBeUndefined();
        expect(cancelled.history[0]?.outcome).toBe('cancelled');
        await expect(
          store.heartbeat('running', claim!.token, { leaseMs: LONG_LEASE, now: at(3) }),
        ).rejects.toMatchObject({
          code: 'LEASE_LOST',
        });
        expect(await store.claim('agent', { leaseMs: LONG_LEASE, now: at(4) })).toBeNull();
      });

      it('leaves ended tasks alone on cancel', async () => {
        await store.enqueue([task('a')], { now: T0 });
        const claim = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        await store.complete('a', claim!.token, null, { now: T0 });
        expect((await store.cancel('a')).state).toBe('succeeded');
      });
    });

    describe('reads', () => {
      it('counts every state', async () => {
        await store.enqueue(
          [
            task('run', { priority: 3 }),
            task('ok', { priority: 2 }),
            task('dead', { priority: 1 }),
            task('wait'),
            task('stop'),
          ],
          { now: T0 },
        );
        const run = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        const ok = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        const dead = await store.claim('agent', { leaseMs: LONG_LEASE, now: T0 });
        expect([run?.task.id, ok?.task.id, dead?.task.id]).toEqual(['run', 'ok', 'dead']);
        await store.complete('ok', ok!.token, null, { now: T0 });
        await store.fail('dead', dead!.token, { code: 'NOT_FOUND', message: 'x', retryable: false }, { now: T0 });
        await store.cancel('stop', { now: T0 });
        expect(await store.counts()).toEqual({
          pending: 1,
          running: 1,
          succeeded: 1,
          retrying: 0,
          dead: 1,
          cancelled: 1,
        });
      });

      it('lists by state, id and limit, in enqueue order', async () => {
        await store.enqueue([task('c'), task('a'), task('b')], { now: T0 });
        await store.enqueue([task('d')], { now: at(1) });
        await store.cancel('a', { now: at(2) });
        expect((await store.list()).map((record) => record.id)).toEqual(['c', 'a', 'b', 'd']);
        expect((await store.list({ states: ['pending'] })).map((record) => record.id)).toEqual(['c', 'b', 'd']);
        expect((await store.list({ states: ['cancelled', 'succeeded'] })).map((record) => record.id)).toEqual(['a']);
        expect((await store.list({ ids: ['d', 'a', 'zz'] })).map((record) => record.id)).toEqual(['a', 'd']);
        expect((await store.list({ states: ['pending'], limit: 2 })).map((record) => record.id)).toEqual(['c', 'b']);
      });

      it('lists by catalog entity', async () => {
        await store.enqueue(
          [
            task('o1', { entity: 'resource:default/orders' }),
            task('p1', { entity: 'resource:default/payments' }),
            task('x'),
            task('o2', { entity: 'resource:default/orders' }),
          ],
          { now: T0 },
        );
        await store.cancel('o2', { now: at(1) });
        const ids = async (filter: Parameters<TaskStore['list']>[0]) => (await store.list(filter)).map((r) => r.id);
        expect(await ids({ entities: ['resource:default/orders'] })).toEqual(['o1', 'o2']);
        expect(await ids({ entities: ['resource:default/orders', 'resource:default/payments'] })).toEqual([
          'o1',
          'p1',
          'o2',
        ]);
        expect(await ids({ entities: ['resource:default/orders'], states: ['pending'] })).toEqual(['o1']);
        expect(await ids({ entities: [] })).toEqual([]);
        expect(await ids({ entities: ['resource:default/nothing'] })).toEqual([]);
      });

      it('returns copies that do not alias the store', async () => {
        await store.enqueue([task('a', { labels: { k: 'v' } })], { now: T0 });
        const record = await store.get('a');
        record!.labels.k = 'changed';
        (record!.definition as { [key: string]: Json }).source = 'changed';
        expect(await store.get('a')).toMatchObject({ labels: { k: 'v' }, definition: { source: 'a' } });
      });
    });

    it('emits events for every transition', async () => {
      const seen: TaskStoreEvent[] = [];
      const unsubscribe = store.events.onAny((event) => seen.push(event));
      const claimed: string[] = [];
      const unsubscribeClaimed = store.events.on('task-claimed', (event) => claimed.push(event.agentId));

      await store.enqueue(
        [task('ok', { priority: 4 }), task('retry', { priority: 3 }), task('dead', { priority: 2 })],
        {
          now: T0,
        },
      );
      await store.enqueue([task('released', { priority: 1 }), task('cancel'), task('expire', { priority: -1 })], {
        now: T0,
      });
      const ok = await store.claim('a1', { leaseMs: LONG_LEASE, now: T0 });
      await store.complete('ok', ok!.token, null, { now: T0 });
      const retry = await store.claim('a2', { leaseMs: LONG_LEASE, now: T0 });
      await store.fail(
        'retry',
        retry!.token,
        { code: 'TRANSIENT', message: 'x', retryable: true },
        { retryAt: at(60_000), now: T0 },
      );
      const dead = await store.claim('a1', { leaseMs: LONG_LEASE, now: T0 });
      await store.fail('dead', dead!.token, { code: 'NOT_FOUND', message: 'x', retryable: false }, { now: T0 });
      const released = await store.claim('a1', { leaseMs: LONG_LEASE, now: T0 });
      expect(released?.task.id).toBe('released');
      await store.release('released', released!.token, { now: T0 });
      await store.cancel('cancel', { now: T0 });
      await store.cancel('released', { now: T0 });
      const expiring = await store.claim('a3', { leaseMs: 100, now: T0 });
      expect(expiring?.task.id).toBe('expire');
      unsubscribeClaimed();
      await store.claim('a4', { leaseMs: LONG_LEASE, now: at(1000) });
      unsubscribe();
      await store.enqueue([task('after-unsubscribe')], { now: T0 });

      const types = seen.map((event) => `${event.type}:${event.taskId}`);
      expect(types).toEqual([
        'task-enqueued:ok',
        'task-enqueued:retry',
        'task-enqueued:dead',
        'task-enqueued:released',
        'task-enqueued:cancel',
        'task-enqueued:expire',
        'task-claimed:ok',
        'task-succeeded:ok',
        'task-claimed:retry',
        'task-retrying:retry',
        'task-claimed:dead',
        'task-dead:dead',
        'task-claimed:released',
        'task-released:released',
        'task-cancelled:cancel',
        'task-cancelled:released',
        'task-claimed:expire',
        'lease-expired:expire',
        'task-retrying:expire',
        'task-claimed:expire',
      ]);
      expect(claimed).toEqual(['a1', 'a2', 'a1', 'a1', 'a3']);
      expect(seen.find((event) => event.type === 'task-dead')).toMatchObject({ error: { code: 'NOT_FOUND' } });
    });

    it('grants a role to one holder at a time', async () => {
      expect(await store.acquireRole('scheduler', 'agent-a', 1000, { now: T0 })).toBe(true);
      expect(await store.acquireRole('scheduler', 'agent-b', 1000, { now: at(10) })).toBe(false);
      expect(await store.acquireRole('other-role', 'agent-b', 1000, { now: at(10) })).toBe(true);
      expect(await store.acquireRole('scheduler', 'agent-a', 1000, { now: at(900) })).toBe(true);
      expect(await store.acquireRole('scheduler', 'agent-b', 1000, { now: at(1500) })).toBe(false);
      expect(await store.acquireRole('scheduler', 'agent-b', 1000, { now: at(1900) })).toBe(true);
      await store.releaseRole('scheduler', 'agent-a'); // not the holder: no effect
      expect(await store.acquireRole('scheduler', 'agent-a', 1000, { now: at(2000) })).toBe(false);
      await store.releaseRole('scheduler', 'agent-b');
      expect(await store.acquireRole('scheduler', 'agent-a', 1000, { now: at(2000) })).toBe(true);
    });

    it('grants a contended role to exactly one of many concurrent callers', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) => store.acquireRole('scheduler', `agent-${index}`, 60_000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('refuses use after close', async () => {
      await store.close();
      await expect(store.enqueue([task('a')])).rejects.toMatchObject({ code: 'CONNECTOR_MISUSE' });
      await expect(store.get('a')).rejects.toMatchObject({ code: 'CONNECTOR_MISUSE' });
    });
  });
}

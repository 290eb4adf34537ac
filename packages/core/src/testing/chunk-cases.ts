/**
 * Chunked-task cases of the TaskStore conformance suite (`testTaskStore` runs them for every
 * store that has `split`): chunk records and their inheritance, the waiting task and which
 * chunk end makes it claimable again (also when the last two chunks succeed at the same
 * moment), checkpoints kept across re-splits, new plans, and the cascades from a chunked task
 * to its chunks.
 */
import { describe, expect, it } from 'vitest';
import { chunkTaskId } from '../queue/chunk-split.ts';
import { CHUNKS_WAITING_RUN_AT, type TaskInput, type TaskStore, type TaskStoreEvent } from '../queue/task-store.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const LONG_LEASE = 30 * 24 * 3_600_000;

function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

function task(id: string, extra: Partial<TaskInput> = {}): TaskInput {
  return { id, definition: { id, source: 'a', target: 'b' }, ...extra };
}

const plan = (id: string, count: number) => ({
  planId: id,
  plan: { pin: { at: id } },
  chunks: Array.from({ length: count }, (_, index) => ({ range: index })),
});

/** Registers the cases; `store()` returns the store of the running test. */
export function chunkCases(store: () => TaskStore): void {
  /** Claims the chunked task `id` and splits it. */
  async function split(id: string, input: ReturnType<typeof plan>, now: Date, rerun?: number[]) {
    const claim = await store().claim('planner', { leaseMs: LONG_LEASE, now });
    expect(claim?.task.id).toBe(id);
    const split = store().split as NonNullable<TaskStore['split']>;
    return split.call(store(), id, claim!.token, { ...input, ...(rerun ? { rerun } : {}) }, { now });
  }

  /** Claims everything claimable at `now`, in claim order. */
  async function claimAll(now: Date) {
    const claims = [];
    for (;;) {
      const claim = await store().claim('worker', { leaseMs: LONG_LEASE, now });
      if (claim === null) return claims;
      claims.push(claim);
    }
  }

  describe('chunked tasks', () => {
    it('splits into chunk records that inherit the task and lets the task wait for them', async () => {
      if (!store().split) return;
      await store().enqueue(
        [
          task('big', {
            priority: 7,
            connections: ['wh'],
            maxAttempts: 4,
            labels: { team: 'x' },
            agentLabels: { region: 'eu' },
          }),
        ],
        { now: T0 },
      );
      const events: TaskStoreEvent[] = [];
      const off = store().events.onAny((event) => events.push(event));
      const result = await split('big', plan('p1', 3), at(1));
      off();
      expect(result).toEqual({ chunks: 3, waiting: 3 });
      const parent = await store().get('big');
      expect(parent).toMatchObject({
        state: 'pending',
        attempts: 0,
        runAt: CHUNKS_WAITING_RUN_AT,
        chunked: { planId: 'p1', plan: { pin: { at: 'p1' } }, chunks: 3 },
      });
      expect(parent?.lease).toBeUndefined();
      expect(parent?.history.map((entry) => entry.outcome)).toEqual(['split']);
      const chunk = await store().get(chunkTaskId('big', 1));
      expect(chunk).toMatchObject({
        id: 'big#1',
        state: 'pending',
        attempts: 0,
        priority: 7,
        connections: ['wh'],
        maxAttempts: 4,
        labels: { team: 'x' },
        agentLabels: { region: 'eu' },
        definition: { id: 'big', source: 'a', target: 'b' },
        definitionHash: parent?.definitionHash,
        chunkOf: { task: 'big', index: 1, plan: 'p1', ref: { range: 1 } },
      });
      expect(events.find((event) => event.type === 'task-split')).toMatchObject({
        taskId: 'big',
        agentId: 'planner',
        chunks: 3,
      });
      expect(events.filter((event) => event.type === 'task-enqueued').map((event) => event.taskId)).toEqual([
        'big#0',
        'big#1',
        'big#2',
      ]);
      expect((await store().list({ ids: ['big#0', 'big#2'] })).map((record) => record.id)).toEqual(['big#0', 'big#2']);
    });

    it('makes the task claimable when its last chunk succeeds, and not before', async () => {
      if (!store().split) return;
      await store().enqueue([task('big', { connections: ['wh'] })], { now: T0 });
      await split('big', plan('p1', 2), at(1));
      const claims = await claimAll(at(2));
      expect(claims.map((claim) => claim.task.id).sort()).toEqual(['big#0', 'big#1']);
      const events: TaskStoreEvent[] = [];
      const off = store().events.onAny((event) => events.push(event));
      await store().complete('big#0', claims.find((c) => c.task.id === 'big#0')!.token, { rows: 1 }, { now: at(3) });
      expect(await store().claim('agent', { leaseMs: LONG_LEASE, now: at(4) })).toBeNull();
      await store().complete('big#1', claims.find((c) => c.task.id === 'big#1')!.token, { rows: 2 }, { now: at(5) });
      off();
      expect(events.map((event) => event.type)).toContain('task-chunks-ended');
      expect((await store().get('big'))?.runAt).toBe(at(5).toISOString());
      const finaliser = await store().claim('agent', { leaseMs: LONG_LEASE, now: at(6) });
      expect(finaliser?.task).toMatchObject({ id: 'big', attempts: 1, chunked: { planId: 'p1', chunks: 2 } });
      expect((await store().get('big#1'))?.report).toEqual({ rows: 2 });
    });

    it('wakes the task once when its last two chunks succeed at the same moment', async () => {
      if (!store().split) return;
      await store().enqueue([task('big')], { now: T0 });
      await split('big', plan('p1', 4), at(1));
      const claims = await claimAll(at(2));
      await store().complete(claims[0]!.task.id, claims[0]!.token, {}, { now: at(3) });
      await store().complete(claims[1]!.task.id, claims[1]!.token, {}, { now: at(3) });
      await Promise.all(
        claims.slice(2).map((claim) => store().complete(claim.task.id, claim.token, {}, { now: at(4) })),
      );
      expect((await store().get('big'))?.runAt).toBe(at(4).toISOString());
      expect((await store().claim('agent', { leaseMs: LONG_LEASE, now: at(5) }))?.task.id).toBe('big');
    });

    it('keeps succeeded chunks across a re-split of the same plan and runs dead ones and reruns again', async () => {
      if (!store().split) return;
      await store().enqueue([task('big')], { now: T0 });
      await split('big', plan('p1', 3), at(1));
      const claims = await claimAll(at(2));
      const token = (id: string) => claims.find((claim) => claim.task.id === id)!.token;
      await store().complete('big#0', token('big#0'), { rows: 10 }, { now: at(3) });
      // A dead chunk makes the waiting task claimable at once, whatever the others do.
      await store().fail(
        'big#1',
        token('big#1'),
        { code: 'SCHEMA_MISMATCH', message: 'no', retryable: false },
        {
          now: at(4),
        },
      );
      expect((await store().get('big'))?.runAt).toBe(at(4).toISOString());
      const result = await split('big', plan('p1', 3), at(5), [0]);
      expect(result).toEqual({ chunks: 3, waiting: 3 });
      expect(await store().get('big#0')).toMatchObject({ state: 'pending', attempts: 0 });
      expect(await store().get('big#1')).toMatchObject({ state: 'pending', attempts: 0 });
      // big#2 was running all along: left alone, lease and all.
      expect(await store().get('big#2')).toMatchObject({ state: 'running', attempts: 1 });
      await store().complete('big#2', token('big#2'), {}, { now: at(6) });
      const again = await claimAll(at(7));
      expect(again.map((claim) => claim.task.id).sort()).toEqual(['big#0', 'big#1']);
      for (const claim of again) await store().complete(claim.task.id, claim.token, {}, { now: at(8) });
      // Now a re-split without reruns keeps every checkpoint and leaves the task claimable.
      expect(await split('big', plan('p1', 3), at(9))).toEqual({ chunks: 3, waiting: 0 });
      expect((await store().get('big#2'))?.attempts).toBe(1);
      expect((await store().get('big'))?.runAt).toBe(at(9).toISOString());
    });

    it('resets every chunk for a new plan and cancels chunks the new plan no longer has', async () => {
      if (!store().split) return;
      await store().enqueue([task('big')], { now: T0 });
      await split('big', plan('p1', 3), at(1));
      const [first] = await claimAll(at(2));
      await store().complete(first!.task.id, first!.token, {}, { now: at(3) });
      // The others are running under p1 when the task (woken by a requeue) re-plans.
      await store().requeue('big', { now: at(4) });
      await split('big', plan('p2', 2), at(5));
      const chunk0 = await store().get('big#0');
      expect(chunk0).toMatchObject({ state: 'pending', attempts: 0, chunkOf: { plan: 'p2' } });
      expect(chunk0?.history.length).toBeGreaterThan(0);
      expect(await store().get('big#1')).toMatchObject({ state: 'pending', chunkOf: { plan: 'p2' } });
      expect(await store().get('big#2')).toMatchObject({ state: 'cancelled', chunkOf: { plan: 'p1' } });
      expect((await store().get('big#1'))?.history.at(-1)?.outcome).toBe('superseded');
      expect((await store().get('big'))?.chunked).toMatchObject({ planId: 'p2', chunks: 2 });
    });

    it('fences split and refuses a malformed one', async () => {
      if (!store().split) return;
      const split = (store().split as NonNullable<TaskStore['split']>).bind(store());
      await store().enqueue([task('big')], { now: T0 });
      const claim = await store().claim('planner', { leaseMs: LONG_LEASE, now: T0 });
      await expect(split('big', 'stale', plan('p1', 2), { now: at(1) })).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(split('big', claim!.token, plan('Not A Plan', 2), { now: at(1) })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      await expect(split('big', claim!.token, { ...plan('p1', 2), rerun: [2] }, { now: at(1) })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      await expect(
        split('big', claim!.token, { planId: 'p1', plan: {}, chunks: [] }, { now: at(1) }),
      ).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
      expect(await store().get('big#0')).toBeUndefined();
      expect((await store().get('big'))?.state).toBe('running');
    });

    it('cascades: a cancelled or dead task cancels its unended chunks', async () => {
      if (!store().split) return;
      await store().enqueue([task('one'), task('two')], { now: T0 });
      for (const id of ['one', 'two']) await split(id, plan('p1', 2), at(1));
      const claims = await claimAll(at(2));
      expect(claims).toHaveLength(4);
      await store().cancel('one', { now: at(3) });
      expect((await store().get('one#0'))?.state).toBe('cancelled');
      expect((await store().get('one#1'))?.history.at(-1)?.outcome).toBe('cancelled');
      const done = claims.find((claim) => claim.task.id === 'one#0')!;
      await expect(store().complete('one#0', done.token, {}, { now: at(4) })).rejects.toMatchObject({
        code: 'LEASE_LOST',
      });
      // `two` wakes when a chunk dies, then dies itself: the other chunk is cancelled.
      const dead = claims.find((claim) => claim.task.id === 'two#0')!;
      await store().fail(
        'two#0',
        dead.token,
        { code: 'AUTH_FAILED', message: 'no', retryable: false },
        {
          now: at(5),
        },
      );
      const parent = await store().claim('agent', { leaseMs: LONG_LEASE, now: at(6) });
      expect(parent?.task.id).toBe('two');
      await store().fail(
        'two',
        parent!.token,
        { code: 'AUTH_FAILED', message: 'no', retryable: false },
        {
          now: at(7),
        },
      );
      expect((await store().get('two#1'))?.state).toBe('cancelled');
    });

    it('wakes the task when a chunk dies of an expired lease', async () => {
      if (!store().split) return;
      await store().enqueue([task('big', { maxAttempts: 1 })], { now: T0 });
      await split('big', plan('p1', 2), at(1));
      await store().claim('worker', { leaseMs: 100, now: at(2) });
      // The next claim takes the expired lease back (the chunk dies: no attempts left), which
      // wakes the task; the chunk due earlier is claimed first.
      const next = await store().claim('agent', { leaseMs: LONG_LEASE, now: at(200) });
      expect((await store().get('big#0'))?.state).toBe('dead');
      expect(next?.task.id).toBe('big#1');
      expect((await store().get('big'))?.runAt).toBe(at(200).toISOString());
      expect((await store().claim('agent', { leaseMs: LONG_LEASE, now: at(201) }))?.task.id).toBe('big');
    });

    it('forgets the plan of a redefined task and cancels its chunks; refuses to enqueue a chunk id', async () => {
      if (!store().split) return;
      await store().enqueue([task('big')], { now: T0 });
      await split('big', plan('p1', 2), at(1));
      const [running] = await claimAll(at(2));
      await store().enqueue([{ ...task('big'), definition: { id: 'big', source: 'changed' } }], { now: at(3) });
      const parent = await store().get('big');
      expect(parent).toMatchObject({ state: 'pending', runAt: at(3).toISOString() });
      expect(parent?.chunked).toBeUndefined();
      expect((await store().get('big#0'))?.state).toBe('cancelled');
      await expect(
        store().heartbeat(running!.task.id, running!.token, { leaseMs: 100, now: at(4) }),
      ).rejects.toMatchObject({ code: 'LEASE_LOST' });
      await expect(store().enqueue([task('big#1')], { now: at(5) })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    });

    it('counts chunks against their connections’ maxConcurrency', async () => {
      if (!store().split) return;
      await store().setConnectionLimits({ wh: 2 });
      await store().enqueue([task('big', { connections: ['wh'] })], { now: T0 });
      await split('big', plan('p1', 5), at(1));
      expect(await claimAll(at(2))).toHaveLength(2);
      expect((await store().counts()).running).toBe(2);
    });
  });
}

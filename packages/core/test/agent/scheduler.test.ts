import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { cancelTask, listDeadLetters, requeueDeadLetter } from '../../src/agent/dead-letter.ts';
import { Scheduler, scheduledRunId } from '../../src/agent/scheduler.ts';
import { HonkEvents } from '../../src/observe/events.ts';
import { MemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import { createWorld, definition, eventually, makeBatch, record, schema, taskInput } from './fixtures.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe('Scheduler', () => {
  it('names runs by task id and tick, safe in file names', () => {
    expect(scheduledRunId('orders', new Date('2026-11-25T02:00:00.000Z'))).toBe('orders@20261125T020000Z');
  });

  it('enqueues a run of a scheduled task at a cron tick', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    const def = { ...definition('nightly', 'in'), schedule: { cron: '* * * * * *', timezone: 'Europe/Stockholm' } };
    await store.enqueue([taskInput(def, { priority: 3, labels: { team: 'data' } })]);
    const events = new HonkEvents();
    const enqueued = record(events, 'schedule-enqueued');
    const scheduler = new Scheduler({ store, connectors: world.connectors, agentId: 'solo', events, roleTtlMs: 3000 });
    cleanups.push(() => scheduler.stop());
    scheduler.start();

    await eventually(() => enqueued.length > 0);

    const { runId, tick, taskId } = enqueued[0]!.payload;
    expect(taskId).toBe('nightly');
    expect(runId).toBe(scheduledRunId('nightly', new Date(tick)));
    const run = await store.get(runId);
    expect(run?.state).toBe('pending');
    expect(run?.priority).toBe(3);
    expect(run?.labels).toMatchObject({ team: 'data', 'honk.dev/scheduled-from': 'nightly' });
    const runDefinition = run?.definition as Record<string, unknown>;
    expect(runDefinition.schedule).toBeUndefined();
    expect(runDefinition.id).toBe(runId);
    // Ticks fall on whole seconds.
    expect(new Date(tick).getUTCMilliseconds()).toBe(0);
  });

  it('schedules a chunked task, never its chunk records (which carry its definition)', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    const def = { ...definition('nightly', 'in'), schedule: { cron: '* * * * * *', timezone: 'UTC' } };
    await store.enqueue([taskInput(def)]);
    const claim = await store.claim('planner', { leaseMs: 60_000 });
    await store.split('nightly', claim!.token, { planId: 'p1', plan: {}, chunks: [0, 1] });
    expect((await store.get('nightly#0'))?.definition).toMatchObject({ schedule: def.schedule });
    const events = new HonkEvents();
    const enqueued = record(events, 'schedule-enqueued');
    const scheduler = new Scheduler({ store, connectors: world.connectors, agentId: 'solo', events, roleTtlMs: 3000 });
    cleanups.push(() => scheduler.stop());
    scheduler.start();
    await eventually(() => enqueued.length > 0);
    await scheduler.stop();
    expect(new Set(enqueued.map((event) => event.payload.taskId))).toEqual(new Set(['nightly']));
  });

  it('lets only one of two schedulers hold the role, and the other takes over when it stops', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    const first = new Scheduler({ store, connectors: world.connectors, agentId: 'a', roleTtlMs: 300 });
    const second = new Scheduler({ store, connectors: world.connectors, agentId: 'b', roleTtlMs: 300 });
    cleanups.push(
      () => first.stop(),
      () => second.stop(),
    );
    first.start();
    second.start();

    await eventually(() => first.isLeader() || second.isLeader());
    for (let check = 0; check < 10; check += 1) {
      expect(Number(first.isLeader()) + Number(second.isLeader())).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [leader, follower] = first.isLeader() ? [first, second] : [second, first];
    expect(follower.isLeader()).toBe(false);

    await leader.stop();
    await eventually(() => follower.isLeader());
    expect(leader.isLeader()).toBe(false);
  });

  it('an agent with the scheduler enabled runs the scheduled runs it enqueues', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(4)]);
    const store = new MemoryTaskStore();
    const def = { ...definition('often', 'in'), schedule: { cron: '* * * * * *' } };
    await store.enqueue([taskInput(def)]);
    const agent = new Agent({ store, connectors: world.connectors, pollMs: 20, scheduler: { roleTtlMs: 3000 } });
    cleanups.push(() => agent.stop({ drain: false }));
    const succeeded = record(agent.events, 'task-succeeded');
    agent.start();

    await eventually(() => succeeded.some((event) => event.payload.taskId.startsWith('often@')));

    const runId = succeeded.find((event) => event.payload.taskId.startsWith('often@'))!.payload.taskId;
    // The run stages and publishes under its own id's definition, to the task's target.
    expect(world.storage.rows('out-often')).toBe(4);
    expect((await store.get(runId))?.state).toBe('succeeded');
  });

  it('sweeps snapshots older than keepFor through the target connector', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(5)]);
    world.storage.set('out-snap', schema, [makeBatch(2, 100)]); // an existing target to keep
    const store = new MemoryTaskStore();
    await store.enqueue([taskInput(definition('snap', 'in', { snapshot: { enabled: true, keepForMs: 60_000 } }))]);
    const agent = new Agent({ store, connectors: world.connectors, pollMs: 20 });
    cleanups.push(() => agent.stop({ drain: false }));
    await agent.runUntilIdle();
    const task = await store.get('snap');
    expect(task?.state).toBe('succeeded');
    const snapshots = () => world.storage.names().filter((name) => name.startsWith('.snapshots/'));
    expect(snapshots()).toHaveLength(1);

    const events = new HonkEvents();
    const discarded = record(events, 'snapshot-discarded');
    const scheduler = new Scheduler({ store, connectors: world.connectors, agentId: 'sweeper', events });
    // Not expired yet: kept.
    expect(await scheduler.sweepSnapshots({ force: true })).toBe(0);
    expect(snapshots()).toHaveLength(1);
    // An hour later: discarded once, and reported once.
    const later = new Date(Date.now() + 3_600_000);
    expect(await scheduler.sweepSnapshots({ force: true, now: later })).toBe(1);
    expect(await scheduler.sweepSnapshots({ force: true, now: later })).toBe(0);
    expect(snapshots()).toEqual([]);
    expect(discarded.map((event) => event.payload.taskId)).toEqual(['snap']);
    expect(world.storage.rows('out-snap')).toBe(5);
  });
});

describe('dead-letter operations', () => {
  it('lists, requeues (resetting attempts) and cancels', async () => {
    const world = createWorld();
    const store = new MemoryTaskStore();
    await store.enqueue([
      taskInput(definition('late-data', 'arrives-later')),
      taskInput(definition('unwanted', 'nothing')),
    ]);
    const agent = new Agent({ store, connectors: world.connectors, pollMs: 20 });
    cleanups.push(() => agent.stop({ drain: false }));
    await agent.runUntilIdle();

    const dead = await listDeadLetters(store);
    expect(dead.map((task) => [task.id, task.lastError?.code]).sort()).toEqual([
      ['late-data', 'NOT_FOUND'],
      ['unwanted', 'NOT_FOUND'],
    ]);

    await expect(requeueDeadLetter(store, 'no-such-task')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    world.storage.set('arrives-later', schema, [makeBatch(9)]);
    const requeued = await requeueDeadLetter(store, 'late-data', { resetAttempts: true });
    expect(requeued.state).toBe('pending');
    expect(requeued.attempts).toBe(0);
    await expect(requeueDeadLetter(store, 'late-data')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await agent.runUntilIdle();
    expect((await store.get('late-data'))?.state).toBe('succeeded');
    expect(world.storage.rows('out-late-data')).toBe(9);

    await store.enqueue([
      taskInput(definition('cancel-me', 'arrives-later'), { notBefore: new Date(Date.now() + 3_600_000) }),
    ]);
    const cancelled = await cancelTask(store, 'cancel-me');
    expect(cancelled.state).toBe('cancelled');
    expect((await listDeadLetters(store)).map((task) => task.id)).toEqual(['unwanted']);
  });
});

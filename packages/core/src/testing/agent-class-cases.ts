/**
 * Agent-class cases of the TaskStore conformance suite (`testTaskStore` runs them for every
 * store): a task is claimed only by an agent whose labels include every label the task
 * requires and whose connection list, when it has one, covers the task's connections.
 * Each case also goes through the paths a store takes besides its plain claim (a limited
 * connection, a window, a lease taken back), since those are where a filter is forgotten.
 */
import { describe, expect, it } from 'vitest';
import type { TaskInput, TaskStore } from '../queue/task-store.ts';

const T0 = new Date('2030-01-01T00:00:00.000Z');
const LONG_LEASE = 30 * 24 * 3_600_000;

function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

function task(id: string, extra: Partial<TaskInput> = {}): TaskInput {
  return { id, definition: { id }, ...extra };
}

/** Registers the cases; `store()` returns the store of the running test. */
export function agentClassCases(store: () => TaskStore): void {
  describe('agent classes', () => {
    it('stores required agent labels and gives a task only to agents whose labels include them', async () => {
      await store().enqueue(
        [
          task('any', { priority: 1 }),
          task('eu', { priority: 5, agentLabels: { region: 'eu' } }),
          task('eu-gold', { priority: 4, agentLabels: { region: 'eu', tier: 'gold' } }),
          task('us', { priority: 3, agentLabels: { region: 'us' } }),
        ],
        { now: T0 },
      );
      expect((await store().get('eu'))?.agentLabels).toEqual({ region: 'eu' });
      expect(await store().get('any')).not.toHaveProperty('agentLabels');
      const claim = (labels: Record<string, string> | undefined) =>
        store()
          .claim('agent', { leaseMs: LONG_LEASE, now: at(1), ...(labels === undefined ? {} : { labels }) })
          .then((result) => result?.task.id ?? null);
      // No labels: only tasks that require none, whatever their priority.
      expect(await claim({})).toBe('any');
      expect(await claim({ region: 'us', tier: 'gold' })).toBe('us');
      expect(await claim({ region: 'eu' })).toBe('eu');
      expect(await claim({ region: 'eu' })).toBeNull();
      // An unrestricted claimer (in-process agents of `honk run`) takes any task.
      expect(await claim(undefined)).toBe('eu-gold');
    });

    it('gives an agent with a connection list only tasks whose connections it covers', async () => {
      await store().enqueue(
        [
          task('x', { priority: 4, connections: ['x'] }),
          task('xy', { priority: 3, connections: ['x', 'y'] }),
          task('none', { priority: 2 }),
          task('y', { priority: 1, connections: ['y'] }),
        ],
        { now: T0 },
      );
      const claim = (connections: string[]) =>
        store()
          .claim('agent', { leaseMs: LONG_LEASE, now: at(1), connections })
          .then((result) => result?.task.id ?? null);
      expect(await claim(['x'])).toBe('x');
      expect(await claim(['x'])).toBe('none');
      expect(await claim(['x'])).toBeNull();
      expect(await claim(['y', 'x'])).toBe('xy');
      expect(await claim(['y'])).toBe('y');
    });

    it('keeps the class filter on limited connections, windows and leases taken back', async () => {
      await store().setConnectionLimits({ wh: 2 });
      await store().enqueue(
        [
          task('eu-wh', { priority: 9, connections: ['wh'], agentLabels: { region: 'eu' } }),
          task('eu-night', {
            priority: 8,
            agentLabels: { region: 'eu' },
            window: { start: '00:00', end: '06:00', timezone: 'UTC' },
          }),
          task('eu-lease', { priority: 7, agentLabels: { region: 'eu' } }),
          task('plain-wh', { priority: 1, connections: ['wh'] }),
        ],
        { now: T0 },
      );
      const lease = await store().claim('eu-agent', { leaseMs: 1000, now: at(1), labels: { region: 'eu' } });
      expect(lease?.task.id).toBe('eu-wh');
      const plain = await store().claim('plain-agent', { leaseMs: LONG_LEASE, now: at(2), labels: {} });
      expect(plain?.task.id).toBe('plain-wh');
      // eu-wh's lease expires: a plain agent takes it back from the store but may not run it.
      expect(await store().claim('plain-agent', { leaseMs: LONG_LEASE, now: at(5000), labels: {} })).toBeNull();
      expect((await store().get('eu-wh'))?.state).toBe('retrying');
      const eu = await store().claim('eu-agent', { leaseMs: LONG_LEASE, now: at(5001), labels: { region: 'eu' } });
      expect(eu?.task.id).toBe('eu-wh');
      expect(
        (await store().claim('eu-agent', { leaseMs: LONG_LEASE, now: at(5002), labels: { region: 'eu' } }))?.task.id,
      ).toBe('eu-night');
      expect(
        (
          await store().claim('eu-agent', {
            leaseMs: LONG_LEASE,
            now: at(5003),
            labels: { region: 'eu' },
            connections: ['wh'],
          })
        )?.task.id,
      ).toBe('eu-lease');
    });

    it('refuses agent labels no agent could declare, naming the task and the label', async () => {
      await expect(store().enqueue([task('a', { agentLabels: { region: 'eu west' } })])).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/Task "a".*label "region"/),
      });
      await expect(store().enqueue([task('b', { agentLabels: { 'bad,key': 'x' } })])).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('"bad,key"'),
      });
      expect(await store().list()).toEqual([]);
    });
  });
}

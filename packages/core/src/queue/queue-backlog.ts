/**
 * The backlog an agent class sees: how many tasks it could claim right now and how long the
 * oldest of them has been waiting. Dashboards and alerts read it (`honk_queue_claimable_tasks`,
 * `honk_queue_oldest_claimable_age_seconds`); it answers "is the fleet keeping up", which the
 * count of pending tasks alone does not (a pending task outside its window or behind a
 * saturated connection is not waiting for an agent).
 *
 * {@link measureBacklog} works with any TaskStore through `list()`: fine for the embedded
 * stores and for a PostgreSQL queue of a few thousand open tasks. A store that can answer
 * cheaper (one SQL statement) implements {@link BacklogSource.backlog} and is asked instead.
 */
import { windowAllows } from '../spec/task-window.ts';
import type { TaskRecord, TaskStore } from './task-store.ts';

/** What an agent class could claim now. */
export interface QueueBacklog {
  /** Tasks claimable now (state, runAt, window and fleet-wide connection limits respected). */
  claimable: number;
  /** When the longest-waiting claimable task became due (its `runAt`); absent when none is claimable. */
  oldestClaimableAt?: string;
}

/** Which tasks an agent class may claim. Absent fields restrict nothing. */
export interface BacklogFilter {
  /** True when an agent of the class may run this task (labels, connections). */
  claimableBy?: (task: TaskRecord) => boolean;
  now?: Date;
}

/** A store that computes its backlog itself (optional, additive to the TaskStore contract). */
export interface BacklogSource {
  backlog(filter: BacklogFilter): Promise<QueueBacklog>;
}

function hasBacklog(store: object): store is BacklogSource {
  return typeof (store as Partial<BacklogSource>).backlog === 'function';
}

/**
 * The backlog of `store` for the agents `filter` describes. A connection under a
 * `maxConcurrency` limit contributes at most its free slots, so a queue blocked behind a
 * busy connection does not look like work for more agents.
 */
export async function measureBacklog(store: TaskStore, filter: BacklogFilter = {}): Promise<QueueBacklog> {
  if (hasBacklog(store)) return store.backlog(filter);
  const now = filter.now ?? new Date();
  const [open, running, limits] = await Promise.all([
    store.list({ states: ['pending', 'retrying'] }),
    store.list({ states: ['running'] }),
    store.getConnectionLimits(),
  ]);
  const free = new Map<string, number>();
  for (const [name, limit] of Object.entries(limits)) free.set(name, limit);
  for (const task of running) {
    for (const name of task.connections) {
      const left = free.get(name);
      if (left !== undefined) free.set(name, left - 1);
    }
  }
  // Claim order, so the free slots go to the tasks an agent would take first.
  const due = open
    .filter((task) => Date.parse(task.runAt) <= now.getTime())
    .filter((task) => task.window === undefined || windowAllows(task.window, now))
    .filter((task) => filter.claimableBy === undefined || filter.claimableBy(task))
    .sort((a, b) => b.priority - a.priority || Date.parse(a.runAt) - Date.parse(b.runAt) || a.sequence - b.sequence);
  let claimable = 0;
  let oldest: number | undefined;
  for (const task of due) {
    if (task.connections.some((name) => (free.get(name) ?? 1) <= 0)) continue;
    for (const name of task.connections) {
      const left = free.get(name);
      if (left !== undefined) free.set(name, left - 1);
    }
    claimable += 1;
    const at = Date.parse(task.runAt);
    if (oldest === undefined || at < oldest) oldest = at;
  }
  return oldest === undefined ? { claimable } : { claimable, oldestClaimableAt: new Date(oldest).toISOString() };
}

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
import { type AgentClassFilter, agentClassAllows } from './agent-class.ts';
import type { TaskRecord, TaskStore } from './task-store.ts';

/** What an agent class could claim now. */
export interface QueueBacklog {
  /** Tasks claimable now (state, runAt, window and fleet-wide connection limits respected). */
  claimable: number;
  /** When the longest-waiting claimable task became due (its `runAt`); absent when none is claimable. */
  oldestClaimableAt?: string;
}

/** The agent class whose backlog is measured (its labels and connections, as in `claim`). */
export interface BacklogFilter extends AgentClassFilter {
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
  const live = (task: TaskRecord) => task.lease !== undefined && Date.parse(task.lease.expiresAt) > now.getTime();
  const free = new Map<string, number>();
  for (const [name, limit] of Object.entries(limits)) free.set(name, limit);
  for (const task of running.filter(live)) {
    for (const name of task.connections) {
      const left = free.get(name);
      if (left !== undefined) free.set(name, left - 1);
    }
  }
  // A running task whose lease expired is taken back by the next claim (when it has an
  // attempt left): it waits for an agent as much as a pending one, since its lease expired.
  const reclaimable = running
    .filter((task) => !live(task) && task.attempts < task.maxAttempts)
    .map((task) => ({ task, dueAt: Date.parse(task.lease?.expiresAt ?? task.runAt) }));
  // Claim order, so the free slots go to the tasks an agent would take first.
  const due = [...open.map((task) => ({ task, dueAt: Date.parse(task.runAt) })), ...reclaimable]
    .filter(
      ({ task, dueAt }) => dueAt <= now.getTime() && (task.window === undefined || windowAllows(task.window, now)),
    )
    .filter(({ task }) => agentClassAllows(filter, task))
    .sort((a, b) => b.task.priority - a.task.priority || a.dueAt - b.dueAt || a.task.sequence - b.task.sequence);
  let claimable = 0;
  let oldest: number | undefined;
  for (const { task, dueAt } of due) {
    if (task.connections.some((name) => (free.get(name) ?? 1) <= 0)) continue;
    for (const name of task.connections) {
      const left = free.get(name);
      if (left !== undefined) free.set(name, left - 1);
    }
    claimable += 1;
    if (oldest === undefined || dueAt < oldest) oldest = dueAt;
  }
  return oldest === undefined ? { claimable } : { claimable, oldestClaimableAt: new Date(oldest).toISOString() };
}

/**
 * Dead-letter operations, as thin helpers over a TaskStore (the CLI's `honk dead-letter`
 * uses them). A dead task failed with a non-retryable error or used up its attempts; its
 * `lastError` says why. Requeueing puts it back to `pending`, to run as soon as an agent
 * is free; cancelling parks it for good (until requeued).
 */
import { ConfigError, NotFoundError } from '../errors/honk-error.ts';
import type { TaskRecord, TaskStore } from '../queue/task-store.ts';

/** Dead-lettered tasks, oldest enqueued first. */
export function listDeadLetters(store: TaskStore, options: { limit?: number } = {}): Promise<TaskRecord[]> {
  return store.list({ states: ['dead'], ...(options.limit !== undefined ? { limit: options.limit } : {}) });
}

export interface RequeueDeadLetterOptions {
  /** Count attempts from zero again, so the task gets its full retry budget. Default true. */
  resetAttempts?: boolean;
}

/**
 * Puts a dead (or cancelled) task back to `pending`. Throws NotFoundError for an unknown id
 * and ConfigError for a task that is not dead or cancelled (nothing to requeue).
 */
export async function requeueDeadLetter(
  store: TaskStore,
  id: string,
  options: RequeueDeadLetterOptions = {},
): Promise<TaskRecord> {
  const task = await store.get(id);
  if (!task)
    throw new NotFoundError(
      `Task "${id}" is not in store "${store.name}". List dead letters with \`honk dead-letter list\`.`,
    );
  if (task.state !== 'dead' && task.state !== 'cancelled') {
    throw new ConfigError(
      `Task "${id}" is ${task.state}, not dead or cancelled, so there is nothing to requeue. Use \`honk enqueue\` to force a re-run of a succeeded task.`,
    );
  }
  return store.requeue(id, { resetAttempts: options.resetAttempts ?? true });
}

/**
 * Cancels a task: a pending or retrying one never runs, a running one's lease is revoked
 * (its agent aborts before publishing). Ended tasks are left as they are. Throws
 * NotFoundError for an unknown id. Returns the record after the call.
 */
export function cancelTask(store: TaskStore, id: string): Promise<TaskRecord> {
  return store.cancel(id);
}

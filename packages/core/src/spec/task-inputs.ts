/**
 * From a resolved spec to what a task store takes: the bridge `honk run`, `honk enqueue`
 * and services that enqueue spec files use.
 */
import type { Json } from '../connector/connector.ts';
import type { EnqueueResult, TaskInput, TaskStore } from '../queue/task-store.ts';
import type { ResolvedSpec, ResolvedTask } from './resolve-spec.ts';

/**
 * One store input per task. The stored definition is the task's portable form (defaults
 * merged, `${env:…}` unresolved), so no secret is ever written to a store and every agent
 * resolves it with its own environment.
 */
export function toTaskInput(task: ResolvedTask): TaskInput {
  return {
    id: task.id,
    definition: task.portable as unknown as Json,
    definitionHash: task.definitionHash,
    priority: task.priority,
    ...(task.notBefore ? { notBefore: task.notBefore } : {}),
    ...(task.window ? { window: task.window } : {}),
    connections: task.connections,
    maxAttempts: task.retry.attempts,
    labels: task.labels,
    ...(task.agentLabels ? { agentLabels: task.agentLabels } : {}),
    ...(task.entity ? { entity: task.entity } : {}),
  };
}

export function toTaskInputs(resolved: ResolvedSpec): TaskInput[] {
  return resolved.tasks.map(toTaskInput);
}

/**
 * Enqueues spec tasks the way `honk run` and `honk enqueue` do. An ordinary task is enqueued
 * with `resume`: once it succeeded, enqueueing the same definition again does not run it.
 * An incremental task is enqueued with `replace`: what it moves depends on what the source
 * holds now, not only on its definition, so enqueueing it again always starts a run (unless
 * one is running), which moves what changed since the last published one. Results are in
 * the order of `tasks`.
 */
export async function enqueueTasks(store: TaskStore, tasks: readonly ResolvedTask[]): Promise<EnqueueResult[]> {
  const once = tasks.filter((task) => !task.incremental);
  const again = tasks.filter((task) => task.incremental);
  const results = [
    ...(once.length > 0 ? await store.enqueue(once.map(toTaskInput)) : []),
    ...(again.length > 0 ? await store.enqueue(again.map(toTaskInput), { onConflict: 'replace' }) : []),
  ];
  const byId = new Map(results.map((result) => [result.id, result]));
  return tasks.map((task) => byId.get(task.id)!);
}

/** Fleet-wide `maxConcurrency` of the spec's connections, for `TaskStore.setConnectionLimits`. */
export function connectionLimits(resolved: ResolvedSpec): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const connection of Object.values(resolved.connections)) {
    if (connection.maxConcurrency !== undefined) limits[connection.name] = connection.maxConcurrency;
  }
  return limits;
}

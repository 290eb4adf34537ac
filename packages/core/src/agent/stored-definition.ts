/**
 * Reading task definitions back from task records.
 *
 * A record's `definition` is JSON in one of two forms:
 * - a *portable task* `{ task, connections }` as `resolveSpec` stores it (spec syntax,
 *   defaults merged, `${env:…}` unresolved so no secret is stored): the agent resolves it
 *   with its own environment right before running it;
 * - a plain {@link TaskDefinition} (source and target already resolved to connectors),
 *   as programs that build tasks in code may enqueue.
 *
 * Either way the runnable definition takes the record's id, since staging names derive
 * from it and scheduled runs share their task's spec.
 */
import type { Json } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { ConfigError } from '../errors/honk-error.ts';
import type { TaskRecord } from '../queue/task-store.ts';
import type { TaskDefinition } from '../run/task-definition.ts';
import { type PortableTask, resolveTaskRecord } from '../spec/resolve-spec.ts';
import type { BackoffPolicy } from './backoff.ts';

/** A runnable definition plus the optional control-plane fields the agent and scheduler read. */
export interface AgentTaskDefinition extends TaskDefinition {
  retry?: { attempts?: number; backoff?: Partial<BackoffPolicy> };
  schedule?: { cron: string; timezone?: string };
}

/** How portable tasks are resolved: the environment for `${env:…}` and the base directory. */
export interface DefinitionResolveOptions {
  connectors: ConnectorRegistry;
  /** Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory relative paths resolve against. Default `process.cwd()`. */
  baseDir?: string;
}

type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for the `{ task, connections }` form `resolveSpec` stores. */
export function isPortableTask(
  definition: Json,
): definition is JsonObject & { task: JsonObject; connections: JsonObject } {
  return isObject(definition) && isObject(definition.task) && isObject(definition.connections);
}

function isTaskDefinition(definition: Json): boolean {
  const endpoint = (value: Json | undefined) => isObject(value) && typeof value.connector === 'string';
  return isObject(definition) && endpoint(definition.source) && endpoint(definition.target);
}

/**
 * The runnable definition of a record. Throws a ConfigError (non-retryable: the task goes
 * to the dead-letter state with the reason) when it cannot be resolved.
 */
export function resolveStoredDefinition(
  record: Pick<TaskRecord, 'id' | 'definition'>,
  options: DefinitionResolveOptions,
  storeName = 'the store',
): AgentTaskDefinition {
  const { definition } = record;
  if (isPortableTask(definition)) {
    const resolved = resolveTaskRecord(definition as unknown as PortableTask, {
      registry: options.connectors,
      ...(options.env ? { env: options.env } : {}),
      baseDir: options.baseDir ?? process.cwd(),
    });
    return { ...resolved, id: record.id };
  }
  if (isTaskDefinition(definition)) {
    return { ...(definition as unknown as AgentTaskDefinition), id: record.id };
  }
  throw new ConfigError(
    `Task "${record.id}" in ${storeName} has no runnable definition: expected a stored spec task ({ task, connections }) or a TaskDefinition with source and target. Re-enqueue it from its spec.`,
  );
}

/** The task's `schedule`, read without resolving anything (no environment needed). */
export function scheduleOfDefinition(definition: Json): { cron: string; timezone: string } | undefined {
  const holder = isPortableTask(definition) ? definition.task : definition;
  if (!isObject(holder) || !isObject(holder.schedule)) return undefined;
  const { cron, timezone } = holder.schedule;
  if (typeof cron !== 'string') return undefined;
  return { cron, timezone: typeof timezone === 'string' ? timezone : 'UTC' };
}

/**
 * The definition of one scheduled run: the task's definition without `schedule` and
 * `notBefore` (a run is due at its tick), tagged with where it came from. A portable task
 * keeps its spec id (spec ids cannot contain the run suffix; the record id rules anyway).
 */
export function definitionForRun(definition: Json, runId: string, taskId: string, tick: string): Json {
  if (isPortableTask(definition)) {
    const { schedule: _schedule, notBefore: _notBefore, ...task } = definition.task;
    return { ...definition, task };
  }
  if (!isObject(definition)) return definition;
  const { schedule: _schedule, notBefore: _notBefore, ...rest } = definition;
  const meta = isObject(rest.meta) ? rest.meta : {};
  return { ...rest, id: runId, meta: { ...meta, scheduledFrom: taskId, tick } };
}

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
import { isAbsolute, resolve } from 'node:path';
import type { Connector, Json } from '../connector/connector.ts';
import { ConnectorRegistry } from '../connector/connector-registry.ts';
import { ConfigError } from '../errors/honk-error.ts';
import type { TaskRecord } from '../queue/task-store.ts';
import type { TaskDefinition } from '../run/task-definition.ts';
import { modulePathOf } from '../spec/check-transform.ts';
import { importConnectorModule } from '../spec/load-connector-modules.ts';
import { type PortableTask, resolveTaskRecord } from '../spec/resolve-spec.ts';
import type { BackoffPolicy } from './backoff.ts';
import type { ModuleAllowList } from './module-allow-list.ts';

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

/** {@link DefinitionResolveOptions} plus the agent's module allow-list. */
export interface DefinitionLoadOptions extends DefinitionResolveOptions {
  /** Modules the agent trusts. Absent: every module a record names is loaded (a program's own agents). */
  allowList?: ModuleAllowList;
}

/** A runnable definition and the connectors to run it with (the agent's, plus the record's modules). */
export interface LoadedDefinition {
  definition: AgentTaskDefinition;
  connectors: ConnectorRegistry;
}

/**
 * Like {@link resolveStoredDefinition}, but first loads the custom connector modules the
 * record names (`connectorModules`) that the agent does not have, and checks every module
 * against the allow-list before anything is imported: connector modules, then the transform
 * module. A module outside the list is a ModuleNotAllowedError (`MODULE_NOT_ALLOWED`, not
 * retried). The agent's own connectors win over a record's module of the same name.
 */
export async function loadStoredDefinition(
  record: Pick<TaskRecord, 'id' | 'definition'>,
  options: DefinitionLoadOptions,
  storeName = 'the store',
): Promise<LoadedDefinition> {
  const { definition } = record;
  let connectors = options.connectors;
  if (isPortableTask(definition)) {
    const portable = definition as unknown as PortableTask;
    // Package names resolve from the agent's own directory, never from one a record names:
    // a record could otherwise point at a node_modules of its choosing under a trusted name.
    const baseDir = options.baseDir ?? process.cwd();
    const extra: Connector[] = [];
    for (const [name, module] of Object.entries(portable.connectorModules ?? {})) {
      if (connectors.has(name) || typeof module !== 'string') continue;
      options.allowList?.check(module, `the module of connector "${name}"`, record.id);
      const loaded = await importConnectorModule(module, { baseDir, where: `task "${record.id}" in ${storeName}` });
      const connector = loaded.find((candidate) => candidate.name === name);
      if (!connector) {
        throw new ConfigError(
          `Task "${record.id}" in ${storeName}: module "${module}" exports no connector named "${name}" (it exports ${loaded.map((candidate) => `"${candidate.name}"`).join(', ')}). Re-enqueue the task from its spec.`,
        );
      }
      extra.push(connector);
    }
    if (extra.length > 0) {
      const registry = options.connectors;
      connectors = new ConnectorRegistry([...registry.names().map((name) => registry.get(name)), ...extra]);
    }
  }
  const resolved = resolveStoredDefinition(record, { ...options, connectors }, storeName);
  const transformModule = resolved.transform?.module;
  if (options.allowList && transformModule !== undefined) {
    const file = modulePathOf(transformModule);
    const absolute = isAbsolute(file) ? file : resolve(resolved.baseDir ?? options.baseDir ?? process.cwd(), file);
    options.allowList.check(absolute, 'the transform module', record.id);
  }
  return { definition: resolved, connectors };
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

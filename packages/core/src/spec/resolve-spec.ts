/**
 * Turning a validated spec into runnable tasks, at run time: `${env:…}` references are
 * replaced (and their values registered as secrets), connection and endpoint options are
 * checked against each connector's own schemas, defaults are applied, and every task gets
 * the control-plane fields the queue needs (priority, window, limits, definition hash).
 */
import { createHash } from 'node:crypto';
import type { ZodType } from 'zod';
import type { Connector } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { ConfigError, HonkError, isHonkError } from '../errors/honk-error.ts';
import { redact } from '../errors/redact.ts';
import { mergeAgentLabels } from '../queue/agent-class.ts';
import {
  DEFAULT_SNAPSHOT_KEEP_FOR_MS,
  type IncrementalOptions,
  type ResolvedEndpoint,
  type ResolvedTarget,
  type SnapshotOptions,
  type TaskDefinition,
} from '../run/task-definition.ts';
import type { TransformOptions } from '../transfer/transform.ts';
import type { ValidateOptions } from '../validate/validator.ts';
import { checkTransform } from './check-transform.ts';
import { type LoadedSpec, parseSpec, toSpecIssues } from './load-spec.ts';
import { parseDuration } from './parse-duration.ts';
import { type LiteralCredential, type PortableTask, portableTask } from './portable-task.ts';
import { concernsUnresolved, resolveEnv, type UnresolvedEnv } from './resolve-env.ts';
import { formatPath, type RawSpecIssue, SpecError, zodIssuesToSpecIssues } from './spec-error.ts';
import type { IncrementalSpec, SnapshotSpec, TaskSpec } from './spec-schema.ts';
import type { TaskWindow } from './task-window.ts';

/** Retry policy with every field filled in. */
export interface RetryPolicy {
  /** Attempts in total, including the first. */
  attempts: number;
  backoff: {
    initialMs: number;
    factor: number;
    maxMs: number;
    /** Full jitter: each delay is random in [0, computed delay]. */
    jitter: boolean;
  };
}

/** Used when neither the task nor `defaults.retry` says otherwise. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  attempts: 3,
  backoff: Object.freeze({ initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: true }),
}) as RetryPolicy;

export type { LiteralCredential, PortableTask } from './portable-task.ts';

/** A connection after `${env:…}` resolution and validation by its connector. */
export interface ResolvedConnection {
  name: string;
  connector: string;
  maxConcurrency?: number;
  /** Labels an agent must have to run tasks using this connection. */
  agentLabels?: Record<string, string>;
  /** Parsed by the connector's `optionsSchema`. May hold secrets: print through {@link describeConnections}. */
  options: Record<string, unknown>;
}

/** A runnable task: the {@link TaskDefinition} `runTask` takes, plus what the queue needs. */
export interface ResolvedTask extends TaskDefinition {
  source: ResolvedEndpoint;
  target: ResolvedTarget;
  labels: Record<string, string>;
  /** Labels an agent must have to claim the task: its connections' and its own. Absent when none. */
  agentLabels?: Record<string, string>;
  /** Catalog entity ref, if any (also in `meta.entity`). */
  entity?: string;
  /** Higher is claimed first. Default 0. */
  priority: number;
  notBefore?: Date;
  /** Timezone filled in (default UTC). */
  window?: Required<TaskWindow>;
  schedule?: { cron: string; timezone: string };
  retry: RetryPolicy;
  /** Names of the connections the task uses (source first), for fleet-wide limits. */
  connections: string[];
  /** `maxConcurrency` of those connections that set one. */
  maxConcurrency: Record<string, number>;
  /**
   * sha256 (hex) over what determines the task's result: id, source, target, the options of
   * the connections used, transform, validate and snapshot — with env references unresolved,
   * so secrets never enter it and rotating a password does not re-run anything. Scheduling
   * fields (priority, window, schedule, notBefore, retry, labels, agentLabels, batchRows,
   * chunks, idleTimeout, timeout, and connections' maxConcurrency and agentLabels) are left out.
   */
  definitionHash: string;
  /** The unresolved, JSON form for task stores (see `portable-task.ts`). */
  portable: PortableTask;
  /**
   * With `allowUnsetEnv`: the variables this task uses that are not set here. Its options
   * still hold those references, so nothing may connect with them.
   */
  unresolvedEnv?: string[];
}

export interface ResolvedSpec {
  sourceName: string;
  baseDir: string;
  /** The connections tasks use, resolved. Unused connections are not resolved. */
  connections: Record<string, ResolvedConnection>;
  tasks: ResolvedTask[];
  /**
   * Credentials the spec wrote literally, kept out of the task records (which refer to them
   * as `${env:HONK_SPEC_CREDENTIAL_…}`). In memory only: `honk run` hands them to its own
   * agents, `honk enqueue` refuses to enqueue while there are any.
   */
  credentials: LiteralCredential[];
}

export interface ResolveSpecOptions {
  registry: ConnectorRegistry;
  /** Default: the spec's `env`, else `process.env`. */
  env?: Record<string, string | undefined>;
  /** Default: the spec's `baseDir`. */
  baseDir?: string;
  /** Resolve only these task ids (`honk run --only`). Unknown ids are an error. */
  only?: readonly string[];
  /**
   * Leave unset `${env:…}` references as written instead of failing (`honk plan`, `honk
   * enqueue`: a CI job without the agents' secrets validates a spec). Option errors at those
   * values are not reported; tasks using them list the names in `unresolvedEnv`.
   */
  allowUnsetEnv?: boolean;
}

/**
 * Resolves a loaded spec for running. Throws {@link SpecError} listing every problem (unset
 * variables, connector option errors) with its spec path, or a `CONNECTOR_UNKNOWN`
 * HonkError naming the path of the unknown `connector:`.
 */
export function resolveSpec(loaded: LoadedSpec, options: ResolveSpecOptions): ResolvedSpec {
  const { spec } = loaded;
  const env = options.env ?? loaded.env ?? process.env;
  const baseDir = options.baseDir ?? loaded.baseDir;
  const issues: RawSpecIssue[] = [];
  const unresolved: UnresolvedEnv | undefined = options.allowUnsetEnv
    ? { names: new Set(), paths: new Set() }
    : undefined;

  let selected = spec.tasks.map((task, index) => ({ task, index }));
  if (options.only) {
    const ids = new Set(spec.tasks.map((task) => task.id));
    const unknown = options.only.filter((id) => !ids.has(id));
    if (unknown.length > 0) {
      throw new ConfigError(
        `Unknown task id(s) ${unknown.map((id) => `"${id}"`).join(', ')} in ${loaded.sourceName}. Known ids: ${[...ids].join(', ') || '(none)'}.`,
      );
    }
    const wanted = new Set(options.only);
    selected = selected.filter(({ task }) => wanted.has(task.id));
  }

  const used = new Set<string>();
  for (const { task } of selected) used.add(task.source.connection).add(task.target.connection);

  const connectors = new Map<string, Connector>();
  const connections: Record<string, ResolvedConnection> = {};
  for (const name of [...used].sort()) {
    const connection = spec.connections[name]!;
    const path = ['connections', name];
    const connector = lookupConnector(options.registry, connection.connector, [...path, 'connector'], loaded);
    connectors.set(name, connector);
    const { connector: _connector, maxConcurrency, agentLabels, ...rawOptions } = connection;
    const substituted = resolveEnv(rawOptions, path, env, issues, unresolved);
    if (substituted === undefined) continue;
    const parsed = parseWith(connector.optionsSchema, substituted, path, issues, unresolved);
    if (parsed === undefined) continue;
    connections[name] = {
      name,
      connector: connector.name,
      ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
      ...(agentLabels !== undefined ? { agentLabels: { ...agentLabels } } : {}),
      options: parsed,
    };
  }

  const tasks: ResolvedTask[] = [];
  const credentials = new Map<string, LiteralCredential>();
  // The spec's content, not its spelling: comments, key order and YAML or code give one hash.
  const specHash = createHash('sha256').update(canonicalJson(spec)).digest('hex');
  const context = { baseDir, connectors, specHash };
  for (const { task, index } of selected) {
    const { portable, credentials: kept } = portableTask(task, spec, context);
    for (const credential of kept) credentials.set(credential.env, credential);
    const resolved = resolveTask(portable, index, connections, connectors, env, baseDir, issues, unresolved);
    if (resolved) tasks.push(resolved);
  }

  if (issues.length > 0) throw new SpecError(toSpecIssues(issues, loaded.locate), { sourceName: loaded.sourceName });
  return { sourceName: loaded.sourceName, baseDir, connections, tasks, credentials: [...credentials.values()] };
}

/** Resolves one stored {@link PortableTask} (an agent does this right before running it). */
export function resolveTaskRecord(
  record: PortableTask,
  options: Omit<ResolveSpecOptions, 'only'> & { sourceName?: string },
): ResolvedTask {
  // The spec's directory travels with the record: relative paths mean the same on every agent.
  const baseDir = record.baseDir ?? options.baseDir;
  const loaded = parseSpec(
    { version: 1, connections: record.connections, tasks: [record.task] },
    {
      sourceName: options.sourceName ?? `task ${record.task.id}`,
      ...(baseDir ? { baseDir } : {}),
    },
  );
  const task = resolveSpec(loaded, { ...options, ...(baseDir ? { baseDir } : {}) }).tasks[0]!;
  // The record's origin is the spec it was enqueued from, not this one-task spec.
  if (record.specHash) task.portable.specHash = record.specHash;
  else delete task.portable.specHash;
  return task;
}

/** Connections with credentials masked, for `honk plan`, reports and logs. */
export function describeConnections(resolved: ResolvedSpec): Record<string, ResolvedConnection> {
  return redact(resolved.connections);
}

function lookupConnector(
  registry: ConnectorRegistry,
  name: string,
  path: PropertyKey[],
  loaded: LoadedSpec,
): Connector {
  try {
    return registry.get(name);
  } catch (error) {
    if (!isHonkError(error)) throw error;
    const position = loaded.locate?.(path);
    const where = `${loaded.sourceName}${position ? `:${position.line}:${position.column}` : ''}`;
    throw new HonkError(error.code, `${formatPath(path)} (${where}): ${error.message}`, {
      cause: error,
      details: { path: formatPath(path), connector: name },
    });
  }
}

function resolveTask(
  portable: PortableTask,
  index: number,
  connections: Record<string, ResolvedConnection>,
  connectors: Map<string, Connector>,
  env: Record<string, string | undefined>,
  baseDir: string,
  issues: RawSpecIssue[],
  unresolved: UnresolvedEnv | undefined,
): ResolvedTask | undefined {
  const path = ['tasks', index];
  const effective = portable.task;
  const before = issues.length;
  const resolved = resolveEnv(effective, path, env, issues, unresolved);
  if (resolved === undefined) return undefined;

  checkTransform(resolved.transform, [...path, 'transform'], issues);
  const { connection: sourceName, ...sourceOptions } = resolved.source;
  const { connection: targetName, mode, key, ...targetOptions } = resolved.target;
  const sourceEndpoint = parseWith(
    connectors.get(sourceName)!.endpointSchema,
    sourceOptions,
    [...path, 'source'],
    issues,
    unresolved,
  );
  const targetEndpoint = parseWith(
    connectors.get(targetName)!.endpointSchema,
    targetOptions,
    [...path, 'target'],
    issues,
    unresolved,
  );
  const sourceConnection = connections[sourceName];
  const targetConnection = connections[targetName];
  if (issues.length > before || !sourceEndpoint || !targetEndpoint || !sourceConnection || !targetConnection) {
    return undefined;
  }

  let agentLabels: Record<string, string> | undefined;
  try {
    agentLabels = mergeAgentLabels(resolved.id, [
      [`connections.${sourceName}.agentLabels`, sourceConnection.agentLabels],
      [`connections.${targetName}.agentLabels`, targetConnection.agentLabels],
      [`${formatPath(path)}.agentLabels`, resolved.agentLabels],
    ]);
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    issues.push({ path: [...path, 'agentLabels'], message: error.message });
    return undefined;
  }
  const maxConcurrency: Record<string, number> = {};
  for (const connection of [sourceConnection, targetConnection]) {
    if (connection.maxConcurrency !== undefined) maxConcurrency[connection.name] = connection.maxConcurrency;
  }
  const definition: ResolvedTask = {
    id: resolved.id,
    source: {
      connector: sourceConnection.connector,
      connection: sourceName,
      options: sourceConnection.options,
      endpoint: sourceEndpoint,
    },
    target: {
      connector: targetConnection.connector,
      connection: targetName,
      options: targetConnection.options,
      endpoint: targetEndpoint,
      mode: mode ?? 'replace',
      ...(key ? { key: [...key] } : {}),
    },
    labels: { ...(resolved.labels ?? {}) },
    baseDir,
    priority: resolved.priority ?? 0,
    retry: retryPolicy(resolved.retry),
    connections: [...new Set([sourceName, targetName])],
    maxConcurrency,
    definitionHash: definitionHash(portable),
    portable,
  };
  const taskEnv = unresolvedNames(portable, unresolved);
  if (taskEnv.length > 0) definition.unresolvedEnv = taskEnv;
  if (resolved.transform) definition.transform = resolved.transform as TransformOptions;
  if (resolved.validate) definition.validate = resolved.validate as ValidateOptions;
  if (resolved.snapshot !== undefined) definition.snapshot = snapshotOptions(resolved.snapshot);
  if (resolved.incremental) definition.incremental = incrementalOptions(resolved.incremental, resolved.id);
  if (resolved.batchRows !== undefined) definition.batchRows = resolved.batchRows;
  if (resolved.chunks !== undefined && resolved.chunks !== false) {
    definition.chunks = resolved.chunks === true ? {} : { ...resolved.chunks };
  }
  if (resolved.idleTimeout !== undefined) {
    definition.idleTimeoutMs = resolved.idleTimeout === false ? 0 : parseDuration(resolved.idleTimeout);
  }
  if (resolved.timeout !== undefined) definition.timeoutMs = parseDuration(resolved.timeout);
  if (agentLabels !== undefined) definition.agentLabels = agentLabels;
  if (resolved.entity !== undefined) {
    definition.entity = resolved.entity;
    definition.meta = { entity: resolved.entity };
  }
  if (resolved.notBefore !== undefined) definition.notBefore = new Date(resolved.notBefore);
  if (resolved.window) {
    definition.window = {
      start: resolved.window.start,
      end: resolved.window.end,
      timezone: resolved.window.timezone ?? 'UTC',
    };
  }
  if (resolved.schedule) {
    definition.schedule = { cron: resolved.schedule.cron, timezone: resolved.schedule.timezone ?? 'UTC' };
  }
  return definition;
}

/**
 * sha256 over the result-determining parts of a portable task, with keys sorted so the
 * order they were written in does not matter. See {@link ResolvedTask.definitionHash}.
 */
export function definitionHash(portable: PortableTask): string {
  const { task } = portable;
  const connections: Record<string, unknown> = {};
  for (const [name, connection] of Object.entries(portable.connections)) {
    // Where and how widely a task may run does not change its result.
    const { maxConcurrency: _limit, agentLabels: _agentLabels, ...rest } = connection;
    connections[name] = rest;
  }
  const material = {
    v: 1,
    id: task.id,
    source: task.source,
    target: { mode: 'replace', ...task.target },
    connections,
    transform: task.transform ?? null,
    validate: task.validate ?? null,
    snapshot: task.snapshot ?? null,
    // Only when set, so hashes of tasks without it stay what they were.
    ...(task.incremental ? { incremental: task.incremental } : {}),
  };
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}

/** JSON with object keys sorted at every level and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

function retryPolicy(retry: TaskSpec['retry']): RetryPolicy {
  return {
    attempts: retry?.attempts ?? DEFAULT_RETRY_POLICY.attempts,
    backoff: { ...DEFAULT_RETRY_POLICY.backoff, ...retry?.backoff },
  };
}

function snapshotOptions(snapshot: SnapshotSpec): SnapshotOptions {
  if (snapshot === false) return { enabled: false };
  if (snapshot === true) return { enabled: true, keepForMs: DEFAULT_SNAPSHOT_KEEP_FOR_MS };
  return { enabled: true, keepForMs: parseDuration(snapshot.keepFor) };
}

function incrementalOptions(incremental: IncrementalSpec, taskId: string): IncrementalOptions {
  return {
    cursor: incremental.cursor,
    ...(incremental.lag !== undefined ? { lagMs: parseDuration(incremental.lag) } : {}),
    ...(incremental.fullCheckEvery !== undefined ? { fullCheckEvery: incremental.fullCheckEvery } : {}),
    // The spec's task id: a scheduled run (`orders@2026…`) continues its task's mark.
    markKey: taskId,
  };
}

/** Unset variables (allowed by `allowUnsetEnv`) that the task or its connections refer to. */
function unresolvedNames(portable: PortableTask, unresolved: UnresolvedEnv | undefined): string[] {
  if (!unresolved || unresolved.names.size === 0) return [];
  const text = JSON.stringify(portable);
  return [...unresolved.names].filter((name) => text.includes(`\${env:${name}}`)).sort();
}

function parseWith(
  schema: ZodType,
  value: Record<string, unknown>,
  path: PropertyKey[],
  issues: RawSpecIssue[],
  unresolved?: UnresolvedEnv,
): Record<string, unknown> | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data as Record<string, unknown>;
  const found = zodIssuesToSpecIssues(result.error.issues, schema, path);
  const reported = found.filter((issue) => !concernsUnresolved(issue.path, unresolved));
  issues.push(...reported);
  // Only errors at values still holding a reference: accept the value as written (unparsed).
  return reported.length === 0 && found.length > 0 ? value : undefined;
}

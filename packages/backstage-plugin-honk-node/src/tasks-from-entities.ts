/**
 * Honk tasks from catalog entities: a dataset entity's `honk.dev/` annotations (source
 * connection and endpoint, target, priority, region …) plus a task template (target,
 * transforms, validation, retry) make one spec task, whose id references the entity ref.
 *
 * The tasks then go through core's own spec functions (`parseSpec`, `resolveSpec`,
 * `toTaskInput`) exactly like a spec file's tasks, with the connections of the configured
 * Honk spec: a task enqueued from Backstage is the same portable record `honk enqueue` writes.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import { HONK_ANNOTATIONS, type StartScheduling, type TaskTemplate } from '@honk/backstage-plugin-honk-common';
import { postgresConnector } from '@honk/connectors-postgres';
import { s3Connector } from '@honk/connectors-s3';
import {
  type Connector,
  ConnectorRegistry,
  fileConnector,
  isHonkError,
  type LoadedSpec,
  loadConnectorModules,
  parseSpec,
  type ResolvedTask,
  resolveSpec,
  type SpecInput,
  type TaskInput,
  type TaskSpecInput,
  toTaskInput,
} from '@honk/core';

/** What is read of an entity. */
export interface DatasetEntityLike {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
}

/**
 * The task id of an entity's migration: `resource.default.orders` for
 * `resource:default/orders`. Kinds are letters and namespaces have no dots, so the id is
 * unambiguous, and it stays within the characters task ids allow.
 */
export function taskIdForEntity(entityRef: string): string {
  const ref = parseEntityRef(entityRef);
  return `${ref.kind.toLowerCase()}.${ref.namespace}.${ref.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

function json(entity: DatasetEntityLike, annotation: string, ref: string): Record<string, unknown> | undefined {
  const text = entity.metadata.annotations?.[annotation];
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new InputError(
    `Entity ${ref}: annotation ${annotation} must be a JSON object of endpoint options, e.g. {"table":"shop.orders"}.`,
  );
}

function substitute(value: unknown, names: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{(name|namespace)\}/g, (_, key: string) => names[key]!);
  if (Array.isArray(value)) return value.map((item) => substitute(item, names));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, names)]));
  }
  return value;
}

/**
 * The spec task for one dataset entity. Throws InputError (HTTP 400) naming the entity and
 * the missing or malformed annotation, or the missing template target.
 *
 * `specTask` is the configured spec's own task for an entity published from it (annotation
 * `honk.dev/spec-task`, see {@link HonkTaskBuilder.specTasksFor}): its transforms, validation,
 * retry, snapshot and other settings are the dataset's, so they are kept (the template fills
 * in only what it leaves out, the request's scheduling wins); a migration started from
 * Backstage moves the data as `honk run` of that spec would, masking included.
 */
export function taskSpecForEntity(
  entity: DatasetEntityLike,
  template: TaskTemplate,
  scheduling: StartScheduling = {},
  specTask?: TaskSpecInput,
): TaskSpecInput {
  const ref = stringifyEntityRef({
    kind: entity.kind,
    name: entity.metadata.name,
    namespace: entity.metadata.namespace ?? 'default',
  });
  const annotations = entity.metadata.annotations ?? {};
  const sourceConnection = annotations[HONK_ANNOTATIONS.sourceConnection];
  const sourceEndpoint = json(entity, HONK_ANNOTATIONS.sourceEndpoint, ref);
  if (!sourceConnection || !sourceEndpoint) {
    throw new InputError(
      `Entity ${ref} is not a Honk dataset: it needs the annotations ${HONK_ANNOTATIONS.sourceConnection} and ${HONK_ANNOTATIONS.sourceEndpoint} (the catalog module sets both).`,
    );
  }
  const names = { name: entity.metadata.name, namespace: entity.metadata.namespace ?? 'default' };
  const targetConnection = annotations[HONK_ANNOTATIONS.targetConnection];
  const targetEndpoint = json(entity, HONK_ANNOTATIONS.targetEndpoint, ref);
  const target =
    targetConnection && targetEndpoint
      ? { ...targetEndpoint, connection: targetConnection }
      : template.target
        ? (substitute(template.target, names) as Record<string, unknown>)
        : undefined;
  if (!target) {
    throw new InputError(
      `Entity ${ref} names no target (${HONK_ANNOTATIONS.targetConnection}/${HONK_ANNOTATIONS.targetEndpoint}) and the task template has none: set honk.taskTemplate.target in app-config or pass a template with a target.`,
    );
  }
  const annotatedPriority = annotations[HONK_ANNOTATIONS.priority];
  const priority =
    scheduling.priority ?? (annotatedPriority !== undefined ? Number(annotatedPriority) : template.priority);
  const labels: Record<string, string> = { ...specTask?.labels, ...template.labels, entity: ref };
  const region = annotations[HONK_ANNOTATIONS.region];
  if (region) labels.region = region;
  // A spec dataset keeps its task's settings; a cron `schedule` stays with the spec (a start
  // from Backstage is one run), and its id becomes the entity's.
  const { id: _id, schedule: _schedule, ...fromSpec } = specTask ? structuredClone(specTask) : ({} as TaskSpecInput);
  const task: Record<string, unknown> = {
    ...fromSpec,
    id: taskIdForEntity(ref),
    entity: ref,
    source: { ...sourceEndpoint, connection: sourceConnection },
    target,
    labels,
  };
  if (priority !== undefined && Number.isFinite(priority)) task.priority = priority;
  if (scheduling.notBefore !== undefined) task.notBefore = scheduling.notBefore;
  if (scheduling.window !== undefined) task.window = scheduling.window;
  for (const key of ['transform', 'validate', 'retry', 'snapshot'] as const) {
    if (task[key] === undefined && template[key] !== undefined) task[key] = structuredClone(template[key]);
  }
  return task as TaskSpecInput;
}

/** A spec task made runnable: the store input and the resolved task. */
export interface BuiltTask {
  input: TaskInput;
  task: ResolvedTask;
}

/**
 * Turns spec tasks into store inputs with the connections (and defaults, and connector
 * modules) of the configured Honk spec, through core's spec functions.
 */
export class HonkTaskBuilder {
  readonly #specPath: string | undefined;
  readonly #env: Record<string, string | undefined>;
  #base: Promise<{ loaded: LoadedSpec; registry: ConnectorRegistry }> | undefined;

  constructor(options: { specPath?: string; env?: Record<string, string | undefined> }) {
    this.#specPath = options.specPath;
    this.#env = options.env ?? process.env;
  }

  /** The configured spec, loaded once, and a registry of the built-in connectors plus its own. */
  base(): Promise<{ loaded: LoadedSpec; registry: ConnectorRegistry }> {
    this.#base ??= (async () => {
      if (!this.#specPath) {
        throw new InputError(
          'No Honk spec is configured (honk.spec in app-config): its connections are what tasks use.',
        );
      }
      const text = await readFile(this.#specPath, 'utf8');
      const loaded = parseSpec(text, { sourceName: this.#specPath, baseDir: dirname(this.#specPath), env: this.#env });
      const registry = new ConnectorRegistry([fileConnector, postgresConnector, s3Connector] as Connector[]);
      for (const connector of await loadConnectorModules(loaded)) registry.register(connector);
      return { loaded, registry };
    })();
    this.#base.catch(() => {
      this.#base = undefined;
    });
    return this.#base;
  }

  /**
   * The configured spec's own task of each entity published from it (annotation
   * `honk.dev/spec-task`), or undefined for entities from discovery. An entity naming a task
   * the spec no longer has is refused (InputError): started from the template alone it would
   * lose the dataset's transforms; the catalog drops the entity at its next refresh.
   */
  async specTasksFor(entities: readonly DatasetEntityLike[]): Promise<Array<TaskSpecInput | undefined>> {
    const named = entities.map((entity) => entity.metadata.annotations?.[HONK_ANNOTATIONS.specTask]);
    if (named.every((id) => id === undefined)) return named.map(() => undefined);
    const { loaded } = await this.base();
    const tasks = new Map(loaded.spec.tasks.map((task) => [task.id, task as TaskSpecInput]));
    return named.map((id, index) => {
      if (id === undefined) return undefined;
      const task = tasks.get(id);
      if (!task) {
        const entity = entities[index]!;
        throw new InputError(
          `Entity ${stringifyEntityRef({ kind: entity.kind, name: entity.metadata.name, namespace: entity.metadata.namespace ?? 'default' })} comes from task "${id}" of ${loaded.sourceName}, which no longer has it; the catalog removes the entity at its next refresh.`,
        );
      }
      return task;
    });
  }

  /** A spec holding these tasks and the connections they use (for dry runs and `/tasks/generate`). */
  async spec(tasks: readonly TaskSpecInput[]): Promise<SpecInput> {
    const { loaded } = await this.base();
    const used = new Set(tasks.flatMap((task) => [task.source.connection, task.target.connection]));
    const connections = Object.fromEntries(Object.entries(loaded.spec.connections).filter(([name]) => used.has(name)));
    return {
      version: 1,
      connections,
      ...(loaded.spec.connectors ? { connectors: loaded.spec.connectors } : {}),
      ...(loaded.spec.defaults ? { defaults: loaded.spec.defaults } : {}),
      tasks: tasks as TaskSpecInput[],
    } as SpecInput;
  }

  /** Validates and resolves the tasks; an invalid one is an InputError listing every problem. */
  async build(tasks: readonly TaskSpecInput[]): Promise<BuiltTask[]> {
    if (tasks.length === 0) return [];
    const { loaded, registry } = await this.base();
    try {
      const spec = parseSpec(await this.spec(tasks), {
        sourceName: `tasks built from the catalog (connections of ${loaded.sourceName})`,
        baseDir: loaded.baseDir,
        env: this.#env,
      });
      // Agents resolve `${env:…}` where the task runs, so the backend needs none of their
      // secrets; a credential written literally would be stored for every reader of the
      // store to see, so it is refused as `honk enqueue` refuses it.
      const resolved = resolveSpec(spec, { registry, env: this.#env, allowUnsetEnv: true });
      if (resolved.credentials.length > 0) {
        const paths = [...new Set(resolved.credentials.map((credential) => credential.path))];
        throw new InputError(
          `${loaded.sourceName}: credentials are written literally at ${paths.join(', ')}; Honk does not write credentials to a task store. Write each as an \${env:…} reference that the agents resolve.`,
        );
      }
      return resolved.tasks.map((task) => ({ task, input: toTaskInput(task) }));
    } catch (error) {
      if (isHonkError(error) && (error.code === 'CONFIG_INVALID' || error.code === 'CONNECTOR_UNKNOWN')) {
        throw new InputError(error.message);
      }
      throw error;
    }
  }
}

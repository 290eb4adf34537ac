/**
 * The entity provider: publishes the datasets of the configured Honk spec (each task's
 * source, with its target) and of connector discovery (configured connections and scopes)
 * as catalog entities, on a schedule (a full mutation, so a dataset that is gone loses its
 * entity), and re-emits single entities when their migration status changes (a delta
 * mutation, within seconds of the store event, without re-running discovery).
 */
import type { LoggerService } from '@backstage/backend-plugin-api';
import { type Entity, stringifyEntityRef } from '@backstage/catalog-model';
import type { EntityProvider, EntityProviderConnection } from '@backstage/plugin-catalog-node';
import { HONK_ANNOTATIONS, type MigrationSummary } from '@honk/backstage-plugin-honk-common';
import { type HonkTaskBuilder, type MigrationLedger, toSummary } from '@honk/backstage-plugin-honk-node';
import { resolveConnection, type TaskStore } from '@honk/core';
import {
  type Dataset,
  datasetEntity,
  datasetUri,
  type EntityDefaults,
  entityName,
  statusAnnotations,
} from './dataset-entities.ts';

/** A connection to discover (`honk.catalog.discover[]`). */
export interface DiscoverTarget {
  connection: string;
  within?: string;
  limit?: number;
}

export interface HonkEntityProviderOptions {
  /** Names the provider and its location (`honk:<id>`). */
  id: string;
  store: TaskStore;
  ledger: MigrationLedger;
  builder: HonkTaskBuilder;
  logger: LoggerService;
  /** Publish the sources of the spec's tasks. Default true. */
  fromSpec: boolean;
  discover: DiscoverTarget[];
  namespace: string;
  owner: string;
  system?: string;
  /** Facts (region, retention, compliance-deadline …) datasets get unless their task labels say otherwise. */
  facts: Record<string, string>;
  env?: Record<string, string | undefined>;
}

/** JSON with keys sorted, so `{a,b}` and `{b,a}` are the same endpoint. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${sortedJson(item)}`).join(',')}}`;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const LABEL_FACTS = ['region', 'retention', 'priority', 'compliance-deadline', 'schema-version', 'owner', 'system'];

export class HonkEntityProvider implements EntityProvider {
  readonly #options: HonkEntityProviderOptions;
  #connection: EntityProviderConnection | undefined;
  /** Settles when the catalog connects the provider (the scheduler may start a run before that). */
  #onConnected: (connection: EntityProviderConnection) => void = () => {};
  readonly #connected = new Promise<EntityProviderConnection>((resolve) => {
    this.#onConnected = resolve;
  });
  /** The entities of the last full run, by ref, as last emitted. */
  #entities = new Map<string, Entity>();
  /** Spec task id → entity ref, for tasks run from the spec that name no entity. */
  #specTasks = new Map<string, string>();

  constructor(options: HonkEntityProviderOptions) {
    this.#options = options;
  }

  getProviderName(): string {
    return `honk-${this.#options.id}`;
  }

  get #location(): string {
    return `honk:${this.#options.id}`;
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.#connection = connection;
    this.#onConnected(connection);
  }

  /** The datasets of the spec and of discovery, deduplicated by connection and endpoint (spec first). */
  async datasets(): Promise<Dataset[]> {
    const { builder } = this.#options;
    const { loaded, registry } = await builder.base();
    const found = new Map<string, Dataset>();
    const key = (connection: string, endpoint: Record<string, unknown>) => `${connection}\u0000${sortedJson(endpoint)}`;
    const connectorOf = (name: string) => loaded.spec.connections[name]?.connector ?? 'unknown';
    if (this.#options.fromSpec) {
      for (const task of loaded.spec.tasks) {
        const { connection, ...sourceEndpoint } = task.source;
        const { connection: targetConnection, ...targetEndpoint } = task.target;
        const facts: Record<string, string> = { ...this.#options.facts };
        for (const label of LABEL_FACTS) if (task.labels?.[label] !== undefined) facts[label] = task.labels[label]!;
        if (task.priority !== undefined) facts.priority = String(task.priority);
        found.set(key(connection, sourceEndpoint), {
          name: entityName(task.id),
          title: task.id,
          sourceConnection: connection,
          connector: connectorOf(connection),
          sourceEndpoint,
          target: {
            connection: targetConnection,
            endpoint: targetEndpoint,
            uri: datasetUri(targetConnection, targetEndpoint),
          },
          specTask: task.id,
          facts,
        });
      }
    }
    for (const target of this.#options.discover) {
      const { connection, connector } = resolveConnection(loaded, target.connection, {
        registry,
        ...(this.#options.env ? { env: this.#options.env } : {}),
      });
      if (!connector.discover) {
        this.#options.logger.warn(
          `honk: connection ${target.connection} (${connector.name}) cannot discover datasets; skipped.`,
        );
        continue;
      }
      const datasets = await connector.discover({
        options: connection.options,
        scope: {
          ...(target.within !== undefined ? { within: target.within } : {}),
          ...(target.limit !== undefined ? { limit: target.limit } : {}),
        },
        context: {
          taskId: `discover-${target.connection}`,
          connectionName: target.connection,
          signal: new AbortController().signal,
          logger: quiet,
          baseDir: loaded.baseDir,
        },
      });
      for (const dataset of datasets) {
        const id = key(target.connection, dataset.endpoint);
        if (found.has(id)) continue;
        found.set(id, {
          name: entityName(`${target.connection}.${dataset.name}`),
          title: dataset.name,
          sourceConnection: target.connection,
          connector: connector.name,
          sourceEndpoint: dataset.endpoint,
          kind: dataset.kind,
          ...(dataset.estimatedRows !== undefined ? { estimatedRows: dataset.estimatedRows } : {}),
          ...(dataset.bytes !== undefined ? { bytes: dataset.bytes } : {}),
          facts: { ...this.#options.facts },
        });
      }
    }
    return [...found.values()];
  }

  /** The full run: every dataset with its current status, replacing what the provider published before. */
  async refresh(): Promise<number> {
    // The catalog schedules the first run when the module initialises and connects providers
    // only once every module has: a run that starts in between waits for the connection
    // (bounded by the schedule's timeout) instead of failing and waiting a whole period.
    const connection = this.#connection ?? (await this.#connected);
    const datasets = await this.datasets();
    const defaults = this.#defaults();
    const records = await this.#options.store.list();
    const ledger = await this.#options.ledger.forTasks(
      records.filter((record) => record.state === 'succeeded').map((record) => record.id),
    );
    const specTasks = new Map<string, string>();
    const refs = datasets.map((dataset) =>
      stringifyEntityRef({ kind: 'Resource', namespace: defaults.namespace, name: dataset.name }),
    );
    datasets.forEach((dataset, index) => {
      if (dataset.specTask) specTasks.set(dataset.specTask, refs[index]!);
    });
    const latest = new Map<string, MigrationSummary>();
    for (const record of records) {
      const ref = record.entity ?? specTasks.get(record.id);
      if (!ref) continue;
      const current = latest.get(ref);
      if (current && current.updatedAt > record.updatedAt) continue;
      latest.set(ref, toSummary(record, ledger.get(record.id) ?? []));
    }
    const entities = new Map<string, Entity>();
    datasets.forEach((dataset, index) => {
      entities.set(refs[index]!, datasetEntity(dataset, defaults, latest.get(refs[index]!)));
    });
    this.#entities = entities;
    this.#specTasks = specTasks;
    await connection.applyMutation({
      type: 'full',
      entities: [...entities.values()].map((entity) => ({ entity, locationKey: this.#location })),
    });
    this.#options.logger.info(`honk: published ${entities.size} dataset entities`);
    return entities.size;
  }

  /**
   * A migration's status changed: re-emit its entity alone (delta), when the provider
   * publishes it and the change is not older than what the entity shows.
   */
  async statusChanged(summary: MigrationSummary): Promise<void> {
    const ref = summary.entityRef ?? this.#specTasks.get(summary.taskId);
    if (!ref || !this.#connection) return;
    const entity = this.#entities.get(ref);
    if (!entity) return;
    const annotations = entity.metadata.annotations ?? {};
    const shownTask = annotations[HONK_ANNOTATIONS.taskId];
    const shownAt = annotations[HONK_ANNOTATIONS.statusAt];
    if (shownTask && shownTask !== summary.taskId && shownAt && shownAt > summary.updatedAt) return;
    const kept = Object.fromEntries(
      Object.entries(annotations).filter(
        ([name]) =>
          ![
            HONK_ANNOTATIONS.status,
            HONK_ANNOTATIONS.statusAt,
            HONK_ANNOTATIONS.taskId,
            HONK_ANNOTATIONS.signedOffBy,
            HONK_ANNOTATIONS.signedOffAt,
          ].includes(name as never),
      ),
    );
    const updated: Entity = {
      ...entity,
      metadata: { ...entity.metadata, annotations: { ...kept, ...statusAnnotations(summary) } },
    };
    this.#entities.set(ref, updated);
    await this.#connection.applyMutation({
      type: 'delta',
      added: [{ entity: updated, locationKey: this.#location }],
      removed: [],
    });
  }

  #defaults(): EntityDefaults {
    return {
      namespace: this.#options.namespace,
      owner: this.#options.owner,
      ...(this.#options.system ? { system: this.#options.system } : {}),
      location: this.#location,
    };
  }
}

/**
 * What the honk routes do, without HTTP: start (one, bulk, dry run), list and detail,
 * requeue, cancel, roll back, sign off, and task generation from catalog filters. Callers
 * pass the already authorised credentials; catalog reads use them, so a user only starts
 * migrations of entities they can see.
 */
import type { BackstageCredentials } from '@backstage/backend-plugin-api';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type {
  BulkStartRequest,
  CatalogFilter,
  GenerateTasksResponse,
  ListMigrationsQuery,
  ListMigrationsResponse,
  MigrationDetail,
  MigrationStatus,
  MigrationSummary,
  StartResult,
  StartScheduling,
  TaskTemplate,
} from '@honk/backstage-plugin-honk-common';
import {
  type DatasetEntityLike,
  emptyCounts,
  type HonkTaskBuilder,
  type MigrationLedger,
  migrationStatusOf,
  taskSpecForEntity,
  toDetail,
  toSummary,
} from '@honk/backstage-plugin-honk-node';
import { chunkIdsOf, chunkProgress, isHonkError, type TaskRecord, type TaskState, type TaskStore } from '@honk/core';
import { restoreSnapshot } from './restore-snapshot.ts';

/** Bulk starts and generation accept at most this many entities per request. */
export const MAX_SELECTION = 10_000;

export interface HonkServiceOptions {
  store: TaskStore;
  ledger: MigrationLedger;
  builder: HonkTaskBuilder;
  catalog: CatalogService;
  template: TaskTemplate;
  env?: Record<string, string | undefined>;
}

function mergeTemplate(base: TaskTemplate, override: TaskTemplate | undefined): TaskTemplate {
  if (!override) return base;
  return {
    ...base,
    ...override,
    ...(base.labels || override.labels ? { labels: { ...base.labels, ...override.labels } } : {}),
  };
}

/** The task states a migration status can come from. */
function statesOf(statuses: ReadonlySet<MigrationStatus>): TaskState[] {
  const states = new Set<TaskState>();
  for (const status of statuses) {
    if (status === 'pending' || status === 'running' || status === 'dead' || status === 'cancelled') states.add(status);
    // A chunked task waiting for its chunks is `pending` in the store and `running` here.
    if (status === 'running') states.add('pending');
    else if (status === 'failed') states.add('retrying');
    else if (status === 'succeeded' || status === 'rolled-back' || status === 'migrated') states.add('succeeded');
    // not-started: no task has it.
  }
  return [...states];
}

/** A store error for a bad request (unknown id, wrong state) as the HTTP error it is. */
function httpError(error: unknown): unknown {
  if (!isHonkError(error)) return error;
  if (error.code === 'NOT_FOUND') return new NotFoundError(error.message);
  if (error.code === 'CONFIG_INVALID') return new ConflictError(error.message);
  return error;
}

export class HonkService {
  readonly #options: HonkServiceOptions;

  constructor(options: HonkServiceOptions) {
    this.#options = options;
  }

  get store(): TaskStore {
    return this.#options.store;
  }

  async #record(taskId: string): Promise<TaskRecord> {
    const record = await this.#options.store.get(taskId);
    if (!record) throw new NotFoundError(`No Honk migration with task id "${taskId}".`);
    return record;
  }

  /**
   * Summaries filtered by status and entity, paged, with counts over every migration. Reads
   * only what can match (the store filters by entity and state) and counts from the store's
   * counts by state plus the succeeded tasks (whose status the ledger decides), so a page
   * polling a few entities does not read 10,000 task records each time.
   */
  async list(query: ListMigrationsQuery): Promise<ListMigrationsResponse> {
    const { store, ledger } = this.#options;
    const wantedStatus = query.status && query.status.length > 0 ? new Set(query.status) : undefined;
    const wantedRefs = query.entityRef && query.entityRef.length > 0 ? [...new Set(query.entityRef)] : undefined;
    const [byState, succeeded] = await Promise.all([store.counts(), store.list({ states: ['succeeded'] })]);
    const decided = await ledger.forTasks(succeeded.map((record) => record.id));
    const counts = emptyCounts();
    counts.pending = byState.pending ?? 0;
    counts.running = byState.running ?? 0;
    counts.failed = byState.retrying ?? 0;
    counts.dead = byState.dead ?? 0;
    counts.cancelled = byState.cancelled ?? 0;
    for (const record of succeeded) counts[migrationStatusOf(record, decided.get(record.id) ?? [])]++;

    const states = wantedStatus ? statesOf(wantedStatus) : undefined;
    let records: TaskRecord[];
    if (wantedRefs) {
      records = await store.list({ entities: wantedRefs, ...(states ? { states } : {}) });
    } else if (states && states.length === 1 && states[0] === 'succeeded') {
      records = succeeded;
    } else {
      records = await store.list(states ? { states } : {});
    }
    // Chunk records are summed under their chunked task, not listed as migrations (the counts
    // above are the store's by state, chunk records included).
    records = records.filter((record) => record.chunkOf === undefined);
    const chunkIds = records.flatMap(chunkIdsOf);
    const chunks = new Map((chunkIds.length > 0 ? await store.list({ ids: chunkIds }) : []).map((r) => [r.id, r]));
    const matching: MigrationSummary[] = [];
    for (const record of records) {
      const summary = toSummary(record, decided.get(record.id) ?? [], chunkProgress(record, chunks));
      if (wantedStatus && !wantedStatus.has(summary.status)) continue;
      matching.push(summary);
    }
    const offset = query.offset ?? 0;
    const limit = Math.min(query.limit ?? 100, 1000);
    return { items: matching.slice(offset, offset + limit), totalItems: matching.length, counts };
  }

  async detail(taskId: string): Promise<MigrationDetail> {
    const record = await this.#record(taskId);
    const ledger = await this.#options.ledger.forTasks([record.id]);
    const ids = chunkIdsOf(record);
    const chunks = ids.length > 0 ? await this.#options.store.list({ ids }) : [];
    return toDetail(
      record,
      ledger.get(record.id) ?? [],
      chunkProgress(record, new Map(chunks.map((chunk) => [chunk.id, chunk]))),
    );
  }

  /** The most recently updated migration of an entity. */
  async entityMigration(entityRef: string): Promise<MigrationDetail> {
    const ref = stringifyEntityRef(parseEntityRef(entityRef));
    const records = await this.#options.store.list({ entities: [ref] });
    const latest = records.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0))[0];
    if (!latest) throw new NotFoundError(`Entity ${ref} has no Honk migration yet.`);
    return this.detail(latest.id);
  }

  async #entities(
    selection: { entityRefs?: string[]; filter?: CatalogFilter | CatalogFilter[] },
    credentials: BackstageCredentials,
  ): Promise<DatasetEntityLike[]> {
    const { catalog } = this.#options;
    if (selection.entityRefs && selection.entityRefs.length > 0) {
      if (selection.entityRefs.length > MAX_SELECTION) {
        throw new InputError(`At most ${MAX_SELECTION} entities per request; got ${selection.entityRefs.length}.`);
      }
      const refs = selection.entityRefs.map((ref) => stringifyEntityRef(parseEntityRef(ref)));
      const { items } = await catalog.getEntitiesByRefs({ entityRefs: refs }, { credentials });
      const missing = refs.filter((_, index) => !items[index]);
      if (missing.length > 0) {
        throw new NotFoundError(`Not in the catalog (or not visible to you): ${missing.slice(0, 10).join(', ')}.`);
      }
      return items as DatasetEntityLike[];
    }
    if (selection.filter) {
      const { items } = await catalog.getEntities({ filter: selection.filter }, { credentials });
      if (items.length > MAX_SELECTION) {
        throw new InputError(`The filter selects ${items.length} entities; at most ${MAX_SELECTION} per request.`);
      }
      return items as DatasetEntityLike[];
    }
    throw new InputError('Select entities with `entityRefs` or a catalog `filter`.');
  }

  /** Starts (or dry-runs) the migrations of the selected entities. Nothing is enqueued when any task is invalid. */
  async start(request: BulkStartRequest, credentials: BackstageCredentials): Promise<{ results: StartResult[] }> {
    const entities = await this.#entities(request, credentials);
    const template = mergeTemplate(this.#options.template, request.template);
    const scheduling: StartScheduling = {
      ...(request.notBefore !== undefined ? { notBefore: request.notBefore } : {}),
      ...(request.window !== undefined ? { window: request.window } : {}),
      ...(request.priority !== undefined ? { priority: request.priority } : {}),
    };
    const specTasks = await this.#options.builder.specTasksFor(entities);
    const specs = entities.map((entity, index) => taskSpecForEntity(entity, template, scheduling, specTasks[index]));
    const built = await this.#options.builder.build(specs);
    if (request.dryRun) {
      return {
        results: built.map(({ task }, index) => ({
          entityRef: task.entity!,
          taskId: task.id,
          outcome: 'dry-run',
          task: specs[index],
        })),
      };
    }
    const results = await this.#options.store.enqueue(
      built.map(({ input }) => input),
      { onConflict: request.rerun ? 'replace' : 'resume' },
    );
    return {
      results: results.map((result, index) => ({
        entityRef: built[index]!.task.entity!,
        taskId: result.id,
        outcome: result.outcome,
        state: result.state,
        task: specs[index],
      })),
    };
  }

  /** A Honk spec for the entities a filter selects (nothing enqueued). */
  async generate(
    filter: CatalogFilter | CatalogFilter[],
    template: TaskTemplate | undefined,
    credentials: BackstageCredentials,
  ): Promise<GenerateTasksResponse> {
    const entities = await this.#entities({ filter }, credentials);
    const merged = mergeTemplate(this.#options.template, template);
    const specTasks = await this.#options.builder.specTasksFor(entities);
    const specs = entities.map((entity, index) => taskSpecForEntity(entity, merged, {}, specTasks[index]));
    await this.#options.builder.build(specs);
    return { spec: await this.#options.builder.spec(specs) };
  }

  async requeue(taskId: string): Promise<MigrationSummary> {
    const record = await this.#record(taskId);
    if (record.state !== 'dead' && record.state !== 'cancelled') {
      throw new ConflictError(
        `Task "${taskId}" is ${record.state}; only dead or cancelled migrations can be requeued.`,
      );
    }
    const requeued = await this.#options.store.requeue(taskId).catch((error: unknown) => {
      throw httpError(error);
    });
    return toSummary(requeued);
  }

  async cancel(taskId: string): Promise<MigrationSummary> {
    await this.#record(taskId);
    const record = await this.#options.store.cancel(taskId).catch((error: unknown) => {
      throw httpError(error);
    });
    return toSummary(record);
  }

  async rollback(taskId: string, actor: string): Promise<MigrationSummary> {
    const record = await this.#record(taskId);
    const { builder } = this.#options;
    const { registry, loaded } = await builder.base().catch(() => ({ registry: undefined, loaded: undefined }));
    if (!registry) throw new ConflictError('Rollback needs the Honk spec (honk.spec) for its connectors.');
    await restoreSnapshot(record, {
      registry,
      ...(this.#options.env ? { env: this.#options.env } : {}),
      ...(loaded ? { baseDir: loaded.baseDir } : {}),
    });
    const entry = await this.#options.ledger.record({
      taskId,
      ...(record.entity ? { entityRef: record.entity } : {}),
      action: 'rollback',
      actor,
      definitionHash: record.definitionHash,
    });
    return toSummary(record, [entry]);
  }

  async signOff(taskId: string, actor: string): Promise<MigrationSummary> {
    const record = await this.#record(taskId);
    if (record.state !== 'succeeded') {
      throw new ConflictError(
        `Task "${taskId}" is ${record.state}: only a succeeded (validated and published) migration can be signed off.`,
      );
    }
    const entries = (await this.#options.ledger.forTasks([taskId])).get(taskId) ?? [];
    const current = toSummary(record, entries);
    if (current.status === 'rolled-back') {
      throw new ConflictError(`Task "${taskId}" was rolled back; start it again before signing it off.`);
    }
    if (current.signedOff) return current;
    const entry = await this.#options.ledger.record({
      taskId,
      ...(record.entity ? { entityRef: record.entity } : {}),
      action: 'sign-off',
      actor,
      definitionHash: record.definitionHash,
    });
    return toSummary(record, [...entries, entry]);
  }
}

/**
 * An in-memory connector for tests and examples: datasets are lists of Arrow record
 * batches in a `MemoryStorage`. It follows the same staging/publish/snapshot protocol as
 * real connectors, so it is a faithful stand-in when a test is about the engine, the queue
 * or an agent rather than a storage system.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { z } from 'zod';
import { defineConnector } from '../connector/connector.ts';
import { NotFoundError, SchemaMismatchError, throwIfAborted } from '../errors/honk-error.ts';

interface Dataset {
  schema: Schema;
  batches: RecordBatch[];
}

/** Named datasets held in memory. */
export class MemoryStorage {
  readonly datasets = new Map<string, Dataset>();
  /** Task ids whose append was applied, per dataset: appends are idempotent per task. */
  readonly appliedAppends = new Map<string, Set<string>>();

  set(name: string, schema: Schema, batches: RecordBatch[]): void {
    this.datasets.set(name, { schema, batches: [...batches] });
  }

  get(name: string): Dataset | undefined {
    return this.datasets.get(name);
  }

  /** Total rows of a dataset, or undefined when it does not exist. */
  rows(name: string): number | undefined {
    return this.datasets.get(name)?.batches.reduce((sum, batch) => sum + batch.numRows, 0);
  }

  /** Names of datasets, staging and snapshots included. */
  names(): string[] {
    return [...this.datasets.keys()].sort();
  }
}

const optionsSchema = z.object({ storage: z.string().default('default') }).strict();
const endpointSchema = z.object({ name: z.string().min(1) }).strict();

/**
 * Creates a memory connector named `name` (default `memory`) over the given storages,
 * selected by the connection option `storage` (default `default`).
 */
export function createMemoryConnector(
  storages: Record<string, MemoryStorage> = { default: new MemoryStorage() },
  name = 'memory',
) {
  const storageFor = (key: string): MemoryStorage => {
    const storage = storages[key];
    if (!storage)
      throw new NotFoundError(`Memory storage "${key}" does not exist. Known: ${Object.keys(storages).join(', ')}.`);
    return storage;
  };
  return defineConnector({
    specificationVersion: 'v1',
    name,
    optionsSchema,
    endpointSchema,
    capabilities: { snapshot: true, countPushdown: true, publishModes: ['replace', 'append'] },
    createSource: ({ options, endpoint }) => {
      const storage = storageFor(options.storage);
      // Pinned at first access: the read sees one version even if the dataset is replaced.
      let pinned: Dataset | undefined;
      const pin = (): Dataset => {
        pinned ??= storage.get(endpoint.name);
        if (!pinned) throw new NotFoundError(`Memory dataset "${endpoint.name}" does not exist.`);
        return pinned;
      };
      return {
        schema: async () => pin().schema,
        count: async () => pin().batches.reduce((sum, batch) => sum + batch.numRows, 0),
        async *read({ signal }) {
          for (const batch of pin().batches) {
            throwIfAborted(signal);
            yield batch;
          }
        },
      };
    },
    createSink: ({ options, endpoint, context }) => {
      const storage = storageFor(options.storage);
      const stagingName = `.staging/${context.taskId}/${endpoint.name}`;
      return {
        describe: async () => {
          const existing = storage.get(endpoint.name);
          return existing ? { exists: true, schema: existing.schema } : { exists: false };
        },
        check: async (schema, { mode }) => {
          const existing = storage.get(endpoint.name);
          if (mode === 'append' && existing && existing.schema.fields.length !== schema.fields.length) {
            throw new SchemaMismatchError(
              `Cannot append to memory dataset "${endpoint.name}": it has ${existing.schema.fields.length} columns, the data has ${schema.fields.length}.`,
            );
          }
        },
        open: async (schema, { mode }) => {
          storage.datasets.delete(stagingName);
          const batches: RecordBatch[] = [];
          storage.set(stagingName, schema, batches);
          const staged = () => storage.get(stagingName)!;
          return {
            write: async (batch) => {
              staged().batches.push(batch);
            },
            stage: async () => ({
              ref: { name: stagingName },
              rows: storage.rows(stagingName) ?? 0,
              reader: () => {
                const { schema: stagedSchema, batches: stagedBatches } = staged();
                return {
                  schema: async () => stagedSchema,
                  async *read() {
                    yield* stagedBatches;
                  },
                };
              },
            }),
            publish: async () => {
              const data = staged();
              const existing = storage.get(endpoint.name);
              if (mode === 'append' && existing) {
                const applied = storage.appliedAppends.get(endpoint.name) ?? new Set<string>();
                if (!applied.has(context.taskId)) {
                  storage.set(endpoint.name, existing.schema, [...existing.batches, ...data.batches]);
                  applied.add(context.taskId);
                  storage.appliedAppends.set(endpoint.name, applied);
                }
              } else {
                storage.set(endpoint.name, data.schema, data.batches);
              }
              storage.datasets.delete(stagingName);
              return { ref: { name: endpoint.name } };
            },
            abort: async () => {
              storage.datasets.delete(stagingName);
            },
          };
        },
      };
    },
    createSnapshot: ({ options, endpoint, context }) => {
      const storage = storageFor(options.storage);
      return {
        take: async () => {
          const existing = storage.get(endpoint.name);
          if (!existing) return null;
          const takenAt = new Date().toISOString();
          const name = `.snapshots/${context.taskId}/${takenAt}/${endpoint.name}`;
          storage.set(name, existing.schema, existing.batches);
          return { connector: 'memory', takenAt, name, target: endpoint.name };
        },
        restore: async (ref) => {
          const kept = storage.get(String(ref.name));
          if (!kept) throw new NotFoundError(`Snapshot "${String(ref.name)}" no longer exists.`);
          storage.set(String(ref.target), kept.schema, kept.batches);
        },
        discard: async (ref) => {
          storage.datasets.delete(String(ref.name));
        },
      };
    },
  });
}

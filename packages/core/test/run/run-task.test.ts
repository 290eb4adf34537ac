import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Connector,
  ConnectorRegistry,
  defineConnector,
  HonkError,
  type RunEvent,
  runTask,
  type TaskDefinition,
  TransientError,
} from '../../src/index.ts';
import {
  createMemoryConnector,
  fingerprint,
  MemoryStorage,
  makeTrickyBatches,
  trickySchema,
} from '../../src/testing/index.ts';

function setup(extra: Connector[] = []) {
  const storage = new MemoryStorage();
  const schema = trickySchema();
  storage.set('orders', schema, [...makeTrickyBatches({ rows: 5_000, batchRows: 1_000 })]);
  const registry = new ConnectorRegistry([createMemoryConnector({ default: storage }), ...extra]);
  const task = (overrides: Partial<TaskDefinition> = {}): TaskDefinition => ({
    id: 'orders',
    source: { connector: 'memory', connection: 'legacy', options: {}, endpoint: { name: 'orders' } },
    target: { connector: 'memory', connection: 'lake', options: {}, endpoint: { name: 'orders_copy' } },
    ...overrides,
  });
  return { storage, registry, task, schema };
}

describe('runTask', () => {
  it('copies, validates and publishes, emitting phases in order', async () => {
    const { storage, registry, task, schema } = setup();
    const events: RunEvent[] = [];
    const report = await runTask({ task: task(), connectors: registry, onEvent: (event) => events.push(event) });
    expect(report.ok).toBe(true);
    expect(report.stats.rows).toBe(5_000);
    expect(report.stats.batches).toBe(5);
    expect(report.validation?.ok).toBe(true);
    expect(report.validation?.checks.map((check) => check.name).sort()).toEqual([
      'checksum',
      'row-count',
      'sample',
      'schema',
    ]);
    const phases = events.filter((event) => event.type === 'task-phase').map((event) => event.phase);
    expect(phases).toEqual(['preflight', 'transfer', 'validate', 'publish', 'done']);
    expect(events.some((event) => event.type === 'task-progress' && event.rows === 5_000)).toBe(true);
    expect(storage.rows('orders_copy')).toBe(5_000);
    expect(await fingerprint(schema, storage.get('orders_copy')!.batches)).toEqual(
      await fingerprint(schema, storage.get('orders')!.batches),
    );
    expect(storage.names().filter((name) => name.startsWith('.staging'))).toEqual([]);
  });

  it('snapshots an existing target, hands the ref over before publishing, and keeps it', async () => {
    const { storage, registry, task, schema } = setup();
    storage.set('orders_copy', schema, [...makeTrickyBatches({ rows: 10 })]);
    const refs: unknown[] = [];
    const report = await runTask({
      task: task(),
      connectors: registry,
      onSnapshot: async (ref) => void refs.push(ref),
    });
    expect(report.ok).toBe(true);
    expect(refs).toHaveLength(1);
    expect(report.snapshot).toEqual(refs[0]);
    expect(storage.rows(String((report.snapshot as unknown as { name: string }).name))).toBe(10);
  });

  it('fails at preflight, before any data moves, when the target cannot take the publish mode', async () => {
    const { storage, registry, task } = setup();
    const report = await runTask({
      task: task({
        target: {
          connector: 'memory',
          connection: 'lake',
          options: {},
          endpoint: { name: 'x' },
          mode: 'merge',
          key: ['id'],
        },
      }),
      connectors: registry,
    });
    expect(report.ok).toBe(false);
    expect(report.error?.code).toBe('CAPABILITY_MISSING');
    expect(report.error?.message).toContain('merge');
    expect(report.stats.rows).toBe(0);
    expect(storage.get('x')).toBeUndefined();
  });

  it('names the option path of invalid connector options', async () => {
    const { registry, task } = setup();
    const report = await runTask({
      task: task({
        target: { connector: 'memory', connection: 'lake', options: {}, endpoint: { name: 'x', bogus: 1 } },
      }),
      connectors: registry,
    });
    expect(report.error?.code).toBe('CONFIG_INVALID');
    expect(report.error?.message).toContain('target');
    expect(report.error?.message).toContain('bogus');
  });

  it('reports an unknown connector with the known ones', async () => {
    const { registry, task } = setup();
    const report = await runTask({
      task: task({ source: { connector: 'nope', connection: 'legacy', options: {}, endpoint: {} } }),
      connectors: registry,
    });
    expect(report.error?.code).toBe('CONNECTOR_UNKNOWN');
    expect(report.error?.message).toContain('memory');
  });

  it('a throwing beforePublish (lost lease) publishes nothing and removes staging', async () => {
    const { storage, registry, task } = setup();
    const report = await runTask({
      task: task(),
      connectors: registry,
      beforePublish: async () => {
        throw new TransientError('lease lost', { code: 'LEASE_LOST' });
      },
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'LEASE_LOST', retryable: true });
    expect(storage.get('orders_copy')).toBeUndefined();
    expect(storage.names().filter((name) => name.startsWith('.staging'))).toEqual([]);
  });

  it('a failing source mid-stream aborts the staging and keeps the error code', async () => {
    const flaky = defineConnector({
      specificationVersion: 'v1',
      name: 'flaky',
      optionsSchema: z.object({}).strict(),
      endpointSchema: z.object({}).strict(),
      createSource: () => ({
        schema: async () => trickySchema(),
        async *read(): AsyncGenerator<RecordBatch> {
          yield* makeTrickyBatches({ rows: 2_000, batchRows: 1_000 });
          throw new TransientError('connection reset by peer');
        },
      }),
    });
    const { storage, registry, task } = setup([flaky]);
    const report = await runTask({
      task: task({ source: { connector: 'flaky', connection: 'f', options: {}, endpoint: {} } }),
      connectors: registry,
    });
    expect(report.error).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(storage.get('orders_copy')).toBeUndefined();
    expect(storage.names().filter((name) => name.startsWith('.staging'))).toEqual([]);
  });

  it('applies transforms and validates the transformed stream', async () => {
    const { storage, registry, task } = setup();
    const report = await runTask({
      task: task({ transform: { select: ['id', 'label', 'amount'], rename: { label: 'name' } } }),
      connectors: registry,
    });
    expect(report.ok).toBe(true);
    expect(storage.get('orders_copy')!.schema.fields.map((field) => field.name)).toEqual(['id', 'name', 'amount']);
  });

  it('wraps unexpected connector errors with the connector and operation', async () => {
    const broken = defineConnector({
      specificationVersion: 'v1',
      name: 'broken',
      optionsSchema: z.object({}).strict(),
      endpointSchema: z.object({}).strict(),
      createSource: () => ({
        schema: async () => {
          throw new Error('boom');
        },
        async *read() {},
      }),
    });
    const { registry, task } = setup([broken]);
    const report = await runTask({
      task: task({ source: { connector: 'broken', connection: 'b', options: {}, endpoint: {} } }),
      connectors: registry,
    });
    expect(report.error?.code).toBe('INTERNAL');
    expect(report.error?.message).toContain('"broken"');
    expect(report.error?.message).toContain('schema()');
    expect((report as unknown as { cause: unknown }).cause).toBeInstanceOf(HonkError);
  });
});

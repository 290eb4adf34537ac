/**
 * The `incremental:` block of a task: parsed strictly, refused with `replace` at its path,
 * resolved into the TaskDefinition (the mark key is the spec's task id), part of the
 * definition hash, in the JSON Schema; and enqueued so that a succeeded incremental task runs
 * again while an ordinary one is skipped.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import { specJsonSchema } from '../../src/spec/json-schema.ts';
import { parseSpec } from '../../src/spec/load-spec.ts';
import { resolveSpec, resolveTaskRecord } from '../../src/spec/resolve-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { enqueueTasks } from '../../src/spec/task-inputs.ts';
import { testRegistry } from './spec-fixtures.ts';

const base = (incremental: unknown, target: Record<string, unknown> = { mode: 'merge', key: ['id'] }) => ({
  version: 1,
  connections: { legacy: { connector: 'files', root: '/data' } },
  tasks: [
    {
      id: 'plain',
      source: { connection: 'legacy', path: 'a.csv', format: 'csv' },
      target: { connection: 'legacy', path: 'a.out', format: 'csv' },
    },
    {
      id: 'orders',
      source: { connection: 'legacy', path: 'orders.csv', format: 'csv' },
      target: { connection: 'legacy', path: 'orders.out', format: 'csv', ...target },
      ...(incremental === undefined ? {} : { incremental }),
    },
  ],
});

function issuesOf(input: object): Array<{ path: string; message: string }> {
  try {
    parseSpec(input);
  } catch (error) {
    if (error instanceof SpecError) return error.issues;
    throw error;
  }
  throw new Error('expected a SpecError');
}

describe('incremental in spec files', () => {
  it('resolves into the task definition, with the spec task id as mark key', () => {
    const loaded = parseSpec(base({ cursor: 'updated_at', lag: '5m', fullCheckEvery: 24 }));
    const [, orders] = resolveSpec(loaded, { registry: testRegistry() }).tasks;
    expect(orders!.incremental).toEqual({
      cursor: 'updated_at',
      lagMs: 300_000,
      fullCheckEvery: 24,
      markKey: 'orders',
    });
    // A stored record resolved under a scheduled run's id keeps the task's mark key.
    const record = resolveTaskRecord(orders!.portable, { registry: testRegistry() });
    expect({ ...record, id: 'orders@20270101T000000Z' }.incremental?.markKey).toBe('orders');
  });

  it('refuses replace (also the default) at target.mode, unknown keys, and bad values, each at its path', () => {
    expect(issuesOf(base({ cursor: 'updated_at' }, {}))).toEqual([
      expect.objectContaining({
        path: 'tasks[1].target.mode',
        message: expect.stringMatching(/"append" or "merge", not "replace"/),
      }),
    ]);
    expect(issuesOf(base({ cursor: 'updated_at' }, { mode: 'replace' }))[0]?.path).toBe('tasks[1].target.mode');
    const paths = issuesOf(base({ cursor: '', lag: 'soon', fullCheckEvery: 0, since: 'x' })).map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'tasks[1].incremental.cursor',
        'tasks[1].incremental.lag',
        'tasks[1].incremental.fullCheckEvery',
        'tasks[1].incremental.since',
      ]),
    );
  });

  it('is part of the definition hash and of the JSON Schema', () => {
    const hash = (incremental: unknown) =>
      resolveSpec(parseSpec(base(incremental)), { registry: testRegistry() }).tasks[1]!.definitionHash;
    expect(hash({ cursor: 'updated_at' })).not.toBe(hash(undefined));
    expect(hash({ cursor: 'updated_at' })).not.toBe(hash({ cursor: 'id' }));
    const task = (specJsonSchema() as any).properties.tasks.items;
    const incremental = task.properties.incremental;
    expect(incremental.required).toEqual(['cursor']);
    expect(Object.keys(incremental.properties)).toEqual(['cursor', 'lag', 'fullCheckEvery']);
    expect(incremental.additionalProperties).toBe(false);
  });

  it('enqueues a succeeded incremental task to run again, and leaves an ordinary one succeeded', async () => {
    const store = createMemoryTaskStore();
    const { tasks } = resolveSpec(parseSpec(base({ cursor: 'updated_at' })), { registry: testRegistry() });
    expect((await enqueueTasks(store, tasks)).map((result) => result.outcome)).toEqual(['created', 'created']);
    for (const id of ['plain', 'orders']) {
      const claim = (await store.claim('agent', { leaseMs: 60_000 }))!;
      expect(claim.task.id).toBe(id);
      await store.complete(id, claim.token, {});
    }
    const again = await enqueueTasks(store, tasks);
    expect(again).toEqual([
      { id: 'plain', outcome: 'skipped-succeeded', state: 'succeeded' },
      { id: 'orders', outcome: 'requeued', state: 'pending' },
    ]);
    await store.close();
  });
});

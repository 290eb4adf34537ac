/**
 * runTask under faults, with real connectors written for the test (a source that hangs, a
 * sink whose publish hangs, a source with a bug) against the real file connector: every
 * phase makes progress or times out, deterministic failures are not retried, a dataset
 * without columns never reaches the target, and nothing is left staged.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, type RecordBatch, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Connector,
  ConnectorRegistry,
  defineConnector,
  fileConnector,
  runTask,
  type Sink,
  type SinkWriter,
  type TaskDefinition,
  TransientError,
} from '../../src/index.ts';

function batchOf(ids: number[]): RecordBatch {
  const names = ids.map((id) => `row ${id}`);
  return new Table({ id: vectorFromArray(ids, new Int32()), name: vectorFromArray(names, new Utf8()) }).batches[0]!;
}
const schema = batchOf([1]).schema;

interface SourceBehaviour {
  /** Batches yielded before the behaviour kicks in. */
  batches?: number;
  /** `hang`: wait forever (honouring the signal unless `ignoreSignal`); `bug`: throw a TypeError; `drip`: a batch every 20 ms, forever; `fail`: a TransientError. */
  after: 'hang' | 'bug' | 'drip' | 'fail' | 'end';
  ignoreSignal?: boolean;
  /** Set when the read saw its signal fire. */
  sawAbort?: boolean;
  /** The schema to report (default: id, name). */
  schema?: Schema;
}

/** A real connector whose source behaves as told. */
function scriptedConnector(behaviour: SourceBehaviour): Connector {
  return defineConnector({
    specificationVersion: 'v1',
    name: 'scripted',
    optionsSchema: z.object({}).strict(),
    endpointSchema: z.object({}).strict(),
    createSource: () => ({
      schema: async () => behaviour.schema ?? schema,
      async *read({ signal }) {
        let id = 0;
        for (let index = 0; index < (behaviour.batches ?? 0); index++) yield batchOf([id++, id++]);
        switch (behaviour.after) {
          case 'end':
            return;
          case 'bug': {
            const value = undefined as unknown as { length: number };
            yield batchOf([value.length]);
            return;
          }
          case 'fail':
            throw new TransientError('connection reset by peer');
          case 'drip':
            try {
              while (!signal.aborted) {
                await new Promise((resolve) => setTimeout(resolve, 20));
                yield batchOf([id++]);
              }
            } finally {
              // Closed by the run (return()) or ended by the signal: either way after the abort.
              if (signal.aborted) behaviour.sawAbort = true;
            }
            return;
          case 'hang':
            await new Promise<void>((resolve) => {
              if (behaviour.ignoreSignal) return;
              signal.addEventListener('abort', () => {
                behaviour.sawAbort = true;
                resolve();
              });
            });
            return;
        }
      },
    }),
  });
}

/**
 * The file connector as a target, except that `publish()` never returns (a lock that is
 * never granted) and ignores the signal.
 */
function hangingPublishConnector(calls: { publish: number; abort: number }): Connector {
  return defineConnector({
    ...fileConnector,
    name: 'stuckfile',
    createSink: async (args) => {
      const inner = (await fileConnector.createSink!(args)) as Sink;
      return {
        describe: () => inner.describe(),
        check: (schema, options) => inner.check!(schema, options),
        open: async (schema, options) => {
          const writer = await inner.open(schema, options);
          const wrapped: SinkWriter = {
            write: (batch) => writer.write(batch),
            stage: () => writer.stage(),
            publish: () => {
              calls.publish += 1;
              return new Promise(() => {});
            },
            abort: (reason) => {
              calls.abort += 1;
              return writer.abort(reason);
            },
          };
          return wrapped;
        },
      };
    },
  });
}

function lake(): string {
  return mkdtempSync(join(tmpdir(), 'honk-faults-'));
}

function setup(source: Connector, extra: Connector[] = []) {
  const root = lake();
  const registry = new ConnectorRegistry([fileConnector, source, ...extra]);
  const task = (overrides: Partial<TaskDefinition> = {}): TaskDefinition => ({
    id: 'orders',
    source: { connector: source.name, connection: 'origin', options: {}, endpoint: {} },
    target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'orders.arrow' } },
    ...overrides,
  });
  return { root, registry, task };
}

/** Publishes a known good target first, so the tests can check it survives. */
async function publishGoodTarget(root: string): Promise<Buffer> {
  const good = scriptedConnector({ batches: 3, after: 'end' });
  const registry = new ConnectorRegistry([fileConnector, good]);
  const report = await runTask({
    task: {
      id: 'seed',
      source: { connector: 'scripted', connection: 'origin', options: {}, endpoint: {} },
      target: { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'orders.arrow' } },
      snapshot: { enabled: false },
    },
    connectors: registry,
  });
  expect(report.ok, JSON.stringify(report.error)).toBe(true);
  return readFileSync(join(root, 'orders.arrow'));
}

function leftovers(root: string): string[] {
  return readdirSync(root).filter((name) => name.startsWith('.honk-'));
}

describe('runTask: deterministic failures', () => {
  it('does not retry a TypeError thrown by a connector, and names the connector and operation', async () => {
    const { registry, task, root } = setup(scriptedConnector({ batches: 2, after: 'bug' }));
    const report = await runTask({ task: task(), connectors: registry });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(report.error?.message).toContain('Connector "scripted" failed in read()');
    expect(report.error?.message).toContain('TypeError');
    expect(report.error?.details).toMatchObject({ connector: 'scripted', operation: 'read()' });
    expect(existsSync(join(root, 'orders.arrow'))).toBe(false);
    expect(leftovers(root)).toEqual([]);
  });

  it('refuses a source without columns at preflight: nothing staged, the good target untouched', async () => {
    const { registry, task, root } = setup(scriptedConnector({ after: 'end', schema: new Schema([]) }));
    const before = await publishGoodTarget(root);
    const phases: string[] = [];
    const report = await runTask({
      task: task(),
      connectors: registry,
      onEvent: (event) => {
        if (event.type === 'task-phase') phases.push(event.phase);
      },
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'SCHEMA_MISMATCH', retryable: false });
    expect(report.error?.message).toContain('no columns');
    expect(report.error?.message).toContain('connection "origin" (connector "scripted")');
    expect(phases).toEqual(['preflight', 'done']);
    expect(readFileSync(join(root, 'orders.arrow'))).toEqual(before);
    expect(leftovers(root)).toEqual([]);
  });
});

describe('runTask: every phase makes progress or times out', () => {
  it('aborts a source whose read never yields after the task idleTimeout, through its signal', async () => {
    const behaviour: SourceBehaviour = { batches: 1, after: 'hang' };
    const { registry, task, root } = setup(scriptedConnector(behaviour));
    const before = await publishGoodTarget(root);
    let handedOver = 0;
    const report = await runTask({
      task: task({ idleTimeoutMs: 300 }),
      connectors: registry,
      // The task's own limit wins over the runner's default.
      idleTimeoutMs: 600_000,
      onSnapshot: async () => {
        handedOver += 1;
      },
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'TIMED_OUT', retryable: true, name: 'TimedOutError' });
    expect(report.error?.details).toMatchObject({ phase: 'transfer', limit: 'idle', limitMs: 300 });
    expect(report.error?.message).toContain('phase "transfer"');
    expect(report.error?.message).toContain('connector "scripted" read()');
    expect((report.error?.details?.elapsedMs as number) >= 300).toBe(true);
    expect(behaviour.sawAbort).toBe(true);
    // Nothing published, staging removed, and the snapshot of the unchanged target discarded.
    expect(readFileSync(join(root, 'orders.arrow'))).toEqual(before);
    expect(leftovers(root)).toEqual([]);
    expect(handedOver).toBe(0);
    expect(report.snapshot).toBeNull();
  });

  it('does not wait for a source that ignores its signal', async () => {
    const behaviour: SourceBehaviour = { after: 'hang', ignoreSignal: true };
    const { registry, task, root } = setup(scriptedConnector(behaviour));
    const report = await runTask({ task: task(), connectors: registry, idleTimeoutMs: 250 });
    expect(report.error).toMatchObject({ code: 'TIMED_OUT', details: { phase: 'transfer', limit: 'idle' } });
    expect(behaviour.sawAbort).toBeUndefined();
    expect(existsSync(join(root, 'orders.arrow'))).toBe(false);
    expect(leftovers(root)).toEqual([]);
  });

  it('abandons a publish that hangs: staging removed, no rollback under it, the old target intact', async () => {
    const calls = { publish: 0, abort: 0 };
    const { registry, task, root } = setup(scriptedConnector({ batches: 2, after: 'end' }), [
      hangingPublishConnector(calls),
    ]);
    const before = await publishGoodTarget(root);
    const report = await runTask({
      task: task({
        target: { connector: 'stuckfile', connection: 'lake', options: { root }, endpoint: { path: 'orders.arrow' } },
        idleTimeoutMs: 300,
      }),
      connectors: registry,
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'TIMED_OUT', details: { phase: 'publish', limit: 'idle' } });
    expect(report.error?.message).toContain('connector "stuckfile" publish()');
    expect(report.error?.message).toContain('whether the publish took effect is unknown');
    expect(report.validation?.ok).toBe(true);
    expect(calls).toEqual({ publish: 1, abort: 1 });
    expect(report.restored).toBe(false);
    // A publish may have been made over the snapshot, so it is kept for a rollback by hand.
    expect(report.snapshot).toMatchObject({ connector: 'file' });
    expect(readFileSync(join(root, 'orders.arrow'))).toEqual(before);
    expect(leftovers(root)).toEqual(['.honk-snapshots']);
  });

  it('ends a run that keeps making progress when it exceeds its overall timeout', async () => {
    const behaviour: SourceBehaviour = { after: 'drip' };
    const { registry, task, root } = setup(scriptedConnector(behaviour));
    const report = await runTask({ task: task({ timeoutMs: 400 }), connectors: registry, idleTimeoutMs: 60_000 });
    expect(report.error).toMatchObject({
      code: 'TIMED_OUT',
      details: { phase: 'transfer', limit: 'total', limitMs: 400 },
    });
    expect(report.error?.message).toContain('ran longer than its timeout');
    expect(report.stats.rows).toBe(0);
    expect(behaviour.sawAbort).toBe(true);
    expect(leftovers(root)).toEqual([]);
  });
});

describe('runTask: snapshots of attempts that never publish', () => {
  it('discards the snapshot when the attempt fails before publishing, and never hands it over', async () => {
    const { registry, task, root } = setup(scriptedConnector({ batches: 1, after: 'fail' }));
    const before = await publishGoodTarget(root);
    const refs: unknown[] = [];
    const report = await runTask({
      task: task(),
      connectors: registry,
      onSnapshot: async (ref) => void refs.push(ref),
    });
    expect(report.error).toMatchObject({ code: 'TRANSIENT' });
    expect(refs).toEqual([]);
    expect(report.snapshot).toBeNull();
    expect(readFileSync(join(root, 'orders.arrow'))).toEqual(before);
    expect(leftovers(root)).toEqual([]);
  });

  it('hands the snapshot over right before publishing when the attempt publishes', async () => {
    const { registry, task, root } = setup(scriptedConnector({ batches: 2, after: 'end' }));
    await publishGoodTarget(root);
    const order: string[] = [];
    const report = await runTask({
      task: task(),
      connectors: registry,
      onEvent: (event) => {
        if (event.type === 'task-phase') order.push(event.phase);
      },
      onSnapshot: async () => void order.push('onSnapshot'),
      beforePublish: async () => void order.push('beforePublish'),
    });
    expect(report.ok).toBe(true);
    expect(order).toEqual([
      'preflight',
      'snapshot',
      'transfer',
      'validate',
      'publish',
      'onSnapshot',
      'beforePublish',
      'done',
    ]);
    const snapshots = readdirSync(join(root, '.honk-snapshots'), { recursive: true, withFileTypes: true });
    expect(snapshots.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual(['orders.arrow']);
  });
});

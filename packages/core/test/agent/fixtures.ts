/**
 * Test fixtures for agent tests: Arrow batches built from typed arrays, and a `faulty`
 * connector — the real in-memory connector whose source can be told to fail (transient,
 * auth) or to hold its read at a gate the test opens. It is a real Connector, not a mock.
 */
import { Field, Int32, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import type { Connector } from '../../src/connector/connector.ts';
import { defineConnector } from '../../src/connector/connector.ts';
import { ConnectorRegistry } from '../../src/connector/connector-registry.ts';
import { AbortedError, AuthError, TransientError } from '../../src/errors/honk-error.ts';
import type { HonkEventMap, HonkEventName, HonkEvents } from '../../src/observe/events.ts';
import type { TaskInput } from '../../src/queue/task-store.ts';
import type { TaskDefinition } from '../../src/run/task-definition.ts';
import { createMemoryConnector, MemoryStorage } from '../../src/testing/memory-connector.ts';

export const schema = new Schema([new Field('id', new Int32(), false)]);

/** One batch of `rows` ids starting at `offset`. */
export function makeBatch(rows: number, offset = 0): RecordBatch {
  const values = new Int32Array(rows);
  for (let index = 0; index < rows; index += 1) values[index] = offset + index;
  const column = makeData({ type: new Int32(), length: rows, nullCount: 0, data: values });
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children: [column] }),
  );
}

/** How the faulty source behaves for one dataset. */
export interface Fault {
  /** Throw a TransientError on the first N reads (Infinity: always). */
  transient?: number;
  /** Throw AuthError when the source is created. */
  auth?: boolean;
  /** Hold the read until this promise resolves (honouring the abort signal). */
  gate?: Promise<void>;
  /** Called when a read reaches the gate. */
  onGate?: () => void;
  /** Reads started so far. */
  reads?: number;
}

/** A gate a test opens by hand. */
export function createGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export function createFaultyConnector(storage: MemoryStorage, faults: Map<string, Fault>): Connector {
  const inner = createMemoryConnector({ default: storage }, 'faulty');
  return defineConnector({
    ...inner,
    createSource: async (args) => {
      const fault = faults.get(args.endpoint.name) ?? {};
      if (fault.auth) {
        throw new AuthError(`Connection "${args.context.connectionName}" rejected the credentials.`, {
          details: { connection: args.context.connectionName },
        });
      }
      const source = await inner.createSource!(args);
      return {
        ...source,
        async *read(options) {
          fault.reads = (fault.reads ?? 0) + 1;
          if (fault.reads <= (fault.transient ?? 0)) throw new TransientError('connection reset by peer (injected)');
          if (fault.gate) {
            fault.onGate?.();
            await new Promise<void>((resolve, reject) => {
              const onAbort = () => reject(options.signal.reason ?? new AbortedError());
              if (options.signal.aborted) return onAbort();
              options.signal.addEventListener('abort', onAbort, { once: true });
              void fault.gate!.then(() => {
                options.signal.removeEventListener('abort', onAbort);
                resolve();
              });
            });
          }
          yield* source.read(options);
        },
      };
    },
  });
}

/** Storage, faults and a registry with `memory` and `faulty` connectors over the same storage. */
export function createWorld() {
  const storage = new MemoryStorage();
  const faults = new Map<string, Fault>();
  const connectors = new ConnectorRegistry([
    createMemoryConnector({ default: storage }),
    createFaultyConnector(storage, faults),
  ]);
  return { storage, faults, connectors };
}

/** A TaskDefinition copying dataset `input` (via the faulty connector) to `out-<id>`. */
export function definition(
  id: string,
  input: string,
  extra: Partial<TaskDefinition> & { sourceConnection?: string } = {},
): TaskDefinition {
  const { sourceConnection = 'src', ...rest } = extra;
  return {
    id,
    source: { connector: 'faulty', connection: sourceConnection, options: {}, endpoint: { name: input } },
    target: { connector: 'memory', connection: 'dst', options: {}, endpoint: { name: `out-${id}` } },
    ...rest,
  };
}

/** A TaskInput for a definition, with connections filled in. */
export function taskInput(def: TaskDefinition, extra: Partial<TaskInput> = {}): TaskInput {
  return {
    id: def.id,
    definition: def as unknown as TaskInput['definition'],
    connections: [def.source.connection, def.target.connection],
    ...extra,
  };
}

/** Collects every event of the given names. */
export function record<Names extends HonkEventName>(events: HonkEvents, ...names: Names[]) {
  const seen: Array<{ name: Names; payload: HonkEventMap[Names] }> = [];
  for (const name of names) events.on(name, (payload) => seen.push({ name, payload }));
  return seen;
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` (a hang guard, not a timing assertion). */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

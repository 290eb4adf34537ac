/**
 * Conformance suites every connector runs: `testSource`, `testSink`, `testSnapshot`.
 * A connector's conformance test is a few lines:
 *
 * @example
 * import { testSink, testSource, testSnapshot } from '@honk/core/testing';
 * const suite = { connector: fileConnector, options: () => ({ root }), endpoint: (name) => ({ path: `${name}.parquet` }) };
 * testSource(suite); testSink(suite); testSnapshot(suite);
 *
 * The suites move data through the real engine (`runTask`) between the connector under test
 * and an in-memory connector, then read the target back through the connector's own source
 * and compare order-independent checksums with what was sent. Equality is by value: a
 * connector may store a value in another physical type (timestamp[ms] as [us], a zone
 * normalised to UTC) as long as the value is the same.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Connector, Json, SinkWriter, SnapshotRef } from '../connector/connector.ts';
import { capabilitiesOf, defineConnector } from '../connector/connector.ts';
import { ConnectorRegistry } from '../connector/connector-registry.ts';
import { guardSink, guardSnapshot, guardSource } from '../connector/guard.ts';
import { isHonkError } from '../errors/honk-error.ts';
import { runTask } from '../run/run-task.ts';
import type { TaskDefinition } from '../run/task-definition.ts';
import type { TaskReport } from '../run/task-report.ts';
import { checksumValidator } from '../validate/index.ts';
import { sharedWorkerPool } from '../workers/worker-pool.ts';
import { createMemoryConnector, MemoryStorage } from './memory-connector.ts';
import { settledMemoryGrowth } from './memory-growth.ts';
import { makeTrickyBatch, makeTrickyBatches, trickySchema } from './tricky-data.ts';

export interface ConformanceFeatures {
  /** The connector stores list columns. Default true. */
  lists?: boolean;
  /** The connector stores binary columns. Default true. */
  binary?: boolean;
  /** Rows for the bounded-memory case (each ≈ 0.5 KB wide). Default 700,000 (≈ 340 MB of Arrow data). */
  largeRows?: number;
  /** Allowed growth of settled resident memory (after garbage collection, see memory-growth.ts) during the large transfer. Default 192 MiB. */
  memoryBudgetBytes?: number;
}

export interface ConformanceOptions<Options, Endpoint> {
  /** Suite title; default the connector name. */
  name?: string;
  connector: Connector<Options, Endpoint>;
  /** Connection options (may start or reach a server). */
  options: () => Options | Promise<Options>;
  /** A fresh, unique endpoint for a test case (a file path, a table name, a prefix …). */
  endpoint: (caseName: string) => Endpoint | Promise<Endpoint>;
  features?: ConformanceFeatures;
  /** Per-test timeout in ms. Default 180,000. */
  timeoutMs?: number;
}

const generatorEndpoint = z
  .object({
    rows: z.number().int().min(0),
    batchRows: z.number().int().min(1),
    lists: z.boolean(),
    binary: z.boolean(),
    padding: z.number().int().min(0).optional(),
  })
  .strict();

/** A source connector that generates tricky rows lazily, so large cases use no memory to hold input. */
const generatorConnector = defineConnector({
  specificationVersion: 'v1',
  name: 'conformance-generator',
  optionsSchema: z.object({}).strict(),
  endpointSchema: generatorEndpoint,
  createSource: ({ endpoint }) => ({
    schema: async () => trickySchema(endpoint),
    async *read() {
      yield* makeTrickyBatches(endpoint);
    },
  }),
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Delegates every writer method, so wrappers work with class instances as well as objects. */
export function delegate(writer: SinkWriter, overrides: Partial<SinkWriter>): SinkWriter {
  return {
    write: overrides.write ?? ((batch) => writer.write(batch)),
    stage: overrides.stage ?? (() => writer.stage()),
    publish: overrides.publish ?? (() => writer.publish()),
    abort: overrides.abort ?? ((reason) => writer.abort(reason)),
  };
}

/** A connector wrapping another one's sink writer, to inject faults through the real engine. */
export function faulty<O, E>(connector: Connector<O, E>, wrap: (writer: SinkWriter) => SinkWriter): Connector<O, E> {
  return {
    ...connector,
    name: `${connector.name}-faulty`,
    async createSink(args) {
      const sink = await connector.createSink!(args);
      return {
        describe: () => sink.describe(),
        ...(sink.check ? { check: (schema, options) => sink.check!(schema, options) } : {}),
        open: async (schema, options) => wrap(await sink.open(schema, options)),
        ...(sink.incrementalMark ? { incrementalMark: (key: string) => sink.incrementalMark!(key) } : {}),
        ...(sink.close ? { close: () => sink.close!() } : {}),
      };
    },
  };
}

/** Order-independent summary of a dataset: row count + checksum (see the checksum validator). */
export async function fingerprint(
  schema: Schema,
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
): Promise<Json> {
  const accumulator = checksumValidator().accumulator(schema);
  for await (const batch of batches) accumulator.observe(batch);
  return accumulator.result();
}

/** What a conformance case works with: the registry (connector under test, memory, generator), tasks, read-back. */
export interface Harness<O, E> {
  registry: ConnectorRegistry;
  storage: MemoryStorage;
  options: O;
  task(id: string, from: Side, to: Side, extra?: Partial<TaskDefinition>): TaskDefinition;
  /** Reads an endpoint of the connector under test back; null when it does not exist. */
  readBack(endpoint: E, caseName: string): Promise<{ rows: number; fingerprint: Json } | null>;
}

export type Side = { connector: string; endpoint: Record<string, unknown> };

function features(options: ConformanceOptions<unknown, unknown>) {
  return {
    lists: options.features?.lists ?? true,
    binary: options.features?.binary ?? true,
    largeRows: options.features?.largeRows ?? 700_000,
    memoryBudgetBytes: options.features?.memoryBudgetBytes ?? 192 * 1024 * 1024,
  };
}

/** Sets up a {@link Harness} for one case; `extra` connectors (faulty wrappers) join the registry. */
export async function harness<O, E>(suite: ConformanceOptions<O, E>, extra: Connector[] = []): Promise<Harness<O, E>> {
  const storage = new MemoryStorage();
  const memory = createMemoryConnector({ default: storage });
  const registry = new ConnectorRegistry([suite.connector as Connector, memory, generatorConnector, ...extra]);
  const options = await suite.options();
  const signal = new AbortController().signal;
  const logger = quiet;
  const optionsFor = (connector: string) =>
    (connector === suite.connector.name || connector.startsWith(`${suite.connector.name}-`) ? options : {}) as Record<
      string,
      unknown
    >;
  return {
    registry,
    storage,
    options,
    task: (id, from, to, rest = {}) => ({
      id,
      source: {
        connector: from.connector,
        connection: from.connector,
        options: optionsFor(from.connector),
        endpoint: from.endpoint,
      },
      target: {
        connector: to.connector,
        connection: to.connector,
        options: optionsFor(to.connector),
        endpoint: to.endpoint,
      },
      validate: { rowCount: true, checksum: true, sample: 50, schema: false },
      ...rest,
    }),
    readBack: async (endpoint, caseName) => {
      const context = { taskId: `readback-${caseName}`, connectionName: 'under-test', signal, logger };
      const raw = await suite.connector.createSink!({ options, endpoint, context });
      const sink = guardSink(suite.connector.name, raw);
      const description = await sink.describe();
      await sink.close?.();
      if (!description.exists) return null;
      const source = guardSource(
        suite.connector.name,
        await suite.connector.createSource!({ options, endpoint, context }),
      );
      try {
        const schema = await source.schema();
        let rows = 0;
        async function* counted() {
          for await (const batch of source.read({ signal, batchRows: 10_000 })) {
            rows += batch.numRows;
            yield batch;
          }
        }
        const summary = await fingerprint(schema, counted());
        return { rows, fingerprint: summary };
      } finally {
        await source.close?.();
      }
    },
  };
}

export function expectOk(report: TaskReport): void {
  if (!report.ok) throw new Error(`Task ${report.taskId} failed: ${report.error?.code} ${report.error?.message}`);
}

/** Writes tricky rows into a fresh endpoint of the connector under test; returns what was sent. */
async function seed<O, E>(
  h: Harness<O, E>,
  suite: ConformanceOptions<O, E>,
  caseName: string,
  rows: number,
  batchRows = 1000,
) {
  const f = features(suite as ConformanceOptions<unknown, unknown>);
  const endpoint = await suite.endpoint(caseName);
  const generator = { rows, batchRows, lists: f.lists, binary: f.binary };
  const report = await runTask({
    task: h.task(
      `seed-${caseName}`,
      { connector: 'conformance-generator', endpoint: generator },
      {
        connector: suite.connector.name,
        endpoint: endpoint as Record<string, unknown>,
      },
    ),
    connectors: h.registry,
  });
  expectOk(report);
  const expected = await fingerprint(trickySchema(generator), makeTrickyBatches(generator));
  return { endpoint, expected, generator };
}

export function testSource<O, E>(suite: ConformanceOptions<O, E>): void {
  const title = `${suite.name ?? suite.connector.name} source conformance`;
  const timeout = suite.timeoutMs ?? 180_000;
  describe(title, () => {
    it('reads back every tricky type exactly, in batches near batchRows', { timeout }, async () => {
      const h = await harness(suite);
      const { endpoint, expected } = await seed(h, suite, 'source-types', 2_345, 500);
      const source = guardSource(
        suite.connector.name,
        await suite.connector.createSource!({
          options: h.options,
          endpoint,
          context: { taskId: 't', connectionName: 'c', signal: new AbortController().signal, logger: quiet },
        }),
      );
      const schema = await source.schema();
      const batches: RecordBatch[] = [];
      for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 1000 }))
        batches.push(batch);
      await source.close?.();
      expect(batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(2_345);
      expect(batches.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...batches.map((batch) => batch.numRows))).toBeLessThanOrEqual(65_536);
      expect(await fingerprint(schema, batches)).toEqual(expected);
    });

    it('count() matches when count pushdown is declared', { timeout }, async () => {
      const h = await harness(suite);
      const { endpoint } = await seed(h, suite, 'source-count', 777);
      const source = await suite.connector.createSource!({
        options: h.options,
        endpoint,
        context: { taskId: 't', connectionName: 'c', signal: new AbortController().signal, logger: quiet },
      });
      if (capabilitiesOf(suite.connector).countPushdown) {
        expect(source.count).toBeTypeOf('function');
        expect(await source.count!()).toBe(777);
      } else {
        expect(await source.schema()).toBeDefined();
      }
      await source.close?.();
    });

    it('stopping a read early releases it, and a new read starts from the beginning', { timeout }, async () => {
      const h = await harness(suite);
      const { endpoint, expected } = await seed(h, suite, 'source-early-stop', 5_000, 500);
      const context = { taskId: 't', connectionName: 'c', signal: new AbortController().signal, logger: quiet };
      const source = guardSource(
        suite.connector.name,
        await suite.connector.createSource!({ options: h.options, endpoint, context }),
      );
      for await (const batch of source.read({ signal: context.signal, batchRows: 500 })) {
        expect(batch.numRows).toBeGreaterThan(0);
        break;
      }
      const controller = new AbortController();
      let seen = 0;
      await expect(
        (async () => {
          for await (const batch of source.read({ signal: controller.signal, batchRows: 500 })) {
            seen += batch.numRows;
            controller.abort();
          }
        })(),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      expect(seen).toBeGreaterThan(0);
      const schema = await source.schema();
      expect(await fingerprint(schema, source.read({ signal: context.signal, batchRows: 500 }))).toEqual(expected);
      await source.close?.();
    });

    it('a missing dataset is a NotFoundError naming it', { timeout }, async () => {
      const h = await harness(suite);
      const endpoint = await suite.endpoint('source-missing');
      const report = await runTask({
        task: h.task(
          'missing',
          { connector: suite.connector.name, endpoint: endpoint as Record<string, unknown> },
          {
            connector: 'memory',
            endpoint: { name: 'never' },
          },
        ),
        connectors: h.registry,
      });
      expect(report.ok).toBe(false);
      expect(report.error?.code).toBe('NOT_FOUND');
      expect(h.storage.get('never')).toBeUndefined();
    });
  });
}

export function testSink<O, E>(suite: ConformanceOptions<O, E>): void {
  const title = `${suite.name ?? suite.connector.name} sink conformance`;
  const timeout = suite.timeoutMs ?? 180_000;
  describe(title, () => {
    for (const [caseName, rows, batchRows] of [
      ['sink-types', 3_000, 1_000],
      ['sink-empty', 0, 1_000],
      ['sink-one-row', 1, 1_000],
      ['sink-many-batches', 20_000, 317],
    ] as const) {
      it(`${caseName}: ${rows} rows in batches of ${batchRows} arrive exactly and validated`, { timeout }, async () => {
        const h = await harness(suite);
        const { endpoint, expected } = await seed(h, suite, caseName, rows, batchRows);
        const back = await h.readBack(endpoint, caseName);
        expect(back).not.toBeNull();
        expect(back!.rows).toBe(rows);
        expect(back!.fingerprint).toEqual(expected);
      });
    }

    it('moves a large dataset with bounded memory', { timeout: Math.max(timeout, 600_000) }, async () => {
      const f = features(suite as ConformanceOptions<unknown, unknown>);
      const h = await harness(suite);
      const endpoint = await suite.endpoint('sink-large');
      const generator = { rows: f.largeRows, batchRows: 16_384, lists: f.lists, binary: f.binary, padding: 384 };
      // Warm up on a tenth of the data first, with every worker thread started, so one-off
      // growth (code, threads, pools, wasm memory) is in the baseline and what is measured is
      // growth with the dataset's size.
      await sharedWorkerPool().prewarm(['validation', 'raw-validation', 'parquet']);
      const warmUpRows = Math.ceil(generator.rows / 10);
      const warmUp = await runTask({
        task: h.task(
          'large-warm-up',
          { connector: 'conformance-generator', endpoint: { ...generator, rows: warmUpRows } },
          {
            connector: suite.connector.name,
            endpoint: (await suite.endpoint('sink-large-warm-up')) as Record<string, unknown>,
          },
        ),
        connectors: h.registry,
      });
      expectOk(warmUp);
      let arrowBytes = 0;
      const { value: report, growth } = await settledMemoryGrowth(() =>
        runTask({
          task: h.task(
            'large',
            { connector: 'conformance-generator', endpoint: generator },
            {
              connector: suite.connector.name,
              endpoint: endpoint as Record<string, unknown>,
            },
          ),
          connectors: h.registry,
          progressIntervalMs: 0,
          onEvent: (event) => {
            if (event.type === 'task-progress') arrowBytes = event.bytes;
          },
        }),
      );
      expectOk(report);
      expect(report.stats.rows).toBe(f.largeRows);
      expect(report.validation?.ok).toBe(true);
      // The dataset is well beyond the budget, so passing proves memory does not grow with it.
      expect(arrowBytes).toBeGreaterThan(f.memoryBudgetBytes * 1.5);
      expect(growth).toBeLessThan(f.memoryBudgetBytes);
    });

    it('an aborted run publishes nothing and leaves the previous target intact', { timeout }, async () => {
      const h = await harness(suite);
      const { endpoint, expected } = await seed(h, suite, 'sink-abort', 1_000);
      const controller = new AbortController();
      const generator = {
        rows: 200_000,
        batchRows: 1_000,
        lists: features(suite as never).lists,
        binary: features(suite as never).binary,
      };
      const report = await runTask({
        task: h.task(
          'abort',
          { connector: 'conformance-generator', endpoint: generator },
          {
            connector: suite.connector.name,
            endpoint: endpoint as Record<string, unknown>,
          },
        ),
        connectors: h.registry,
        signal: controller.signal,
        progressIntervalMs: 0,
        onEvent: (event) => {
          if (event.type === 'task-progress' && event.rows >= 5_000) controller.abort();
        },
      });
      expect(report.ok).toBe(false);
      expect(report.error?.code).toBe('ABORTED');
      const back = await h.readBack(endpoint, 'sink-abort');
      expect(back).toEqual({ rows: 1_000, fingerprint: expected });
    });

    it('re-running the same task gives the same target, never duplicates', { timeout }, async () => {
      const h = await harness(suite);
      const first = await seed(h, suite, 'sink-rerun', 2_500);
      const second = await seed(h, suite, 'sink-rerun', 2_500);
      expect(second.expected).toEqual(first.expected);
      const back = await h.readBack(first.endpoint, 'sink-rerun');
      expect(back).toEqual({ rows: 2_500, fingerprint: first.expected });
    });

    it('a corrupted staged row is caught by validation and nothing is published', { timeout }, async () => {
      const corrupt = (writer: SinkWriter): SinkWriter => {
        let done = false;
        return delegate(writer, {
          write: async (batch) => {
            if (!done) {
              done = true;
              // Drop the first row of the first batch: the staged data now differs from the stream.
              return writer.write(batch.slice(1));
            }
            return writer.write(batch);
          },
        });
      };
      const broken = faulty(suite.connector as Connector, corrupt);
      const h = await harness(suite, [broken]);
      const endpoint = await suite.endpoint('sink-corrupt');
      const f = features(suite as never);
      const report = await runTask({
        task: h.task(
          'corrupt',
          {
            connector: 'conformance-generator',
            endpoint: { rows: 3_000, batchRows: 1_000, lists: f.lists, binary: f.binary },
          },
          { connector: broken.name, endpoint: endpoint as Record<string, unknown> },
        ),
        connectors: h.registry,
      });
      expect(report.ok).toBe(false);
      expect(report.error).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
      expect(report.validation?.ok).toBe(false);
      expect(await h.readBack(endpoint, 'sink-corrupt')).toBeNull();
    });
  });
}

export function testSnapshot<O, E>(suite: ConformanceOptions<O, E>): void {
  const title = `${suite.name ?? suite.connector.name} snapshot conformance`;
  const timeout = suite.timeoutMs ?? 180_000;
  describe(title, () => {
    it('declares the snapshot capability and provides createSnapshot', () => {
      expect(capabilitiesOf(suite.connector).snapshot).toBe(true);
      expect(suite.connector.createSnapshot).toBeTypeOf('function');
    });

    it('take() of a missing target is null', { timeout }, async () => {
      const h = await harness(suite);
      const endpoint = await suite.endpoint('snapshot-missing');
      const context = {
        taskId: 'snap-missing',
        connectionName: 'c',
        signal: new AbortController().signal,
        logger: quiet,
      };
      const snapshot = guardSnapshot(
        suite.connector.name,
        await suite.connector.createSnapshot!({ options: h.options, endpoint, context }),
      );
      expect(await snapshot.take()).toBeNull();
    });

    it('restore brings the old target back after a newer publish; discard removes the snapshot', {
      timeout,
    }, async () => {
      const h = await harness(suite);
      const old = await seed(h, suite, 'snapshot-restore', 1_200);
      const context = { taskId: 'snap', connectionName: 'c', signal: new AbortController().signal, logger: quiet };
      const snapshot = guardSnapshot(
        suite.connector.name,
        await suite.connector.createSnapshot!({ options: h.options, endpoint: old.endpoint, context }),
      );
      const ref = await snapshot.take();
      expect(ref).not.toBeNull();
      expect(JSON.parse(JSON.stringify(ref))).toEqual(ref);
      // Publish a different version over it.
      const newer = await seed(h, suite, 'snapshot-restore', 300);
      expect(newer.expected).not.toEqual(old.expected);
      expect((await h.readBack(old.endpoint, 'snapshot-restore'))?.rows).toBe(300);
      await snapshot.restore(ref as SnapshotRef);
      expect(await h.readBack(old.endpoint, 'snapshot-restore')).toEqual({ rows: 1_200, fingerprint: old.expected });
      await snapshot.discard(ref as SnapshotRef);
      await expect(snapshot.restore(ref as SnapshotRef)).rejects.toSatisfy(isHonkError);
    });

    it('a failure during publish rolls back to the snapshot', { timeout }, async () => {
      const failingPublish = (writer: SinkWriter): SinkWriter =>
        delegate(writer, {
          publish: async () => {
            await writer.publish();
            throw new Error('simulated crash right after publish');
          },
        });
      const broken = faulty(suite.connector as Connector, failingPublish);
      const h = await harness(suite, [broken]);
      const old = await seed(h, suite, 'snapshot-rollback', 900);
      const f = features(suite as never);
      const report = await runTask({
        task: h.task(
          'rollback',
          {
            connector: 'conformance-generator',
            endpoint: { rows: 100, batchRows: 100, lists: f.lists, binary: f.binary },
          },
          { connector: broken.name, endpoint: old.endpoint as Record<string, unknown> },
          { snapshot: { enabled: true } },
        ),
        connectors: h.registry,
      });
      expect(report.ok).toBe(false);
      expect(report.restored).toBe(true);
      expect(report.snapshot).toBeTruthy();
      expect(await h.readBack(old.endpoint, 'snapshot-rollback')).toEqual({ rows: 900, fingerprint: old.expected });
    });
  });
}

export { makeTrickyBatch };

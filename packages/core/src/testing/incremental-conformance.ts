/**
 * The conformance suite of incremental tasks (`incrementalRead` + `incrementalCommit`, see
 * connector/incremental-mark.ts), for a connector that is source and target of the task:
 *
 * @example
 * testIncremental({ connector: postgresConnector, options: () => ({ url }), endpoint: (name) => ({ table: name }) });
 *
 * Rows (`id int64`, `at timestamp[us, UTC]` the cursor, `v utf8`) are written into the
 * connector from memory (merge on `id`), an incremental task copies them to a second
 * endpoint (merge on `id`), and the target is read back through the connector's own source
 * and compared with the source by row count and order-independent checksum. A connector
 * without the capabilities gets one case: incremental tasks are refused before data moves.
 */
import { Field, Int64, makeData, RecordBatch, Schema, Struct, TimestampMicrosecond, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { Connector } from '../connector/connector.ts';
import { capabilitiesOf } from '../connector/connector.ts';
import { TransientError } from '../errors/honk-error.ts';
import { runTask } from '../run/run-task.ts';
import type { TaskDefinition } from '../run/task-definition.ts';
import type { TaskReport } from '../run/task-report.ts';
import { type ConformanceOptions, delegate, expectOk, faulty, type Harness, harness } from './conformance.ts';

const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('at', new TimestampMicrosecond('UTC'), false),
  new Field('v', new Utf8(), true),
]);

/** Microseconds of 2026-01-01T00:00:00Z. */
const EPOCH = 1_767_225_600_000_000n;

/** One batch of rows `[id, seconds after EPOCH, text]`. */
function rowsBatch(rows: ReadonlyArray<readonly [number, number, string]>): RecordBatch {
  const length = rows.length;
  const ids = BigInt64Array.from(rows.map(([id]) => BigInt(id)));
  const ats = BigInt64Array.from(rows.map(([, seconds]) => EPOCH + BigInt(seconds) * 1_000_000n));
  const encoder = new TextEncoder();
  const texts = rows.map(([, , text]) => encoder.encode(text));
  const offsets = new Int32Array(length + 1);
  texts.forEach((text, i) => {
    offsets[i + 1] = offsets[i]! + text.length;
  });
  const bytes = new Uint8Array(offsets[length]!);
  for (const [i, text] of texts.entries()) bytes.set(text, offsets[i]!);
  const children = [
    makeData({ type: new Int64(), length, data: ids }),
    makeData({ type: new TimestampMicrosecond('UTC'), length, data: ats }),
    makeData({ type: new Utf8(), length, data: bytes, valueOffsets: offsets }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function range(from: number, to: number, seconds: (id: number) => number, text: (id: number) => string) {
  return Array.from({ length: to - from + 1 }, (_, k) => [from + k, seconds(from + k), text(from + k)] as const);
}

interface Case<O, E> {
  h: Harness<O, E>;
  source: E;
  target: E;
  /** Merges rows into the source endpoint (insert or update by id). */
  upsert(rows: ReadonlyArray<readonly [number, number, string]>): Promise<void>;
  incremental(): TaskDefinition;
  /** Target equals source (read back by the connector's own source). */
  expectSame(): Promise<void>;
}

async function setUp<O, E>(
  suite: ConformanceOptions<O, E>,
  name: string,
  extra: Connector[] = [],
): Promise<Case<O, E>> {
  const h = await harness(suite, extra);
  const source = await suite.endpoint(`${name}-source`);
  const target = await suite.endpoint(`${name}-target`);
  const side = (endpoint: E) => ({ connector: suite.connector.name, endpoint: endpoint as Record<string, unknown> });
  let writes = 0;
  return {
    h,
    source,
    target,
    upsert: async (rows) => {
      writes += 1;
      h.storage.set(`${name}-${writes}`, schema, [rowsBatch(rows)]);
      const seed = h.task(
        `${name}-seed-${writes}`,
        { connector: 'memory', endpoint: { name: `${name}-${writes}` } },
        side(source),
      );
      seed.target = { ...seed.target, mode: 'merge', key: ['id'] };
      const seeded = await runTask({ task: seed, connectors: h.registry });
      expectOk(seeded);
    },
    incremental: () => {
      const definition = h.task(name, side(source), side(target), { incremental: { cursor: 'at' } });
      return { ...definition, target: { ...definition.target, mode: 'merge', key: ['id'] } };
    },
    expectSame: async () => {
      const [from, to] = [await h.readBack(source, `${name}-source`), await h.readBack(target, `${name}-target`)];
      expect(to).toEqual(from);
    },
  };
}

async function ran(definition: TaskDefinition, h: Harness<unknown, unknown>): Promise<TaskReport> {
  const report = await runTask({ task: definition, connectors: h.registry });
  expectOk(report);
  return report;
}

export function testIncremental<O, E>(suite: ConformanceOptions<O, E>): void {
  const title = `${suite.name ?? suite.connector.name} incremental conformance`;
  const timeout = suite.timeoutMs ?? 180_000;
  const capabilities = capabilitiesOf(suite.connector as Connector);
  describe(title, () => {
    if (!capabilities.incrementalRead || !capabilities.incrementalCommit) {
      it('refuses incremental tasks before any data moves', { timeout }, async () => {
        // Refused by the capability checks, before the source is even opened: no data needed.
        const c = await setUp(suite, 'incremental-refused');
        const report = await runTask({ task: c.incremental(), connectors: c.h.registry });
        expect(report.error?.code).toBe('CAPABILITY_MISSING');
        expect(report.stats.rows).toBe(0);
      });
      return;
    }

    it('a re-run moves only the new and changed rows; the target equals the source', { timeout }, async () => {
      const c = await setUp(suite, 'incremental-rerun');
      const h = c.h as Harness<unknown, unknown>;
      await c.upsert(
        range(
          1,
          2_000,
          (id) => id,
          (id) => `v${id}`,
        ),
      );
      const first = await ran(c.incremental(), h);
      expect(first.incremental).toMatchObject({ from: null, runs: 1, rowsRead: 2_000 });
      await c.expectSame();

      // 50 updated (their cursor moves past the mark) and 25 new rows.
      await c.upsert([
        ...range(
          1,
          50,
          (id) => 10_000 + id,
          (id) => `changed ${id}`,
        ),
        ...range(
          2_001,
          2_025,
          (id) => 20_000 + id,
          (id) => `new ${id}`,
        ),
      ]);
      const second = await ran(c.incremental(), h);
      expect(second.incremental).toMatchObject({ from: first.incremental!.to, runs: 2, rowsRead: 75, reread: false });
      await c.expectSame();

      const third = await ran(c.incremental(), h);
      expect(third.incremental).toMatchObject({
        from: second.incremental!.to,
        to: second.incremental!.to,
        rowsRead: 0,
      });
      await c.expectSame();
    });

    it('a row that arrives later at exactly the mark’s value arrives, once', { timeout }, async () => {
      const c = await setUp(suite, 'incremental-late');
      const h = c.h as Harness<unknown, unknown>;
      await c.upsert(
        range(
          1,
          100,
          (id) => Math.floor(id / 10),
          (id) => `v${id}`,
        ),
      );
      const first = await ran(c.incremental(), h);
      await c.upsert([[101, 10, 'late']]);
      const second = await ran(c.incremental(), h);
      expect(second.incremental).toMatchObject({
        from: first.incremental!.to,
        to: first.incremental!.to,
        reread: true,
      });
      expect(second.incremental!.rowsRead).toBeGreaterThanOrEqual(1);
      await c.expectSame();
      expect((await ran(c.incremental(), h)).incremental).toMatchObject({ reread: false, rowsRead: 0 });
    });

    it('a crash right after the publish neither skips nor repeats rows on the re-run', { timeout }, async () => {
      let crashes = 1;
      const crashing = faulty(suite.connector as Connector, (writer) =>
        delegate(writer, {
          publish: async () => {
            const result = await writer.publish();
            if (crashes-- > 0) throw new TransientError('simulated crash right after the publish');
            return result;
          },
        }),
      );
      const c = await setUp(suite, 'incremental-crash', [crashing]);
      const h = c.h as Harness<unknown, unknown>;
      await c.upsert(
        range(
          1,
          500,
          (id) => id,
          (id) => `v${id}`,
        ),
      );
      await ran(c.incremental(), h);
      await c.upsert(
        range(
          501,
          600,
          (id) => 1_000 + id,
          (id) => `new ${id}`,
        ),
      );
      const definition = c.incremental();
      const throughCrash = { ...definition, target: { ...definition.target, connector: crashing.name } };
      const crashed = await runTask({ task: throughCrash, connectors: h.registry });
      expect(crashed.error?.code).toBe('TRANSIENT');
      const retried = await ran(throughCrash, h);
      expect(retried.incremental).toMatchObject({ runs: 3, rowsRead: 0 });
      await c.expectSame();
    });
  });
}

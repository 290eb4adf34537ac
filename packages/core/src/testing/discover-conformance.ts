/**
 * The conformance check of `Connector.discover()`. A connector's discovery test is a few lines:
 *
 * @example
 * import { testDiscover } from '@honk/core/testing';
 * testDiscover({
 *   connector: fileConnector,
 *   options: () => ({ root }),
 *   seed: async () => { await writeTwoDatasets(root, 'case'); return { within: 'case', expected: ['case/a.csv', 'case/b/'], missing: 'nope' }; },
 * });
 *
 * What it holds a connector to: every dataset the seed made is listed once under a stable
 * name; every listed endpoint is valid for the connector's `endpointSchema` and readable by
 * its own source (so a catalog entry always turns into a runnable task); `limit` is kept; and
 * a `within` that does not exist is a NotFoundError, not an empty list.
 */
import { describe, expect, it } from 'vitest';
import type { Connector, ConnectorContext, DatasetInfo } from '../connector/connector.ts';
import { isHonkError } from '../errors/honk-error.ts';

export interface DiscoverConformanceOptions<Options> {
  /** Suite title; default the connector name. */
  name?: string;
  connector: Connector<Options>;
  /** Connection options (may start or reach a server). */
  options: () => Options | Promise<Options>;
  /**
   * Creates at least two datasets in a fresh place, with the storage system's own means, and
   * says where: `within` (the scope to discover), `expected` (the names discover must report
   * there), `missing` (a `within` that does not exist).
   */
  seed: () => Promise<{ within?: string; expected: string[]; missing: string }>;
  /** Per-test timeout in ms. Default 60,000. */
  timeoutMs?: number;
}

const KINDS: ReadonlySet<string> = new Set(['table', 'view', 'file', 'directory', 'object', 'prefix']);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function context(signal: AbortSignal): ConnectorContext {
  return { taskId: 'discover-conformance', connectionName: 'under-test', signal, logger: quiet };
}

/** Registers the discovery conformance cases (vitest `describe`/`it`). */
export function testDiscover<Options>(suite: DiscoverConformanceOptions<Options>): void {
  const timeout = suite.timeoutMs ?? 60_000;
  describe(`${suite.name ?? suite.connector.name} discover() conformance`, () => {
    const discover = async (within: string | undefined, limit?: number): Promise<DatasetInfo[]> => {
      const controller = new AbortController();
      const options = await suite.options();
      return suite.connector.discover!({
        options,
        scope: { ...(within !== undefined ? { within } : {}), ...(limit !== undefined ? { limit } : {}) },
        context: context(controller.signal),
      });
    };

    it('lists every seeded dataset once, with well-formed facts', { timeout }, async () => {
      expect(typeof suite.connector.discover).toBe('function');
      const seeded = await suite.seed();
      expect(seeded.expected.length).toBeGreaterThanOrEqual(2);
      const found = await discover(seeded.within);
      const names = found.map((dataset) => dataset.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of seeded.expected) expect(names).toContain(name);
      for (const dataset of found) {
        expect(KINDS.has(dataset.kind), `kind of ${dataset.name}: ${dataset.kind}`).toBe(true);
        if (dataset.estimatedRows !== undefined) expect(dataset.estimatedRows).toBeGreaterThanOrEqual(0);
        if (dataset.bytes !== undefined) expect(dataset.bytes).toBeGreaterThanOrEqual(0);
        if (dataset.modifiedAt !== undefined) expect(Number.isNaN(Date.parse(dataset.modifiedAt))).toBe(false);
      }
    });

    it('lists endpoints the connector itself accepts and reads', { timeout }, async () => {
      const seeded = await suite.seed();
      const wanted = new Set(seeded.expected);
      const found = (await discover(seeded.within)).filter((dataset) => wanted.has(dataset.name));
      expect(found).toHaveLength(wanted.size);
      const options = await suite.options();
      for (const dataset of found) {
        const parsed = suite.connector.endpointSchema.safeParse(dataset.endpoint);
        expect(parsed.success, `endpoint of ${dataset.name}: ${JSON.stringify(dataset.endpoint)}`).toBe(true);
        const controller = new AbortController();
        const source = await suite.connector.createSource!({
          options,
          endpoint: parsed.data as never,
          context: context(controller.signal),
        });
        try {
          const schema = await source.schema();
          expect(schema.fields.length, `columns of ${dataset.name}`).toBeGreaterThan(0);
        } finally {
          await source.close?.();
        }
      }
    });

    it('keeps the limit', { timeout }, async () => {
      const seeded = await suite.seed();
      expect(await discover(seeded.within, 1)).toHaveLength(1);
    });

    it('refuses a place that does not exist with NOT_FOUND', { timeout }, async () => {
      const seeded = await suite.seed();
      const error = await discover(seeded.missing).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isHonkError(error) ? error.code : error).toBe('NOT_FOUND');
    });
  });
}

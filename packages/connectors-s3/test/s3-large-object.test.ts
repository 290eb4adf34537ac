/**
 * One object of more than 200 MiB goes up and comes back through the connector with flat
 * memory: the write is a streaming multipart upload (parts of `partSizeBytes`, a few in
 * flight); the Parquet read is one ranged GET per row group, never the whole object, and
 * the CSV read one streamed GET. Resident memory is measured after a warm-up run of the same path, so one-off growth
 * (code, wasm memory, socket pools) is in the baseline and what is left grows with the data.
 */
import type { Json } from '@honk/core';
import { ConnectorRegistry, checksumValidator, defineConnector, runTask, sharedWorkerPool } from '@honk/core';
import { fingerprint, makeTrickyBatches, settledMemoryGrowth, trickySchema } from '@honk/core/testing';
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createS3Client } from '../src/create-s3-client.ts';
import { s3Connector } from '../src/index.ts';
import { headPinned } from '../src/s3-listing.ts';
import { type S3ConnectionOptions, s3ConnectionSchema } from '../src/s3-options.ts';
import { createS3Source } from '../src/s3-source.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';

const MiB = 1024 * 1024;
const OBJECT_BYTES = 200 * MiB;
/** ~1.1 KB per row (a 1,100-byte text column plus the tricky columns): ~225 MiB of Parquet. */
const GENERATOR = { rows: 200_000, batchRows: 8_192, lists: true, binary: true, padding: 1_100 };
/**
 * Multipart settings: the writer holds at most PART × (2 + 1) = 15 MiB. With the defaults
 * (8 MiB × 4, a 40 MiB bound) the growth measured here is ~70–130 MiB, too close to the
 * object's size to tell a bound from a leak.
 */
const PART = 5 * MiB;
/**
 * Growth of settled memory (after garbage collection in every thread, see
 * `settledMemoryGrowth`) allowed while 226 MiB pass through: well under the object, so
 * memory that grew with the data would fail it. Measured: Parquet write 50–100 MiB on an idle
 * machine and up to 122 MiB on s3rver under a load average of 30+ (the
 * upload's 15 MiB; the encoder's worker thread: WebAssembly memory at the open row group's
 * high-water mark, ~30 MiB, which never shrinks, and its heap; batches on their way there;
 * memory the allocator keeps after the large transient buffers are freed), CSV write
 * 2–50 MiB, reads 0–20 MiB.
 */
const BUDGET = 144 * MiB;
const signal = new AbortController().signal;
/** Column types for CSV, so the tricky types survive the text round trip. */
const CSV_TYPES = {
  id: 'int64',
  big: 'int64',
  amount: 'decimal(38,4)',
  ratio: 'float64',
  at_utc: 'timestamp[us, UTC]',
  at_local: 'timestamp[ms, Europe/Stockholm]',
  day: 'date32',
  flag: 'bool',
  label: 'utf8',
  blob: 'binary',
  note: 'utf8',
};

/**
 * Tricky rows, generated lazily; the order-independent checksum of what was sent is taken
 * on the way out, so the data is generated once.
 */
function generatorConnector(sent: Map<string, Json>) {
  return defineConnector({
    specificationVersion: 'v1',
    name: 'large-generator',
    optionsSchema: z.object({}).strict(),
    endpointSchema: z.object({ rows: z.number(), name: z.string(), lists: z.boolean() }).strict(),
    createSource: ({ endpoint }) => {
      const options = { ...GENERATOR, rows: endpoint.rows, lists: endpoint.lists };
      const schema = trickySchema(options);
      return {
        schema: async () => schema,
        async *read() {
          const accumulator = checksumValidator().accumulator(schema);
          for (const batch of makeTrickyBatches(options)) {
            accumulator.observe(batch);
            yield batch;
          }
          sent.set(endpoint.name, accumulator.result());
        },
      };
    },
  });
}

describe.each<S3ServerKind>(['s3rver', 'fauxqs'])('a 200 MiB object on %s', (kind) => {
  let server: S3TestServer;
  let options: S3ConnectionOptions;

  beforeAll(async () => {
    // Worker threads (codecs, validation) start here, not inside the measured runs.
    await sharedWorkerPool().prewarm(['validation', 'parquet']);
    server = await startS3TestServer(kind);
    options = s3ConnectionSchema.parse(await server.connection('large', { partSizeBytes: PART, uploadConcurrency: 2 }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each(['parquet', 'csv'] as const)(
    '%s streams in and out through the connector with flat memory',
    { timeout: 240_000 },
    async (format) => {
      const sent = new Map<string, Json>();
      const registry = new ConnectorRegistry([s3Connector, generatorConnector(sent)]);
      // CSV keeps the tricky types with an explicit schema; it has no list type.
      const lists = format === 'parquet';
      const endpoint = (name: string) =>
        format === 'parquet'
          ? { key: `big/${name}.parquet`, parquet: { compression: 'uncompressed' as const } }
          : { key: `big/${name}.csv`, schema: CSV_TYPES };
      const write = (name: string, rows: number) =>
        runTask({
          task: {
            id: `large-${name}`,
            source: { connector: 'large-generator', connection: 'gen', options: {}, endpoint: { rows, name, lists } },
            target: {
              connector: 's3',
              connection: 'lake',
              options: options as unknown as Record<string, unknown>,
              endpoint: endpoint(name),
            },
            // The read-back below is the content check; here only the row count.
            validate: { rowCount: true, checksum: false, sample: 0, schema: false },
            // The staged read-back for the row count reads batches of this many rows. The text
            // codecs batch by rows, not bytes: at the default 65,536 rows of ~1.2 KB one batch
            // alone is ~80 MiB of text plus its Arrow copy (Parquet caps its read batches at
            // ~4 MiB, so it is not affected).
            batchRows: GENERATOR.batchRows,
          },
          connectors: registry,
        });

      const client = createS3Client(options);
      const ranges: string[] = [];
      let wholeGets = 0;
      client.middlewareStack.add(
        (next, context) => (args) => {
          const request = args.request as { method?: string; headers?: Record<string, string> };
          if (context.commandName === 'GetObjectCommand') {
            if (request.headers?.range) ranges.push(request.headers.range);
            else wholeGets += 1;
          }
          return next(args);
        },
        { step: 'finalizeRequest', name: 'recordGets' },
      );
      const read = async (name: string) => {
        const source = createS3Source({
          client,
          bucket: options.bucket,
          connection: 'lake',
          retries: options.retries,
          endpoint: endpoint(name),
        });
        let rows = 0;
        async function* counted(): AsyncGenerator<RecordBatch> {
          for await (const batch of source.read({ signal, batchRows: 16_384 })) {
            rows += batch.numRows;
            yield batch;
          }
        }
        return { fingerprint: await fingerprint(await source.schema(), counted()), rows };
      };

      try {
        // Warm-up: the same path on a tenth of the data.
        const warm = await write('warm-up', GENERATOR.rows / 10);
        expect(warm.error).toBeUndefined();
        expect((await read('warm-up')).fingerprint).toEqual(sent.get('warm-up'));

        const written = await settledMemoryGrowth(() => write('data', GENERATOR.rows));
        expect(written.value.error).toBeUndefined();
        expect(written.value.ok).toBe(true);
        const head = await headPinned(
          { client, bucket: options.bucket, connection: 'lake', retries: 1 },
          `big/data.${format}`,
        );
        expect(head.size).toBeGreaterThanOrEqual(OBJECT_BYTES);

        ranges.length = 0;
        wholeGets = 0;
        const back = await settledMemoryGrowth(() => read('data'));
        expect(back.value.rows).toBe(GENERATOR.rows);
        expect(back.value.fingerprint).toEqual(sent.get('data'));

        let shape: string;
        if (format === 'parquet') {
          // Parquet came back by ranges (footer, then row groups), never as one whole GET.
          expect(wholeGets).toBe(0);
          const lengths = ranges.map((range) => {
            const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(range) ?? [];
            return Number(to) - Number(from) + 1;
          });
          expect(lengths.length).toBeGreaterThan(20);
          expect(Math.max(...lengths)).toBeLessThan(32 * MiB);
          expect(lengths.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(head.size * 0.9);
          shape = `${ranges.length} ranged GETs, largest ${(Math.max(...lengths) / MiB).toFixed(1)} MiB`;
        } else {
          // CSV came back as a stream: no ranged reads, one streamed GET for the data (and at
          // most one more that the schema read opens and drops).
          expect(ranges).toEqual([]);
          expect(wholeGets).toBeGreaterThanOrEqual(1);
          expect(wholeGets).toBeLessThanOrEqual(2);
          shape = `${wholeGets} streamed GETs`;
        }
        console.info(
          `${kind} ${format}: object ${(head.size / MiB).toFixed(0)} MiB; settled RSS growth write ${(written.growth / MiB).toFixed(0)} MiB, read ${(back.growth / MiB).toFixed(0)} MiB; ${shape}`,
        );
        expect(written.growth).toBeLessThan(BUDGET);
        expect(back.growth).toBeLessThan(BUDGET);
      } finally {
        client.destroy();
      }
    },
  );
});

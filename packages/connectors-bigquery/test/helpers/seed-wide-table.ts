/**
 * Loads `ROWS` wide tricky rows into `mem.wide` of an emulator over REST (the sink's Parquet
 * load jobs), generated a batch at a time. Run as its own process by
 * storage-read-memory.test.ts, so the load's memory is not in the test's baseline:
 * `node seed-wide-table.ts <apiEndpoint> <project> <rows>`.
 */
import { ConnectorRegistry, defineConnector, runTask } from '@honk/core';
import { makeTrickyBatches, trickySchema } from '@honk/core/testing';
import { z } from 'zod';
import { bigQueryConnectionSchema, bigQueryConnector } from '../../src/index.ts';

process.env.METADATA_SERVER_DETECTION = 'none';
const [apiEndpoint, projectId, rows] = process.argv.slice(2);
const generator = { rows: Number(rows), batchRows: 16_384, lists: false, padding: 384 };
const generated = defineConnector({
  specificationVersion: 'v1',
  name: 'generated',
  optionsSchema: z.object({}).strict(),
  endpointSchema: z.object({}).strict(),
  createSource: () => ({
    schema: async () => trickySchema(generator),
    async *read() {
      yield* makeTrickyBatches(generator);
    },
  }),
});
const report = await runTask({
  task: {
    id: 'load-wide',
    source: { connector: 'generated', connection: 'generated', options: {}, endpoint: {} },
    target: {
      connector: 'bigquery',
      connection: 'bq',
      options: bigQueryConnectionSchema.parse({ projectId, apiEndpoint }),
      endpoint: { table: 'mem.wide' },
    },
    validate: { rowCount: true, checksum: false, sample: 0, schema: false },
  },
  connectors: new ConnectorRegistry([bigQueryConnector, generated]),
});
if (!report.ok) {
  process.stderr.write(`${report.error?.code}: ${report.error?.message}\n`);
  process.exit(1);
}
process.exit(0);

/**
 * The shared conformance suites against the emulator, run as a child process
 * (`honk-bigquery-emulator`) so the bounded-memory case measures the connector, not the
 * emulator's store. The source suite runs twice: tables read with `tabledata.list` (REST)
 * and through the Storage Read API (gRPC, the emulator split into several streams).
 */
import { testSink, testSnapshot, testSource } from '@honk/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { bigQueryConnectionSchema, bigQueryConnector } from '../src/index.ts';
import { type EmulatorProcess, startBigQueryEmulatorProcess } from '../src/testing/index.ts';
import './helpers/emulator-setup.ts';

let emulator: EmulatorProcess;
beforeAll(async () => {
  emulator = await startBigQueryEmulatorProcess({ project: 'honk-conformance', datasets: ['conformance'] });
});
afterAll(async () => {
  await emulator?.stop();
});

const suite = {
  connector: bigQueryConnector,
  options: () =>
    bigQueryConnectionSchema.parse({
      projectId: 'honk-conformance',
      apiEndpoint: emulator.endpoint,
      storageApiEndpoint: emulator.storageEndpoint,
      readStreams: 3,
    }),
  endpoint: (caseName: string) => ({
    table: `conformance.${caseName}`,
    snapshotMethod: 'snapshot' as const,
    readApi: 'rest' as 'rest' | 'storage',
  }),
  // BigQuery has no NULL arrays (a NULL list would come back as []): the sink refuses them,
  // so lists are tested with non-null values in bigquery-types.test.ts instead.
  // The bounded-memory case keeps the suite's defaults (700 000 wide rows, 192 MiB). It is
  // the slowest case here (minutes): the emulator renders every row as JSON.
  features: { lists: false },
};

testSource(suite);
testSource({
  ...suite,
  name: 'bigquery (readApi: storage)',
  endpoint: (caseName: string) => ({
    ...suite.endpoint(`storage_${caseName.replace(/-/g, '_')}`),
    readApi: 'storage' as const,
  }),
});
testSink(suite);
testSnapshot(suite);

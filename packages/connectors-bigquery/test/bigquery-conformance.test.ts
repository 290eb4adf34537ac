/**
 * The shared conformance suites against the emulator, run as a child process
 * (`honk-bigquery-emulator`) so the bounded-memory case measures the connector, not the
 * emulator's store.
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
  options: () => bigQueryConnectionSchema.parse({ projectId: 'honk-conformance', apiEndpoint: emulator.endpoint }),
  endpoint: (caseName: string) => ({ table: `conformance.${caseName}`, snapshotMethod: 'snapshot' as const }),
  // BigQuery has no NULL arrays (a NULL list would come back as []): the sink refuses them,
  // so lists are tested with non-null values in bigquery-types.test.ts instead.
  // The bounded-memory case keeps the suite's defaults (700 000 wide rows, 192 MiB). It is
  // the slowest case here (minutes): the emulator renders every row as JSON.
  features: { lists: false },
};

testSource(suite);
testSink(suite);
testSnapshot(suite);

/**
 * The shared conformance suites against the WebHDFS emulator: Parquet and Arrow IPC
 * directories whose parent is not snapshottable (snapshots are kept versions), and the
 * snapshot suite once more under a snapshottable parent (HDFS snapshots).
 */
import { testChunkedSink, testSink, testSnapshot, testSource } from '@honk/core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { hdfsConnectionSchema, hdfsConnector } from '../src/index.ts';
import { startWebHdfsEmulator, type WebHdfsEmulator } from '../src/testing/index.ts';

let emulator: WebHdfsEmulator;
beforeAll(async () => {
  emulator = await startWebHdfsEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

const options = () =>
  hdfsConnectionSchema.parse({ url: emulator.url, user: 'honk', root: '/conformance', partFileBytes: 8 * 1024 * 1024 });

for (const format of ['parquet', 'arrow'] as const) {
  describe(`hdfs (${format})`, () => {
    const suite = {
      name: `hdfs (${format})`,
      connector: hdfsConnector,
      options,
      endpoint: (caseName: string) => ({ path: `${format}/${caseName}/`, format }),
    };
    testSource(suite);
    testSink(suite);
    testSnapshot(suite);
  });
}

testChunkedSink({
  name: 'hdfs (parquet directory)',
  connector: hdfsConnector,
  options: () => ({ ...options(), partFileBytes: 4_000 }),
  endpoint: (caseName: string) => ({ path: `chunked/${caseName}`, format: 'parquet' as const }),
});

describe('hdfs snapshots under a snapshottable parent', () => {
  beforeAll(async () => {
    const { createHdfsClient } = await import('../src/index.ts');
    await createHdfsClient(options(), 'setup').mkdirs('/conformance/snapshottable');
    await emulator.allowSnapshot('/conformance/snapshottable');
  });
  testSnapshot({
    name: 'hdfs (HDFS snapshots)',
    connector: hdfsConnector,
    options,
    endpoint: (caseName: string) => ({ path: `snapshottable/${caseName}.parquet` }),
  });
});

/**
 * HDFS bench: file→HDFS and HDFS→file through the WebHDFS emulator on loopback (name node and
 * data node in the suite's process, so their CPU is not in Honk's figure), next to file→file
 * in the same run (bench/round-trip-bench.ts has the measurement). bench/hdfs.ts runs it under
 * `pnpm bench hdfs` or standalone. BENCH_ROWS overrides the row count.
 */
import { benchRoundTrip, benchSide } from '../../../../bench/round-trip-bench.ts';
import type { ScenarioResult } from '../../../../bench/run.ts';
import { hdfsConnector } from '../../src/hdfs-connector.ts';
import { startWebHdfsEmulator } from '../../src/testing/webhdfs-emulator.ts';

export function benchHdfs(): Promise<ScenarioResult[]> {
  return benchRoundTrip({
    suite: 'hdfs',
    remoteName: 'HDFS',
    serverName: 'emulator',
    remote: hdfsConnector,
    benchModule: new URL('../../../../bench/hdfs.ts', import.meta.url),
    async start() {
      const emulator = await startWebHdfsEmulator();
      const options = { url: emulator.url, user: 'bench', root: '/bench' };
      return { side: benchSide('hdfs', options, { path: 'out/', format: 'parquet' }), stop: () => emulator.stop() };
    },
  });
}

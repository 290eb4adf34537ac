/**
 * HDFS bench (see packages/connectors-hdfs/test/helpers/hdfs-bench.ts): file→HDFS and
 * HDFS→file through the WebHDFS emulator on loopback, with file→file in the same run as the
 * reference. Each scenario runs in a fresh child process started on this module
 * (bench/run-isolated.ts). Standalone: `node --expose-gc bench/hdfs.ts`.
 */
import { pathToFileURL } from 'node:url';
import { hdfsConnector } from '../packages/connectors-hdfs/src/hdfs-connector.ts';
import { benchHdfs } from '../packages/connectors-hdfs/test/helpers/hdfs-bench.ts';
import { emit } from './report.ts';
import { type RoundTripJob, runRoundTripJob } from './round-trip-bench.ts';
import { isolatedJob, serveIsolatedJob } from './run-isolated.ts';

export { benchHdfs };

const job = isolatedJob<RoundTripJob>();
if (job) {
  await serveIsolatedJob(() => runRoundTripJob(job, hdfsConnector));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await benchHdfs()) emit(result);
}

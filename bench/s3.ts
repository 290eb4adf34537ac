/**
 * S3 bench (see packages/connectors-s3/test/helpers/s3-bench.ts): file→S3 and S3→file
 * against s3rver on loopback, with file→file in the same run as the reference. Each
 * scenario runs in a fresh child process started on this module (bench/run-isolated.ts).
 * Standalone: `node --expose-gc bench/s3.ts`.
 */
import { pathToFileURL } from 'node:url';
import { s3Connector } from '../packages/connectors-s3/src/s3-connector.ts';
import { benchS3 } from '../packages/connectors-s3/test/helpers/s3-bench.ts';
import { emit } from './report.ts';
import { type RoundTripJob, runRoundTripJob } from './round-trip-bench.ts';
import { isolatedJob, serveIsolatedJob } from './run-isolated.ts';

export { benchS3 };

const job = isolatedJob<RoundTripJob>();
if (job) {
  await serveIsolatedJob(() => runRoundTripJob(job, s3Connector));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of await benchS3()) emit(result);
}

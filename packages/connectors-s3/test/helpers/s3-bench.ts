/**
 * S3 bench: file→S3 and S3→file against s3rver on loopback (a child process), next to
 * file→file in the same run (bench/round-trip-bench.ts has the measurement). Lives beside the
 * S3 test helpers so it reaches the test servers; bench/s3.ts runs it under `pnpm bench s3` or
 * standalone (`node --expose-gc bench/s3.ts`). Format: Parquet (core's codec, shared with the
 * file connector). BENCH_ROWS overrides the row count.
 */
import { benchRoundTrip, benchSide } from '../../../../bench/round-trip-bench.ts';
import type { ScenarioResult } from '../../../../bench/run.ts';
import { s3Connector } from '../../src/s3-connector.ts';
import { s3ConnectionSchema } from '../../src/s3-options.ts';
import { startS3TestServer } from './s3-test-servers.ts';

export function benchS3(): Promise<ScenarioResult[]> {
  return benchRoundTrip({
    suite: 's3',
    remoteName: 'S3',
    serverName: 's3rver',
    remote: s3Connector,
    benchModule: new URL('../../../../bench/s3.ts', import.meta.url),
    async start() {
      const server = await startS3TestServer('s3rver');
      const options = s3ConnectionSchema.parse(await server.connection('bench')) as unknown as Record<string, unknown>;
      return { side: benchSide('s3', options, { prefix: 'bench/out/', format: 'parquet' }), stop: () => server.stop() };
    },
  });
}

/**
 * The shared conformance suites on two independent S3 implementations: s3rver (on disk,
 * checksums 'when-required') and fauxqs (in memory, SDK defaults).
 */
import { testChunkedSink, testSink, testSnapshot, testSource } from '@honk/core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { s3Connector } from '../src/index.ts';
import { s3ConnectionSchema } from '../src/s3-options.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';

for (const kind of ['s3rver', 'fauxqs'] as const satisfies readonly S3ServerKind[]) {
  describe(`s3 on ${kind}`, () => {
    let server: S3TestServer;
    beforeAll(async () => {
      server = await startS3TestServer(kind);
    });
    afterAll(async () => {
      await server?.stop();
    });
    for (const format of ['parquet', 'arrow'] as const) {
      const suite = {
        name: `s3 (${kind}, ${format})`,
        connector: s3Connector,
        options: async () =>
          s3ConnectionSchema.parse(await server.connection('conformance', { partFileBytes: 8 * 1024 * 1024 })),
        endpoint: (caseName: string) => ({ prefix: `datasets/${format}/${caseName}/`, format }),
      };
      testSource(suite);
      testSink(suite);
      testSnapshot(suite);
    }
    testChunkedSink({
      name: `s3 (${kind}, parquet)`,
      connector: s3Connector,
      options: async () => s3ConnectionSchema.parse(await server.connection('conformance', { partFileBytes: 4_000 })),
      endpoint: (caseName: string) => ({ prefix: `chunked/${caseName}/`, format: 'parquet' as const }),
    });
  });
}

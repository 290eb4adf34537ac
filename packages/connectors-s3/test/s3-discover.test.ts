/** S3 discovery on a real S3-compatible server: dataset prefixes, single objects, what is skipped. */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { testDiscover } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { s3Connector } from '../src/index.ts';
import { type S3ConnectionOptions, s3ConnectionSchema } from '../src/s3-options.ts';
import { type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';

let server: S3TestServer;
let options: S3ConnectionOptions;
let client: S3Client;
beforeAll(async () => {
  server = await startS3TestServer('fauxqs');
  options = s3ConnectionSchema.parse(await server.connection('discover'));
  client = createS3Client(options);
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

const put = (Key: string, Body: string) => client.send(new PutObjectCommand({ Bucket: 'discover', Key, Body }));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const context = { taskId: 'discover', connectionName: 'lake', signal: new AbortController().signal, logger: quiet };

let seeds = 0;
testDiscover({
  name: 's3',
  connector: s3Connector,
  options: () => options,
  seed: async () => {
    const place = `seed-${++seeds}/`;
    await put(`${place}customers.csv`, 'id,name\n1,Ada\n');
    await put(`${place}orders/part-0.ndjson`, '{"id":1}\n');
    await put(`${place}orders/part-1.ndjson`, '{"id":2}\n');
    return { within: place, expected: [`${place}customers.csv`, `${place}orders/`], missing: 'no-such-prefix/' };
  },
});

describe('s3 discover()', () => {
  it('lists dataset prefixes and objects, skipping hidden keys, the work prefix and unknown formats', async () => {
    await put('lake/a.csv', 'x\n1\n');
    await put('lake/readme.txt', 'not data');
    await put('lake/sales/2026/part-0.csv', 'x\n1\n');
    await put('lake/sales/2026/part-1.csv', 'x\n22\n');
    await put('lake/sales/2026/_SUCCESS', '');
    await put('lake/_temporary/0/part.csv', 'x\n1\n');
    await put('lake/mixed/one.csv', 'x\n1\n');
    await put('lake/mixed/two.ndjson', '{"x":1}\n');
    await put('_honk/staging/task/part.csv', 'x\n1\n');
    const found = await s3Connector.discover!({ options, scope: { within: 'lake' }, context });
    expect(found.map((dataset) => [dataset.name, dataset.kind])).toEqual([
      ['lake/a.csv', 'object'],
      ['lake/mixed/one.csv', 'object'],
      ['lake/mixed/two.ndjson', 'object'],
      ['lake/sales/2026/', 'prefix'],
    ]);
    expect(found[3]).toMatchObject({ endpoint: { prefix: 'lake/sales/2026/', format: 'csv' }, bytes: 9 });
    expect(Number.isNaN(Date.parse(found[3]!.modifiedAt!))).toBe(false);
    const everything = await s3Connector.discover!({ options, scope: {}, context });
    expect(everything.some((dataset) => dataset.name.startsWith('_honk/'))).toBe(false);
    expect(everything.map((dataset) => dataset.name)).toContain('lake/sales/2026/');
  });
});

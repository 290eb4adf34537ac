/**
 * Child process for the kill-during-publish test: writes a version of the test data to an
 * S3 prefix, one part file per batch, prints `staged` before publishing and `published`
 * after. Arguments: a JSON object { connection, prefix, batches, salt, taskId }.
 */
import { createS3Client } from '../../src/create-s3-client.ts';
import { s3ConnectionSchema } from '../../src/s3-options.ts';
import { createS3Sink } from '../../src/s3-sink.ts';
import { makeTestBatch, testSchema } from './test-batches.ts';

const args = JSON.parse(process.argv[2] as string) as {
  connection: unknown;
  prefix: string;
  batches: number;
  salt: number;
  taskId: string;
};
const options = s3ConnectionSchema.parse(args.connection);
const client = createS3Client(options);
const sink = createS3Sink({
  client,
  options,
  endpoint: { prefix: args.prefix, format: 'arrow' },
  connection: 'child',
  taskId: args.taskId,
});
const writer = await sink.open(testSchema, { signal: new AbortController().signal, mode: 'replace' });
for (let b = 0; b < args.batches; b += 1) await writer.write(makeTestBatch(b * 100, 100, args.salt));
await writer.stage();
process.stdout.write('staged\n');
await writer.publish();
process.stdout.write('published\n');
client.destroy();

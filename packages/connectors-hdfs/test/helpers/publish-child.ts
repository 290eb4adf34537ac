/**
 * Child process for the kill-during-publish tests: writes batches of test data to an HDFS
 * target through the sink (one part file per batch), prints `staged` before publishing and
 * `published` after. Argument: a JSON object { url, root, path, batches, salt, from, taskId, mode }.
 */
import { createHdfsClient } from '../../src/hdfs-connector.ts';
import { hdfsConnectionSchema } from '../../src/hdfs-options.ts';
import { createHdfsSink } from '../../src/hdfs-sink.ts';
import { makeTestBatch, testSchema } from './test-batches.ts';

const args = JSON.parse(process.argv[2] as string) as {
  url: string;
  root: string;
  path: string;
  batches: number;
  salt: number;
  from: number;
  taskId: string;
  mode: 'replace' | 'append';
};
const options = hdfsConnectionSchema.parse({ url: args.url, user: 'honk', root: args.root, retries: 2 });
const sink = createHdfsSink({
  client: createHdfsClient(options, 'child'),
  options,
  endpoint: { path: args.path, format: 'arrow', partFileBytes: 1 },
  taskId: args.taskId,
});
const writer = await sink.open(testSchema, { signal: new AbortController().signal, mode: args.mode });
for (let batch = 0; batch < args.batches; batch += 1)
  await writer.write(makeTestBatch(args.from + batch * 100, 100, args.salt));
await writer.stage();
process.stdout.write('staged\n');
await writer.publish();
process.stdout.write('published\n');

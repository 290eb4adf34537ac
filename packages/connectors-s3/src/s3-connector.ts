/**
 * The `s3` connector: objects in Amazon S3 and S3-compatible stores as a source, a sink
 * and a snapshot, and discovery of dataset prefixes and objects (s3-discover.ts). See README.md
 * for options, the publish protocol and error mapping.
 */
import { defineConnector } from '@honk/core';
import { createS3Client } from './create-s3-client.ts';
import { discoverS3 } from './s3-discover.ts';
import {
  type S3ConnectionOptions,
  type S3EndpointOptions,
  s3ConnectionSchema,
  s3EndpointSchema,
} from './s3-options.ts';
import { createS3Sink } from './s3-sink.ts';
import { createS3Snapshot } from './s3-snapshot.ts';
import { createS3Source } from './s3-source.ts';

export const s3Connector = defineConnector<S3ConnectionOptions, S3EndpointOptions>({
  specificationVersion: 'v1',
  name: 's3',
  optionsSchema: s3ConnectionSchema,
  endpointSchema: s3EndpointSchema,
  capabilities: {
    snapshot: true,
    readStaged: true,
    countPushdown: false,
    publishModes: ['replace'],
    partitionedRead: true,
    chunkedStaging: true,
  },
  createSource: ({ options, endpoint, context }) =>
    createS3Source({
      client: createS3Client(options),
      bucket: options.bucket,
      connection: context.connectionName,
      retries: options.retries,
      endpoint,
      ownsClient: true,
    }),
  createSink: ({ options, endpoint, context }) =>
    createS3Sink({
      client: createS3Client(options),
      options,
      endpoint,
      connection: context.connectionName,
      taskId: context.taskId,
      ownsClient: true,
    }),
  createSnapshot: ({ options, endpoint, context }) =>
    createS3Snapshot({
      client: createS3Client(options),
      options,
      endpoint,
      connection: context.connectionName,
      taskId: context.taskId,
    }),
  discover: async ({ options, scope, context }) => {
    const client = createS3Client(options);
    try {
      return await discoverS3(client, options, scope, context.connectionName);
    } finally {
      client.destroy();
    }
  },
});

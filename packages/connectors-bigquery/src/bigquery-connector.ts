/**
 * The `bigquery` connector: BigQuery tables and queries as a source, tables as a sink and
 * a snapshot, and `discover()` of a dataset's tables. See README.md for options, the type
 * mapping, the publish protocol and error mapping.
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { defineConnector } from '@honk/core';
import { BigQueryApi } from './bigquery-api.ts';
import { discoverTables } from './bigquery-discover.ts';
import {
  type BigQueryConnectionOptions,
  type BigQueryEndpointOptions,
  bigQueryConnectionSchema,
  bigQueryEndpointSchema,
} from './bigquery-options.ts';
import { createBigQueryReadClient } from './bigquery-read-client.ts';
import { createBigQuerySink } from './bigquery-sink.ts';
import { createBigQuerySnapshot } from './bigquery-snapshot.ts';
import { createBigQuerySource } from './bigquery-source.ts';
import { createBigQueryClient } from './create-bigquery-client.ts';

/** The REST helper for a connection, on a client built from its options (or the one given). */
export function bigQueryApiFor(options: BigQueryConnectionOptions, connection: string, client?: BigQuery): BigQueryApi {
  return new BigQueryApi({
    client: client ?? createBigQueryClient(options),
    connection,
    retries: options.retries,
    jobTimeoutMs: options.jobTimeoutMs,
    ...(options.location ? { location: options.location } : {}),
  });
}

export const bigQueryConnector = defineConnector<BigQueryConnectionOptions, BigQueryEndpointOptions>({
  specificationVersion: 'v1',
  name: 'bigquery',
  optionsSchema: bigQueryConnectionSchema,
  endpointSchema: bigQueryEndpointSchema,
  capabilities: {
    snapshot: true,
    readStaged: true,
    countPushdown: true,
    // readApi: storage reports its read session's streams; REST reads are one partition.
    partitionedRead: true,
    publishModes: ['replace', 'append', 'merge'],
  },
  createSource: ({ options, endpoint, context }) =>
    createBigQuerySource({
      api: bigQueryApiFor(options, context.connectionName),
      endpoint,
      pageRows: options.pageRows,
      retries: options.retries,
      readStreams: options.readStreams,
      ...(endpoint.readApi === 'storage' ? { readClient: () => createBigQueryReadClient(options) } : {}),
    }),
  createSink: ({ options, endpoint, context }) =>
    createBigQuerySink({
      api: bigQueryApiFor(options, context.connectionName),
      options,
      endpoint,
      taskId: context.taskId,
    }),
  createSnapshot: ({ options, endpoint, context }) =>
    createBigQuerySnapshot({
      api: bigQueryApiFor(options, context.connectionName),
      options,
      endpoint,
      taskId: context.taskId,
    }),
  discover: ({ options, scope, context }) => discoverTables(bigQueryApiFor(options, context.connectionName), scope),
});

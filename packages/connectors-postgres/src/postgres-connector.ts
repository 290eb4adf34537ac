/**
 * The `postgres` connector: source (table or query), sink (replace/append/merge) and
 * snapshot, and discovery of a schema's tables and views (postgres-discover.ts). See README.md for options, type mapping and publish semantics.
 */
import { ConfigError, defineConnector } from '@honk/core';
import { discoverPostgres } from './postgres-discover.ts';
import {
  type PostgresEndpoint,
  type PostgresOptions,
  postgresEndpointSchema,
  postgresOptionsSchema,
} from './postgres-options.ts';
import { PostgresSink } from './postgres-sink.ts';
import { PostgresSnapshot } from './postgres-snapshot.ts';
import { PostgresSource } from './postgres-source.ts';
import { parseTableName, type TableName } from './table-name.ts';

function targetTable(options: PostgresOptions, endpoint: PostgresEndpoint, connection: string): TableName {
  if (!('table' in endpoint)) {
    throw new ConfigError(
      `PostgreSQL connection "${connection}": a target needs "table:"; "query:" only works for sources.`,
    );
  }
  if (endpoint.partitionBy) {
    throw new ConfigError(
      `PostgreSQL connection "${connection}": "partitionBy" only applies to a source; remove it from the target.`,
    );
  }
  return parseTableName(endpoint.table, options.defaultSchema);
}

export const postgresConnector = defineConnector<PostgresOptions, PostgresEndpoint>({
  specificationVersion: 'v1',
  name: 'postgres',
  optionsSchema: postgresOptionsSchema,
  endpointSchema: postgresEndpointSchema,
  capabilities: {
    snapshot: true,
    readStaged: true,
    countPushdown: true,
    partitionedRead: true,
    chunkedStaging: true,
    publishModes: ['replace', 'append', 'merge'],
    incrementalRead: true,
    incrementalCommit: true,
  },
  createSource: ({ options, endpoint, context }) =>
    new PostgresSource({
      options,
      target:
        'table' in endpoint
          ? { table: parseTableName(endpoint.table, options.defaultSchema) }
          : { query: endpoint.query },
      ...('table' in endpoint && endpoint.partitionBy ? { partitionBy: endpoint.partitionBy } : {}),
      context,
    }),
  createSink: ({ options, endpoint, context }) =>
    new PostgresSink({ options, table: targetTable(options, endpoint, context.connectionName), context }),
  createSnapshot: ({ options, endpoint, context }) =>
    new PostgresSnapshot({ options, table: targetTable(options, endpoint, context.connectionName), context }),
  discover: ({ options, scope, context }) => discoverPostgres(options, scope, context),
});

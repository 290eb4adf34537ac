/**
 * @honk/connectors-postgres — PostgreSQL source, sink and snapshot for Honk.
 * See README.md for options, the type mapping and publish semantics.
 */
export { planColumns } from './arrow-to-postgres.ts';
export { type ClaimableTasksQueryOptions, claimableTasksQuery } from './claimable-tasks-query.ts';
export { CopyBinaryDecoder } from './copy-binary-decoder.ts';
export { CopyBinaryEncoder, encodable } from './copy-binary-encoder.ts';
export { APPLIED_TABLE, INCREMENTAL_TABLE, SNAPSHOTS_TABLE } from './postgres-catalog.ts';
export { postgresConnector } from './postgres-connector.ts';
export { discoverPostgres } from './postgres-discover.ts';
export { toPostgresError } from './postgres-errors.ts';
export {
  type PostgresEndpoint,
  type PostgresOptions,
  postgresEndpointSchema,
  postgresOptionsSchema,
} from './postgres-options.ts';
export { PostgresSink } from './postgres-sink.ts';
export { PostgresSnapshot } from './postgres-snapshot.ts';
export { PostgresSource } from './postgres-source.ts';
export { createPostgresTaskStore, PostgresTaskStore, type PostgresTaskStoreOptions } from './postgres-task-store.ts';
export { POSTGRES_TYPE_METADATA } from './postgres-types.ts';
export { stagingTableName } from './postgres-writer.ts';
export { formatTableName, parseTableName, quoteIdentifier, quoteTable, type TableName } from './table-name.ts';
export { migrateTaskStore, TASK_STORE_SCHEMA_VERSION } from './task-store-migrations.ts';

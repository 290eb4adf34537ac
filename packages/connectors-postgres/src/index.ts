/**
 * @honk/connectors-postgres — PostgreSQL source, sink and snapshot for Honk.
 * See README.md for options, the type mapping and publish semantics.
 */
export { CopyBinaryDecoder } from './copy-binary-decoder.ts';
export { CopyBinaryEncoder, encodable } from './copy-binary-encoder.ts';
export { toPostgresError } from './postgres-errors.ts';
export {
  type PostgresEndpoint,
  type PostgresOptions,
  postgresEndpointSchema,
  postgresOptionsSchema,
} from './postgres-options.ts';
export { PostgresSource } from './postgres-source.ts';
export { POSTGRES_TYPE_METADATA } from './postgres-types.ts';
export { parseTableName, quoteIdentifier, quoteTable } from './table-name.ts';

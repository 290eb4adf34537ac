/**
 * @honk/connectors-bigquery — Google BigQuery for Honk. The emulator for tests is
 * `@honk/connectors-bigquery/testing`. See README.md; every export is documented where it
 * is defined.
 */
export {
  BigQueryApi,
  type BigQueryApiOptions,
  type JobResource,
  type RowsPage,
  type TableResource,
} from './bigquery-api.ts';
export { bigQueryApiFor, bigQueryConnector } from './bigquery-connector.ts';
export { discoverTables } from './bigquery-discover.ts';
export {
  type BigQueryCallContext,
  bigQueryReason,
  QUOTA_RETRY_AFTER_MS,
  toBigQueryError,
  toStorageError,
  withBigQueryRetry,
} from './bigquery-errors.ts';
export {
  type BigQueryConnectionInput,
  type BigQueryConnectionOptions,
  type BigQueryEndpointOptions,
  bigQueryConnectionSchema,
  bigQueryEndpointSchema,
} from './bigquery-options.ts';
export { appendMarker, GENERATION_LABEL, mergeStatement } from './bigquery-publish.ts';
export {
  type BigQueryReadClientLike,
  type CreateReadSessionRequestLike,
  createBigQueryReadClient,
  type ReadRowsResponseLike,
  type ReadRowsStreamLike,
  type ReadSessionLike,
} from './bigquery-read-client.ts';
export { createBigQuerySink, stagingTableOf } from './bigquery-sink.ts';
export { createBigQuerySnapshot } from './bigquery-snapshot.ts';
export { type BigQuerySource, type BigQuerySourceArgs, createBigQuerySource } from './bigquery-source.ts';
export {
  arrowFieldOf,
  arrowSchemaOf,
  BIGQUERY_TYPE_METADATA,
  type BigQueryField,
  bigQueryFieldOf,
  bigQuerySchemaOf,
  canonicalType,
  describeBigQueryType,
} from './bigquery-types.ts';
export { createBigQueryClient } from './create-bigquery-client.ts';
export { conformBatch, conformData } from './storage-arrow.ts';
export {
  createReadSession,
  decodeStorageBatches,
  readSession,
  readStream,
  type SessionRequest,
  type StorageReadContext,
  type StorageSession,
} from './storage-read.ts';
export { parseTableName, quoteIdentifier, quoteTable, type TableReference } from './table-reference.ts';
export { decodeRows, type TableCell, type TableRow } from './tabledata-decoder.ts';

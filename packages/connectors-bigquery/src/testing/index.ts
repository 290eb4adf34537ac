/**
 * @honk/connectors-bigquery/testing — a BigQuery emulator for tests and local development:
 * in this process ({@link startBigQueryEmulator}) or as a child process
 * ({@link startBigQueryEmulatorProcess}, the `honk-bigquery-emulator` command).
 */
export {
  type BigQueryEmulator,
  type BigQueryEmulatorOptions,
  type EmulatorFault,
  type EmulatorRequest,
  startBigQueryEmulator,
} from './bigquery-emulator.ts';
export { type EmulatorProcess, startBigQueryEmulatorProcess } from './emulator-process.ts';
export { UnsupportedSqlError } from './emulator-sql.ts';
export { EmulatorError, EmulatorStore, type StoredJob, type StoredTable } from './emulator-store.ts';
export {
  bigQueryReadService,
  loadBigQueryReadProto,
  type StorageFault,
  type StorageReadServer,
  type StorageReadServerOptions,
  type StorageRequest,
  startStorageReadServer,
} from './storage-read-server.ts';

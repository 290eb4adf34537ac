/**
 * @honk/backstage-plugin-honk-node — the backend library the honk plugin and its modules
 * share: configuration, the migration ledger, status, the status watcher, and tasks built
 * from catalog entities.
 */
export { type HonkConfig, readHonkConfig } from './honk-config.ts';
export { type LedgerEntry, MigrationLedger } from './migration-ledger.ts';
export { decidingAction, emptyCounts, migrationStatusOf, toDetail, toSummary } from './migration-status.ts';
export { MigrationStatusWatcher } from './migration-status-watcher.ts';
export {
  type BuiltTask,
  type DatasetEntityLike,
  HonkTaskBuilder,
  taskIdForEntity,
  taskSpecForEntity,
} from './tasks-from-entities.ts';

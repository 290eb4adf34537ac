/**
 * @honk/backstage-plugin-scaffolder-backend-module-honk — the scaffolder action
 * `honk:migration:start`. Add it with `backend.add(import('@honk/backstage-plugin-scaffolder-backend-module-honk'))`.
 */

export { scaffolderModuleHonk as default } from './module.ts';
export { createStartMigrationAction, START_MIGRATION_ACTION_ID } from './start-migration-action.ts';

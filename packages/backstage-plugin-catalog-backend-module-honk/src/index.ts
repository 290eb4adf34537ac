/**
 * @honk/backstage-plugin-catalog-backend-module-honk — datasets as catalog entities with live
 * migration status. Add it with `backend.add(import('@honk/backstage-plugin-catalog-backend-module-honk'))`.
 */
export { type Dataset, datasetEntity, entityName, statusAnnotations } from './dataset-entities.ts';
export { type DiscoverTarget, HonkEntityProvider, type HonkEntityProviderOptions } from './honk-entity-provider.ts';
export { catalogModuleHonk as default } from './module.ts';

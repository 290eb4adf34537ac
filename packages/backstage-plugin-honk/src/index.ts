/**
 * @honk/backstage-plugin-honk — the frontend plugin `honk` for Backstage's new frontend system.
 *
 * Public exports (stable):
 * - `default` / `honkPlugin`: the plugin; add it to `createApp({ features: [...] })`. It brings
 *   - `api:honk` — `honkApiRef`, a `HonkClient` (from @honk/backstage-plugin-honk-common) over the app's discovery and fetch APIs;
 *   - `page:honk` — the migrations page at `/honk` (nav title "Migrations"), route `rootRouteRef`;
 *   - `entity-card:honk/migration` — the migration card on entities of kind Resource with spec.type `dataset`.
 * - `honkApiRef`, `HonkApi`: the API ref, to override the client or call it from other plugins.
 * - `rootRouteRef`: the migrations page route, to link to it.
 * - `isDatasetEntity`: the card's entity filter.
 * - `HonkMigrationCard`, `MigrationsPage`: the components, to place them elsewhere.
 */
export { type HonkApi, honkApi, honkApiRef } from './api.ts';
export { HonkMigrationCard, type MigrationCardProps } from './components/migration-card.tsx';
export { MigrationsPage, type MigrationsPageProps } from './components/migrations-page.tsx';
export {
  honkPlugin as default,
  honkPlugin,
  isDatasetEntity,
  migrationEntityCard,
  migrationsPage,
  rootRouteRef,
} from './plugin.tsx';

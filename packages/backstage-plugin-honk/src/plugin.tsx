/**
 * The frontend plugin `honk` (new frontend system): the Honk API, the migrations page (with
 * its nav item: pages with a title and icon are listed in the app's navigation) and the
 * entity card on dataset entities.
 */
import { createFrontendPlugin, createRouteRef, PageBlueprint } from '@backstage/frontend-plugin-api';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { DATASET_ENTITY_TYPE } from '@honk/backstage-plugin-honk-common';
import { honkApi } from './api.ts';
import { MigrationsIcon } from './components/migrations-icon.tsx';

/** The route of the migrations page (`/honk` unless the app config moves it). */
export const rootRouteRef = createRouteRef();

/** `page:honk`: the migrations page at `/honk`, in the nav as "Migrations". */
export const migrationsPage = PageBlueprint.make({
  params: {
    path: '/honk',
    title: 'Migrations',
    icon: <MigrationsIcon />,
    routeRef: rootRouteRef,
    loader: () => import('./components/migrations-page.tsx').then((m) => <m.MigrationsPage />),
  },
});

/** Dataset entities: kind Resource with spec.type `dataset`. */
export function isDatasetEntity(entity: { kind: string; spec?: unknown }): boolean {
  return (
    entity.kind.toLocaleLowerCase('en-US') === 'resource' &&
    (entity.spec as { type?: unknown } | undefined)?.type === DATASET_ENTITY_TYPE
  );
}

/** `entity-card:honk/migration`: the migration card on dataset entities. */
export const migrationEntityCard = EntityCardBlueprint.make({
  name: 'migration',
  params: {
    filter: isDatasetEntity,
    loader: () => import('./components/migration-card.tsx').then((m) => <m.HonkMigrationCard />),
  },
});

export const honkPlugin = createFrontendPlugin({
  pluginId: 'honk',
  title: 'Migrations',
  icon: <MigrationsIcon />,
  extensions: [honkApi, migrationsPage, migrationEntityCard],
  routes: { root: rootRouteRef },
});

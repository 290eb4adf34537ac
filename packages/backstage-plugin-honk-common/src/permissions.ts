/**
 * The permissions of the honk plugin. Every route of the backend checks one of them with the
 * caller's credentials (users and services alike); a permission policy decides. `read` guards
 * status and detail; the others guard what changes the queue or the data.
 */
import { createPermission } from '@backstage/plugin-permission-common';

/** See migrations: status lists, task detail with history and validation report. */
export const honkMigrationReadPermission = createPermission({
  name: 'honk.migration.read',
  attributes: { action: 'read' },
});

/** Start one migration or a bulk selection (also dry runs and task generation from the catalog). */
export const honkMigrationStartPermission = createPermission({
  name: 'honk.migration.start',
  attributes: { action: 'create' },
});

/** Put a dead or cancelled task back in the queue. */
export const honkMigrationRequeuePermission = createPermission({
  name: 'honk.migration.requeue',
  attributes: { action: 'update' },
});

/** Cancel a pending, retrying or running task. */
export const honkMigrationCancelPermission = createPermission({
  name: 'honk.migration.cancel',
  attributes: { action: 'update' },
});

/** Restore the snapshot a migration took of its target: destructive, the published data goes. */
export const honkMigrationRollbackPermission = createPermission({
  name: 'honk.migration.rollback',
  attributes: { action: 'update' },
});

/** Sign off a validated migration so its source can be retired. */
export const honkMigrationSignOffPermission = createPermission({
  name: 'honk.migration.sign-off',
  attributes: { action: 'update' },
});

/** Every permission of the plugin, for the permissions registry and policies. */
export const honkPermissions = [
  honkMigrationReadPermission,
  honkMigrationStartPermission,
  honkMigrationRequeuePermission,
  honkMigrationCancelPermission,
  honkMigrationRollbackPermission,
  honkMigrationSignOffPermission,
];

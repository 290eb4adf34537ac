/**
 * Which actions a migration's state allows. The card shows a button only when its action is
 * listed here AND the user holds its permission; the backend checks both again (409 on a
 * wrong state, 403 without the permission), so this only keeps pointless buttons away.
 */
import {
  honkMigrationCancelPermission,
  honkMigrationRequeuePermission,
  honkMigrationRollbackPermission,
  honkMigrationSignOffPermission,
  honkMigrationStartPermission,
  type MigrationSummary,
} from '@honk/backstage-plugin-honk-common';

export type MigrationActionName = 'start' | 'requeue' | 'cancel' | 'rollback' | 'sign-off';

export const ACTION_PERMISSIONS = {
  start: honkMigrationStartPermission,
  requeue: honkMigrationRequeuePermission,
  cancel: honkMigrationCancelPermission,
  rollback: honkMigrationRollbackPermission,
  'sign-off': honkMigrationSignOffPermission,
} as const;

/** Destructive actions are confirmed in a dialog first. */
export const DESTRUCTIVE_ACTIONS: ReadonlySet<MigrationActionName> = new Set(['rollback', 'sign-off', 'cancel']);

/**
 * The actions the state of `migration` allows (undefined: the dataset has no migration yet).
 * Roll back needs the snapshot the migration took of its target.
 */
export function allowedActions(
  migration: (MigrationSummary & { snapshotRef?: unknown }) | undefined,
): MigrationActionName[] {
  if (!migration) return ['start'];
  switch (migration.status) {
    case 'not-started':
    case 'rolled-back':
      return ['start'];
    case 'pending':
    case 'running':
    case 'failed':
      return ['cancel'];
    case 'dead':
    case 'cancelled':
      return ['requeue'];
    case 'succeeded':
      return migration.snapshotRef !== undefined && migration.snapshotRef !== null
        ? ['sign-off', 'rollback']
        : ['sign-off'];
    case 'migrated':
      return [];
  }
}

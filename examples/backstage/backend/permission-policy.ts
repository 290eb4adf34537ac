/**
 * The example's permission policy, a module of Backstage's permission backend: operators (the
 * users and groups under `honkExample.operators`) may do everything; everyone else may read
 * the catalog and Honk's migration status but not start, requeue, cancel, roll back or sign off.
 * Backstage asks it for users only: service-to-service calls are allowed before any policy.
 */
import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { AuthorizeResult, type PolicyDecision } from '@backstage/plugin-permission-common';
import type { PermissionPolicy, PolicyQuery, PolicyQueryUser } from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import { honkMigrationReadPermission, honkPermissions } from '@honk/backstage-plugin-honk-common';

const honkActions = new Set(
  honkPermissions.filter((permission) => permission !== honkMigrationReadPermission).map((p) => p.name),
);

export class HonkExamplePolicy implements PermissionPolicy {
  readonly #operators: ReadonlySet<string>;

  constructor(operators: readonly string[]) {
    this.#operators = new Set(operators);
  }

  async handle(request: PolicyQuery, user?: PolicyQueryUser): Promise<PolicyDecision> {
    if (!honkActions.has(request.permission.name)) return { result: AuthorizeResult.ALLOW };
    const refs = user ? [user.info.userEntityRef, ...user.info.ownershipEntityRefs] : [];
    return { result: refs.some((ref) => this.#operators.has(ref)) ? AuthorizeResult.ALLOW : AuthorizeResult.DENY };
  }
}

export const permissionModuleHonkExamplePolicy = createBackendModule({
  pluginId: 'permission',
  moduleId: 'honk-example-policy',
  register(env) {
    env.registerInit({
      deps: { policy: policyExtensionPoint, config: coreServices.rootConfig },
      async init({ policy, config }) {
        policy.setPolicy(new HonkExamplePolicy(config.getOptionalStringArray('honkExample.operators') ?? []));
      },
    });
  },
});
